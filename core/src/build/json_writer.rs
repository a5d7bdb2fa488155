//! A small JSON text writer for `build`'s hot path.
//!
//! `build` writes the Conversions API payload and the pixel parameters
//! straight into one `String` each, in a fixed key order, instead of building
//! a `serde_json::Map` (an `IndexMap` with SipHash and one allocation per key
//! and value) and serializing it afterwards. The output is byte-for-byte what
//! `serde_json::to_string` writes for the same values (same string escapes,
//! `ryu` floats, `itoa` integers); `tests` below check that against serde_json.
//!
//! With `script_safe`, `<`, `>`, `&`, U+2028 and U+2029 inside strings are
//! also written as `\uXXXX` escapes, so the text can sit inside an HTML
//! `<script>` element (docs/spec.md §7). Those characters only ever occur inside JSON
//! strings, so the escape changes nothing about the value.

use crate::text::HEX_DIGITS as HEX;

/// Per byte: 1 when it needs an escape in plain JSON, 2 when only in script-safe
/// JSON (`<`, `>`, `&`, and the `0xE2` lead byte of U+2028/U+2029, which the
/// writer checks further).
const SPECIAL: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = 1;
        b += 1;
    }
    t[b'"' as usize] = 1;
    t[b'\\' as usize] = 1;
    t[b'<' as usize] = 2;
    t[b'>' as usize] = 2;
    t[b'&' as usize] = 2;
    t[0xE2] = 2;
    t
};

/// True for the bytes that need an escape.
#[cfg(test)]
fn special(b: u8, script_safe: bool) -> bool {
    let kind = SPECIAL[usize::from(b)];
    kind == 1 || (script_safe && kind == 2)
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether the 8 bytes of `w` may hold a byte that needs an escape in either mode:
/// a control character, `"`, `\\`, `<`, `>`, `&`, or any non-ASCII byte (a superset
/// of `0xE2`). One test with the byte pairs folded: `"`/`&` (0x22/0x26) differ only
/// in bit 2, `<`/`>` (0x3C/0x3E) only in bit 1.
#[inline]
fn word_may_be_special(w: u64) -> bool {
    let zero_byte = |x: u64| x.wrapping_sub(LOW) & !x;
    let quote_amp = zero_byte((w | (LOW * 0x04)) ^ (LOW * 0x26));
    let angle = zero_byte((w | (LOW * 0x02)) ^ (LOW * 0x3E));
    let backslash = zero_byte(w ^ (LOW * u64::from(b'\\')));
    let control = w.wrapping_sub(LOW * 0x20) & !w;
    (quote_amp | angle | backslash | control | w) & HIGH != 0
}

/// The little-endian word of 8 bytes of `b` from `at` (callers keep `at + 8 <= b.len()`).
#[inline]
fn load8(b: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Where the byte loop must start for `bytes`: the start of the first 8-byte
/// window that may hold a special byte ([`word_may_be_special`]), or
/// `bytes.len()` when none does. Strings of 8 bytes or more are read in words,
/// the last one overlapping the one before; shorter ones as one word made of
/// two overlapping halves (a byte read twice changes no "any" test), padded
/// with `a`. No variable-length copy (a `memcpy` call per string).
#[inline]
fn first_special_window(bytes: &[u8]) -> usize {
    let n = bytes.len();
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if word_may_be_special(load8(bytes, i)) {
                return i;
            }
            i += 8;
        }
        return if i < n && word_may_be_special(load8(bytes, n - 8)) { n - 8 } else { n };
    }
    let pad = LOW * u64::from(b'a');
    let w = if n >= 4 {
        let half = |at: usize| u64::from(u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]));
        half(0) | half(n - 4) << 32
    } else if n >= 2 {
        let half = |at: usize| u64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        (pad & !0xFFFF_FFFF) | half(0) | half(n - 2) << 16
    } else if n == 1 {
        (pad & !0xFF) | u64::from(bytes[0])
    } else {
        return 0;
    };
    if word_may_be_special(w) {
        0
    } else {
        n
    }
}

/// Appends `s` as a JSON string literal (quotes included).
pub fn push_str(out: &mut String, s: &str, script_safe: bool) {
    push_str_script_plain(out, s, script_safe);
}

