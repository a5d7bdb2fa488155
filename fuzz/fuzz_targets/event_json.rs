//! Event JSON → `EventInput::from_json` → `Tracker::build` (data controls on,
//! unknown consent granted, fixed clock), then checks what leaves the core:
//!
//! 1. an error's text never carries an e-mail address from the input (any
//!    input containing `@fuzz.example` must give a message without it);
//! 2. the pixel snippet has exactly one `<script` and one `</script>`, no raw
//!    `<`, `>`, U+2028 or U+2029 inside the script body, and outside it only
//!    the snippet's own fixed markup;
//! 3. every hashed `user_data` value of the payload is 64 lowercase hex digits
//!    (a 32-hex MD5 digest given as input passes through lowercased, as
//!    documented in `hash::hash_field`);
//! 4. the payload text (written by `jsonw`, not serde) parses, and the result
//!    text `to_json_string` is byte for byte what serde_json writes for `to_json`;
//! 5. `from_json` (the borrowed `input::json` tree) reads every input exactly as
//!    `from_value` of a `serde_json::Value` does: the same event, or an error
//!    with the same code and field.
//!
//! Any panic (in the core or here) is a finding.
#![no_main]

use std::sync::OnceLock;

use convtrack_core::normalize::Field;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{EventInput, Settings, Tracker};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const SETTINGS: &str = r#"{"pixel_id":"1234567890","access_token":"t","data_controls":true,"unknown_consent":"grant"}"#;
const NOW: i64 = 1_732_790_000;
const EMAIL_MARK: &str = "@fuzz.example";

fn tracker() -> &'static Tracker {
    static T: OnceLock<Tracker> = OnceLock::new();
    T.get_or_init(|| Tracker::new(Settings::from_json(SETTINGS).expect("fixed settings are valid")))
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_error(input: &str, err: &convtrack_core::Error) {
    let text = err.to_string();
    if input.contains(EMAIL_MARK) {
        assert!(!text.contains(EMAIL_MARK), "error message echoes an e-mail address from the input: {text:?}");
    }
}

/// The fixed markup `pixel::render` writes around the script body.
fn check_pixel(html: &str) {
    if html.is_empty() {
        return; // pixel off
    }
    assert_eq!(html.matches("<script").count(), 1, "one <script element: {html}");
    assert_eq!(html.matches("</script>").count(), 1, "one </script>: {html}");
    let open = html.find("<script").unwrap();
    let open_end = open + html[open..].find('>').expect("<script has a '>'") + 1;
    let close = html.find("</script>").unwrap();
    assert!(open_end <= close, "script opens before it closes");
    let body = &html[open_end..close];
    for bad in ['<', '>', '\u{2028}', '\u{2029}'] {
        assert!(!body.contains(bad), "raw {bad:?} inside the script body: {body}");
    }
    assert_eq!(&html[..open], "<!-- Meta Pixel (convtrack) -->\n", "markup before <script");
    assert!(matches!(&html[open..open_end], "<script>"), "fixed options give a plain <script>: {}", &html[open..open_end]);
    let tail = &html[close..];
    let known = [
        "</script>\n<!-- End Meta Pixel -->\n".to_string(),
        "</script>\n<noscript><img height=\"1\" width=\"1\" style=\"display:none\" alt=\"\" \
         src=\"https://www.facebook.com/tr?id=1234567890&amp;ev=PageView&amp;noscript=1\"/></noscript>\n\
         <!-- End Meta Pixel -->\n"
            .to_string(),
    ];
    assert!(known.contains(&tail.to_string()), "unexpected markup after the script: {tail:?}");
}

fn check_payload(payload: &Value) {
    let user_data = payload.get("user_data").and_then(Value::as_object);
    let Some(user_data) = user_data else { return };
    for field in Field::ALL {
        let Some(v) = user_data.get(field.meta_key()) else { continue };
        let list = v.as_array().unwrap_or_else(|| panic!("user_data.{} is not a list: {v}", field.meta_key()));
        assert!(!list.is_empty(), "user_data.{} is an empty list", field.meta_key());
        for d in list {
            let s = d.as_str().unwrap_or_else(|| panic!("user_data.{} holds a non-string: {d}", field.meta_key()));
            assert!(
                is_lower_hex(s, 64) || is_lower_hex(s, 32),
                "user_data.{} = {s:?} is not a lowercase SHA-256 (or passed-through MD5) digest",
                field.meta_key()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = EventInput::from_json(text);
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let key = |r: &Result<EventInput<'_>, convtrack_core::Error>| match r {
            Ok(e) => Ok(e.clone().into_owned()),
            Err(e) => Err((e.code(), e.field_name().map(str::to_owned))),
        };
        assert_eq!(key(&parsed), key(&EventInput::from_value(&value)), "the JSON tree and serde_json::Value disagree");
    }
    let input = match parsed {
        Ok(i) => i,
        Err(e) => return check_error(text, &e),
    };
    let options = BuildOptions { now: Some(NOW), ..Default::default() };
    match tracker().build(&input, &options) {
        Err(e) => check_error(text, &e),
        Ok(r) => {
            check_pixel(&r.pixel_html);
            if let Some(p) = &r.payload {
                // The payload is written by hand (jsonw), not by serde: it must parse.
                let v: Value = serde_json::from_str(p.as_str()).expect("payload is valid JSON");
                check_payload(&v);
            }
            // The result text handed to C/PHP is written by hand too: byte for byte
            // what serde_json writes for the same value shape.
            assert_eq!(r.to_json_string(), r.to_json().to_string(), "result text differs from serde_json");
        }
    }
});
