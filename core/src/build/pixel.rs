//! The pixel snippet (docs/spec.md §7): Meta's base code plus this page's events,
//! carrying the same `eventID` as the server copy.
//!
//! Shop data (product titles!) ends up inside a `<script>` element, so every
//! value is JSON-encoded and then `<`, `>`, `&`, U+2028 and U+2029 are written
//! as `\uXXXX` escapes: no value can close the script element, open an HTML
//! comment, or break a JavaScript string. No raw personal data is ever put in
//! the page.

use serde_json::Value;

use crate::build::consent::PixelConsent;
use crate::build::json_writer;
use crate::error::{Error, ErrorCode, Result};
use crate::settings::LduLocation;

/// The snippet's constant pieces, as macros so that [`DEFAULT_START`] can be
/// `concat!`-ed from them at compile time.
macro_rules! default_script_src {
    () => {
        "https://connect.facebook.net/en_US/fbevents.js"
    };
}
macro_rules! snippet_head {
    () => {
        "<!-- Meta Pixel (convtrack) -->\n<script"
    };
}
// The standard fbq loader: queue calls until fbevents.js has loaded.
macro_rules! snippet_loader {
    () => {
        ">\n!function(w,d,src){if(w.fbq)return;var q=w.fbq=function(){q.callMethod?q.callMethod.apply(q,arguments):q.queue.push(arguments)};\
if(!w._fbq)w._fbq=q;q.push=q;q.loaded=!0;q.version='2.0';q.queue=[];\
var t=d.createElement('script');t.async=!0;t.src=src;var f=d.getElementsByTagName('script')[0];\
if(f&&f.parentNode){f.parentNode.insertBefore(t,f)}else{d.head.appendChild(t)}}(window,document,"
    };
}

/// Meta's pixel library.
pub const DEFAULT_SCRIPT_SRC: &str = default_script_src!();

/// The start of every snippet without a nonce and with the default script URL
/// (the usual case): head, loader and the URL as script-safe JSON (it has nothing
/// to escape). The test `default_start_is_the_general_start` checks it.
const DEFAULT_START: &str = concat!(snippet_head!(), snippet_loader!(), "\"", default_script_src!(), "\");\n");

/// One event for the page.
#[derive(Clone, Debug)]
pub struct PixelEvent<'a> {
    pub event_name: &'a str,
    /// Standard events use `fbq('track')`, custom events `fbq('trackCustom')`.
    pub standard: bool,
    /// The parameters object as script-safe JSON text ([`push_script_json`] or
    /// `capi::write_custom_data` with `for_pixel`).
    pub params: &'a str,
    pub event_id: &'a str,
}

/// Rendering options.
#[derive(Clone, Debug, Default)]
pub struct PixelOptions<'a> {
    /// CSP nonce for the `<script>` element.
    pub nonce: Option<&'a str>,
    /// Where to load `fbevents.js` from (tests use a local stand-in).
    pub script_src: Option<&'a str>,
    /// Advanced Matching for `init`: a script-safe JSON object of hashed customer
    /// keys (`payload::advanced_matching`), never raw values.
    pub advanced_matching: Option<&'a str>,
}

/// JSON text that is safe inside an HTML `<script>` element and a JS string context.
pub fn script_json(value: &Value) -> String {
    let mut out = String::new();
    push_script_json(&mut out, value);
    out
}

/// Appends `value` as JSON with `<`, `>`, `&`, U+2028 and U+2029 written as `\uXXXX`.
/// Those characters can only occur inside JSON strings, where the escape means the same.
pub fn push_script_json<T: serde::Serialize + ?Sized>(out: &mut String, value: &T) {
    let raw = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    out.reserve(raw.len() + 16);
    let bytes = raw.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let escape = match bytes[i] {
            b'<' => Some(("\\u003c", 1)),
            b'>' => Some(("\\u003e", 1)),
            b'&' => Some(("\\u0026", 1)),
            // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => Some(("\\u2028", 3)),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => Some(("\\u2029", 3)),
            _ => None,
        };
        if let Some((replacement, len)) = escape {
            out.push_str(&raw[start..i]);
            out.push_str(replacement);
            i += len;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&raw[start..]);
}

fn check_nonce(nonce: &str) -> Result<()> {
    let ok = !nonce.is_empty()
        && nonce.len() <= 256
        && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::field(ErrorCode::InvalidArgument, "nonce", "must be base64 characters, 1 to 256"))
    }
}

fn check_script_src(src: &str) -> Result<()> {
    let ok = url::Url::parse(src).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if ok {
        Ok(())
    } else {
        Err(Error::field(ErrorCode::InvalidArgument, "script_src", "must be an absolute http(s) URL"))
    }
}