/// [`push_str`], and whether `s` holds nothing a script context escapes (no `<`, `>`,
/// `&`, U+2028, U+2029), i.e. whether the plain text written would also be the
/// script-safe text. Never true wrongly; found in the same scan as the escapes.
#[inline]
pub fn push_str_script_plain(out: &mut String, s: &str, script_safe: bool) -> bool {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push('"');
    // Skip the plain 8-byte windows at once (the usual string is all plain); the
    // byte loop does the rest, out of line.
    let i = first_special_window(bytes);
    if i == bytes.len() {
        out.push_str(s);
        out.push('"');
        return true;
    }
    push_escaped(out, s, i, script_safe)
}

/// The rest of [`push_str_script_plain`] from byte `i`, where a special byte may be.
#[cold]
#[inline(never)]
fn push_escaped(out: &mut String, s: &str, mut i: usize, script_safe: bool) -> bool {
    let bytes = s.as_bytes();
    let mut script_plain = true;
    let mut start = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let kind = SPECIAL[usize::from(b)];
        if kind == 0 {
            i += 1;
            continue;
        }
        let (escape, len): (&str, usize) = match b {
            b'"' => ("\\\"", 1),
            b'\\' => ("\\\\", 1),
            b'\n' => ("\\n", 1),
            b'\r' => ("\\r", 1),
            b'\t' => ("\\t", 1),
            0x08 => ("\\b", 1),
            0x0C => ("\\f", 1),
            b'<' => ("\\u003c", 1),
            b'>' => ("\\u003e", 1),
            b'&' => ("\\u0026", 1),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => ("\\u2028", 3),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => ("\\u2029", 3),
            0xE2 => {
                // Another character starting with E2: nothing to escape.
                i += 1;
                continue;
            }
            control => {
                out.push_str(&s[start..i]);
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(control >> 4)]));
                out.push(char::from(HEX[usize::from(control & 0x0f)]));
                i += 1;
                start = i;
                continue;
            }
        };
        if kind == 2 && !script_safe {
            // `<`, `>`, `&`, U+2028 or U+2029: plain JSON keeps it as is.
            script_plain = false;
            i += len;
            continue;
        }
        out.push_str(&s[start..i]);
        out.push_str(escape);
        i += len;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
    script_plain
}

/// `,"key":` for a literal key that is not the first, as one literal: one copy
/// where [`push_key`] makes four.
macro_rules! next_key {
    ($key:literal) => {
        concat!(",\"", $key, "\":")
    };
}
pub(crate) use next_key;

/// Appends `,"key":` (or `"key":` when `first`). Keys are ASCII literals that need no escaping.
#[inline]
pub fn push_key(out: &mut String, key: &str, first: bool) {
    if !first {
        out.push(',');
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":");
}

/// Appends an integer.
#[inline]
pub fn push_int<I: itoa::Integer>(out: &mut String, v: I) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends money as a JSON number, as serde_json writes an `f64` (`59.9`, `10.0`).
/// Values are validated finite earlier; a non-finite one is written as `0`, never NaN.
#[inline]
pub fn push_f64(out: &mut String, v: f64) {
    if push_cents(out, v) {
        return;
    }
    if v.is_finite() {
        let mut buf = ryu::Buffer::new();
        let text = buf.format_finite(v);
        // serde_json writes a positive exponent with its sign (`1e+21`).
        match text.find('e') {
            Some(e) if text.as_bytes().get(e + 1) != Some(&b'-') => {
                out.push_str(&text[..=e]);
                out.push('+');
                out.push_str(&text[e + 1..]);
            }
            _ => out.push_str(text),
        }
    } else {
        out.push('0');
    }
}

