//! Small text helpers that reproduce the JavaScript semantics the reference
//! normalizer (capi-param-builder, Node) relies on: `\s`, `String.prototype.trim`
//! and UTF-16 lengths.

/// True for exactly the characters JavaScript's `\s` (and `trim`) treat as
/// white space: the Unicode `White_Space` set minus U+0085, plus U+FEFF.
pub(crate) fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// True for every character either JavaScript's `\s` or Unicode's `White_Space`
/// counts as white space (the union: U+0085 and U+FEFF included), for rules
/// that remove all white space rather than follow the reference's trim.
pub(crate) fn is_white_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// `String.prototype.trim` of JavaScript.
#[inline]
pub(crate) fn js_trim(s: &str) -> &str {
    // The usual value starts and ends with a printable ASCII character: nothing to trim.
    let plain = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    if plain(s.as_bytes().first()) && plain(s.as_bytes().last()) {
        return s;
    }
    js_trim_any(s)
}

/// [`js_trim`] of a value that may start or end with white space.
#[inline(never)]
fn js_trim_any(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// Length of `s` in UTF-16 code units, as JavaScript's `.length` counts.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Lowercases like JavaScript's `toLowerCase` (full Unicode mapping, final
/// sigma included); avoids the general path for ASCII input.
pub(crate) fn lower(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Appends `s` lowercased like [`lower`], without an allocation for ASCII.
pub(crate) fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&s.to_lowercase());
    }
}

/// Appends the characters of `value` that `keep` accepts, lowercased; false when
/// nothing was appended.
pub(crate) fn filter_lower(value: &str, keep: impl Fn(char) -> bool, out: &mut String) -> bool {
    let start = out.len();
    if value.is_ascii() {
        // One pass: ASCII lowercasing is per character.
        out.extend(value.chars().filter(|c| keep(*c)).map(|c| c.to_ascii_lowercase()));
    } else {
        // Full Unicode lowercasing looks at neighbours (final sigma): filter first.
        let kept: String = value.chars().filter(|c| keep(*c)).collect();
        out.push_str(&lower(&kept));
    }
    out.len() > start
}

/// A writer's result as an owned value: what `write` appended to an empty string,
/// `None` when it returned false.
pub(crate) fn owned(write: impl FnOnce(&mut String) -> bool) -> Option<String> {
    let mut out = String::new();
    write(&mut out).then_some(out)
}

/// Appends an owned result; false for `None`.
pub(crate) fn put(out: &mut String, value: Option<String>) -> bool {
    value.map(|v| out.push_str(&v)).is_some()
}

/// True when `value` is a SHA-256 (64 hex) or MD5 (32 hex) digest, any case.
pub(crate) fn is_hex_digest(value: &str) -> bool {
    (value.len() == 64 || value.len() == 32) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_whitespace_set() {
        assert!(is_js_whitespace('\u{FEFF}'));
        assert!(is_js_whitespace('\u{3000}'));
        assert!(!is_js_whitespace('\u{85}'));
        assert!(!is_js_whitespace('\u{1F}'));
        assert!(!is_js_whitespace('\u{200B}'));
        assert_eq!(js_trim("\u{A0} x \u{2029}"), "x");
        for c in ['\u{85}', '\u{FEFF}', '\u{A0}', '\u{B}', '\u{3000}'] {
            assert!(is_white_space(c), "{c:?}");
        }
        assert!(!is_white_space('\u{1F}') && !is_white_space('\u{200B}'));
        assert!((0..=0x10FFFF).filter_map(char::from_u32).all(|c| !is_js_whitespace(c) || is_white_space(c)));
    }

    #[test]
    fn utf16_length() {
        assert_eq!(utf16_len("ab"), 2);
        assert_eq!(utf16_len("🚀"), 2);
        assert_eq!(utf16_len("é"), 1);
    }
}