/// Renders the snippet: base code, consent and LDU calls, `init`, `PageView`,
/// and one `track`/`trackCustom` call per event. Empty when the pixel is off.
pub fn render(
    pixel_id: &str,
    consent: PixelConsent,
    ldu: Option<LduLocation>,
    events: &[PixelEvent<'_>],
    opts: &PixelOptions<'_>,
) -> Result<String> {
    let page_view_event = events.iter().any(|e| e.standard && e.event_name == "PageView");
    let size = events.iter().map(|e| e.params.len() + e.event_id.len() + e.event_name.len() + 64).sum::<usize>();
    let Some(mut s) = begin(pixel_id, consent, ldu, page_view_event, opts, size)? else {
        return Ok(String::new());
    };
    for e in events {
        push_event_start(&mut s, e.event_name, e.standard);
        s.push_str(e.params);
        push_event_end(&mut s, e.event_id);
    }
    Ok(finish(s, pixel_id, consent))
}

/// Starts a snippet: checks the options, then writes the base code, the consent
/// and LDU calls, `init` and (unless an event is the page view) `PageView`.
/// `None` when the pixel is off. `events_size` reserves room for the events.
pub fn begin(
    pixel_id: &str,
    consent: PixelConsent,
    ldu: Option<LduLocation>,
    page_view_event: bool,
    opts: &PixelOptions<'_>,
    events_size: usize,
) -> Result<Option<String>> {
    if let Some(n) = opts.nonce {
        check_nonce(n)?;
    }
    // The default is a constant known to be valid; only a caller's URL is parsed.
    let src = match opts.script_src {
        Some(src) => {
            check_script_src(src)?;
            src
        }
        None => DEFAULT_SCRIPT_SRC,
    };
    if consent == PixelConsent::Off {
        return Ok(None);
    }
    let mut s = String::with_capacity(1024 + events_size);
    if opts.nonce.is_none() && opts.script_src.is_none() {
        s.push_str(DEFAULT_START);
    } else {
        s.push_str(snippet_head!());
        if let Some(n) = opts.nonce {
            s.push_str(" nonce=\"");
            s.push_str(n);
            s.push('"');
        }
        s.push_str(snippet_loader!());
        json_writer::push_str(&mut s, src, true);
        s.push_str(");\n");
    }
    if consent == PixelConsent::Revoked {
        s.push_str("fbq('consent','revoke');\n");
    }
    if let Some(l) = ldu {
        s.push_str(&format!("fbq('dataProcessingOptions',['LDU'],{},{});\n", l.country, l.state));
    }
    s.push_str("fbq('init',");
    json_writer::push_str(&mut s, pixel_id, true);
    if let Some(matching) = opts.advanced_matching {
        s.push(',');
        s.push_str(matching);
    }
    s.push_str(");\n");
    // A PageView event carries the page view (with its event id); otherwise the base code's.
    if !page_view_event {
        s.push_str("fbq('track','PageView');\n");
    }
    Ok(Some(s))
}

/// Opens one event's call, up to its parameters: `fbq('track',"Purchase",`.
/// The caller then writes the parameters object (script-safe JSON).
pub fn push_event_start(s: &mut String, event_name: &str, standard: bool) {
    s.push_str(if standard { "fbq('track'," } else { "fbq('trackCustom'," });
    json_writer::push_str(s, event_name, true);
    s.push(',');
}

/// Closes one event's call after its parameters: `,{"eventID":"..."});`.
pub fn push_event_end(s: &mut String, event_id: &str) {
    s.push_str(",{\"eventID\":");
    json_writer::push_str(s, event_id, true);
    s.push_str("});\n");
}

/// Closes the script and adds the `<noscript>` page view (only with consent).
pub fn finish(mut s: String, pixel_id: &str, consent: PixelConsent) -> String {
    s.push_str("</script>\n");
    if consent == PixelConsent::Track {
        // Without JavaScript only the PageView can be reported; never without consent.
        s.push_str("<noscript><img height=\"1\" width=\"1\" style=\"display:none\" alt=\"\" src=\"https://www.facebook.com/tr?id=");
        s.push_str(pixel_id);
        s.push_str("&amp;ev=PageView&amp;noscript=1\"/></noscript>\n");
    }
    s.push_str("<!-- End Meta Pixel -->\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_title(title: &str) -> String {
        let params = script_json(&serde_json::json!({"contents": [{"id": "1", "title": title}]}));
        let ev = PixelEvent { event_name: "Purchase", standard: true, params: &params, event_id: "ct1-x" };
        render("123", PixelConsent::Track, None, &[ev], &PixelOptions::default()).unwrap()
    }

    /// The text between `<script...>` and the first `</script>` — what the browser runs.
    fn script_body(html: &str) -> &str {
        let start = html.find("<script").unwrap();
        let open_end = start + html[start..].find('>').unwrap() + 1;
        let end = html[open_end..].find("</script>").unwrap();
        &html[open_end..open_end + end]
    }

    #[test]
    fn hostile_titles_stay_data() {
        let hostile = [
            "</script><script>alert(1)</script>",
            "<!--",
            "<!--<script>",
            "a\u{2028}b\u{2029}c",
            "quote\" and 'single' and \\ backslash",
            "]]>&amp;<![CDATA[",
            "NUL\u{0}byte",
        ];
        for title in hostile {
            let html = render_title(title);
            let body = script_body(&html);
            // Exactly one script element: the title could not close it or open another.
            assert_eq!(html.matches("<script").count(), 1, "{title}");
            assert_eq!(html.matches("</script>").count(), 1, "{title}");
            assert!(!body.contains('<') && !body.contains('>'), "{title}");
            assert!(!body.contains('\u{2028}') && !body.contains('\u{2029}'));
            // The title survives as data: decode the params JSON and compare.
            let line = body.lines().find(|l| l.starts_with("fbq('track',\"Purchase\"")).unwrap();
            let json_start = line.find(",{").unwrap() + 1;
            let json_end = line.rfind(",{\"eventID\"").unwrap();
            let params: Value = serde_json::from_str(&line[json_start..json_end]).unwrap();
            assert_eq!(params["contents"][0]["title"], title);
        }
    }

    #[test]
    fn default_start_is_the_general_start() {
        let explicit = PixelOptions { nonce: None, script_src: Some(DEFAULT_SCRIPT_SRC), ..Default::default() };
        for consent in [PixelConsent::Track, PixelConsent::Revoked] {
            for ldu in [None, Some(LduLocation { country: 1, state: 1000 })] {
                for page_view in [false, true] {
                    let fast = begin("123", consent, ldu, page_view, &PixelOptions::default(), 0).unwrap();
                    let general = begin("123", consent, ldu, page_view, &explicit, 0).unwrap();
                    assert_eq!(fast, general);
                }
            }
        }
        assert!(DEFAULT_START.starts_with("<!-- Meta Pixel (convtrack) -->\n<script>\n!function(w,d,src){"));
        assert!(DEFAULT_START.ends_with("}(window,document,\"https://connect.facebook.net/en_US/fbevents.js\");\n"));
    }

    #[test]
    fn a_page_view_event_is_the_only_page_view() {
        let params = "{}";
        let ev = PixelEvent { event_name: "PageView", standard: true, params, event_id: "pv1" };
        let html = render("123", PixelConsent::Track, None, &[ev], &PixelOptions::default()).unwrap();
        assert_eq!(html.matches("fbq('track',").count(), 1, "{html}");
        assert!(html.contains("fbq('track',\"PageView\",{},{\"eventID\":\"pv1\"});"));
        let buy = PixelEvent { event_name: "Purchase", standard: true, params, event_id: "b1" };
        let html = render("123", PixelConsent::Track, None, &[buy], &PixelOptions::default()).unwrap();
        assert!(html.contains("fbq('track','PageView');"), "other events keep the base page view");
    }

    #[test]
    fn consent_ldu_nonce() {
        let params = "{}";
        let ev = PixelEvent { event_name: "My Event", standard: false, params, event_id: "e1" };
        let html = render(
            "123",
            PixelConsent::Revoked,
            Some(LduLocation { country: 1, state: 1000 }),
            &[ev],
            &PixelOptions { nonce: Some("abc123=="), ..Default::default() },
        )
        .unwrap();
        assert!(html.contains("<script nonce=\"abc123==\">"));
        let revoke = html.find("fbq('consent','revoke')").unwrap();
        let ldu = html.find("fbq('dataProcessingOptions',['LDU'],1,1000)").unwrap();
        let init = html.find("fbq('init',\"123\")").unwrap();
        assert!(revoke < init && ldu < init, "consent and LDU must precede init");
        assert!(html.contains("fbq('trackCustom',\"My Event\",{},{\"eventID\":\"e1\"})"));
        assert!(!html.contains("<noscript>"), "no tracking image without consent");
        let bad = render("1", PixelConsent::Track, None, &[], &PixelOptions { nonce: Some("\"><script>"), ..Default::default() });
        assert_eq!(bad.unwrap_err().field_name(), Some("nonce"));
        assert_eq!(render("1", PixelConsent::Off, None, &[], &PixelOptions::default()).unwrap(), "");
    }
}