/// The common case of money, without the general float formatter: a value in
/// `[0, 1e13)` that is exactly the double nearest to a whole number of cents
/// (`9.99`, `59.9`, `10`). Its shortest round-trip text, which is what `ryu`
/// (and so serde_json) writes, then is those cents in decimal with the
/// trailing zero dropped: decimals with two places are 0.01 apart, far more
/// than the spacing of doubles below 1e13, so no shorter text maps to the same
/// double. Returns false (nothing written) for any other value.
fn push_cents(out: &mut String, v: f64) -> bool {
    if !(0.0..1e13).contains(&v) || v.is_sign_negative() {
        return false;
    }
    let scaled = v * 100.0;
    // `scaled.round()` (half away from zero) without the libm call: `scaled` is in
    // [0, 1e15), so its integer part converts exactly and the fraction
    // `scaled - whole` is exact too.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let cents = {
        let whole = scaled as u64;
        whole + u64::from(scaled - whole as f64 >= 0.5)
    };
    #[allow(clippy::cast_precision_loss)]
    if cents as f64 / 100.0 != v {
        return false;
    }
    let (whole, frac) = (cents / 100, cents % 100);
    push_int(out, whole);
    out.push('.');
    let digit = |d: u64| char::from(b'0' + u8::try_from(d).unwrap_or(0));
    if frac % 10 == 0 {
        out.push(digit(frac / 10));
    } else {
        out.push(digit(frac / 10));
        out.push(digit(frac % 10));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain(s: &str) -> String {
        let mut o = String::new();
        push_str(&mut o, s, false);
        o
    }

    fn safe(s: &str) -> String {
        let mut o = String::new();
        push_str(&mut o, s, true);
        o
    }

    #[test]
    fn matches_serde_json_on_every_escape() {
        for s in ["", "plain", "q\"b\\s", "\u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f}", "é€\u{2027}\u{2028}\u{2029}\u{1F600}"] {
            assert_eq!(plain(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        for v in [0.0, 59.9, 10.0, 0.1 + 0.2, 1e21, 123_456_789.125, -2.5] {
            let mut o = String::new();
            push_f64(&mut o, v);
            assert_eq!(o, serde_json::to_string(&v).unwrap());
        }
        let mut o = String::new();
        push_f64(&mut o, f64::NAN);
        assert_eq!(o, "0");
    }

    #[test]
    fn script_safe_escapes_html_and_line_separators() {
        assert_eq!(safe("</script>&\u{2028}\u{2029}€"), "\"\\u003c/script\\u003e\\u0026\\u2028\\u2029€\"");
        assert_eq!(plain("</script>&"), "\"</script>&\"");
    }

    #[test]
    fn word_scan_finds_every_special_byte() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                let w = u64::from_le_bytes(word);
                // May report a window without one (then the byte loop decides), never miss one.
                let want = special(b, true) || special(b, false);
                assert!(!want || word_may_be_special(w), "byte {b:#x} at {at}");
            }
        }
        assert!(!word_may_be_special(u64::from_le_bytes(*b"plain az")));
        assert!(!word_may_be_special(u64::from_le_bytes(*b"{}[]:,.+")));
        // Every length and position of one special byte among plain ones.
        for n in 0..20 {
            for at in 0..n {
                for b in [b'"', b'\\', b'<', b'>', b'&', 0x01, 0x1f, b'\n'] {
                    let mut v = vec![b'x'; n];
                    v[at] = b;
                    let text = String::from_utf8(v).unwrap();
                    assert_eq!(plain(&text), serde_json::to_string(&text).unwrap());
                    assert!(!safe(&text).contains(['<', '>', '&']));
                }
            }
        }
    }

    #[test]
    fn script_plain_flag() {
        for text in ["", "abc", "0123456789abcdef{}[]\"", "é and ü", "€", "\u{2027}"] {
            assert!(push_str_script_plain(&mut String::new(), text, false), "{text}");
        }
        for bad in ["<", "0123456789&", "abcdefgh>", "x\u{2028}", "\u{2029}0123456789"] {
            assert!(!push_str_script_plain(&mut String::new(), bad, false), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_string_round_trips_and_matches_serde(s in any::<String>()) {
            prop_assert_eq!(plain(&s), serde_json::to_string(&s).unwrap());
            let text = safe(&s);
            prop_assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
            prop_assert!(!text.contains(['\u{2028}', '\u{2029}']), "line separators escaped");
            prop_assert_eq!(serde_json::from_str::<String>(&text).unwrap(), s);
        }

        #[test]
        fn specials_at_any_position(s in "[ab<>&\"\\\\\u{1}\u{1f}\n\u{2028}\u{2029}\u{2027}€é]{0,24}") {
            prop_assert_eq!(plain(&s), serde_json::to_string(&s).unwrap());
            let text = safe(&s);
            prop_assert_eq!(&serde_json::from_str::<String>(&text).unwrap(), &s);
            prop_assert!(!text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']), "script-safe");
            let mut o = String::new();
            let flag = push_str_script_plain(&mut o, &s, false);
            prop_assert_eq!(&o, &plain(&s));
            prop_assert_eq!(flag, !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']));
            if flag {
                prop_assert_eq!(o, text);
            }
        }

        #[test]
        fn money_matches_serde(cents in 0u64..1_000_000_000_000_000, scale in 0u32..3) {
            let v = cents as f64 / 10f64.powi(scale as i32);
            let mut o = String::new();
            push_f64(&mut o, v);
            prop_assert_eq!(o, serde_json::to_string(&v).unwrap());
        }

        #[test]
        fn floats_match_serde(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let mut o = String::new();
            push_f64(&mut o, v);
            prop_assert_eq!(o, serde_json::to_string(&v).unwrap());
        }
    }
}
