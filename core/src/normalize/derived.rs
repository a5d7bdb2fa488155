//! Derived fields the Business SDKs send: `f5first`, `f5last`, `fi`, `dobd`,
//! `dobm`, `doby`.
//!
//! As in the SDKs, the value is lowercased and trimmed first, and a value that
//! then is a SHA-256/MD5 digest passes through (lowercased). Otherwise:
//! - `f5first`/`f5last`/`fi`: the first 5 (or 1) characters of the value
//!   normalized like `fn`/`ln` (punctuation and white space removed). The
//!   SDKs only lowercase and trim; on every SDK vector the two agree, and
//!   this way `f5first` is always a prefix of `fn`.
//! - `dobd`: one or two digits, 1..=31, zero-padded; `dobm`: 1..=12;
//!   `doby`: exactly four digits. Anything else is dropped (the SDKs raise).

use super::name;
use super::util::{is_hex_digest, js_trim, lower};

/// Which derived field.
#[derive(Clone, Copy)]
pub(crate) enum Derived {
    FirstFive,
    Initial,
    Day,
    Month,
    Year,
}

pub(crate) fn normalize(value: &str, which: Derived) -> Option<String> {
    let lowered = lower(value);
    let trimmed = js_trim(&lowered);
    if trimmed.is_empty() {
        return None;
    }
    if is_hex_digest(trimmed) {
        return Some(trimmed.to_owned());
    }
    match which {
        Derived::FirstFive => prefix(value, 5),
        Derived::Initial => prefix(value, 1),
        Derived::Day => two_digits(trimmed, 31),
        Derived::Month => two_digits(trimmed, 12),
        Derived::Year => (trimmed.len() == 4 && trimmed.bytes().all(|b| b.is_ascii_digit())).then(|| trimmed.to_owned()),
    }
}

fn prefix(value: &str, chars: usize) -> Option<String> {
    let full = name::normalize(value)?;
    Some(full.chars().take(chars).collect())
}

fn two_digits(value: &str, max: u8) -> Option<String> {
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 2 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = bytes.iter().fold(0u8, |acc, b| acc * 10 + (b - b'0'));
    (1..=max).contains(&n).then(|| format!("{n:02}"))
}

#[cfg(test)]
mod tests {
    use super::{normalize, Derived};

    #[test]
    fn first_five_and_initial() {
        assert_eq!(normalize("George", Derived::FirstFive).as_deref(), Some("georg"));
        assert_eq!(normalize("Mary-Jane", Derived::FirstFive).as_deref(), Some("maryj"));
        assert_eq!(normalize("Éloïse", Derived::FirstFive).as_deref(), Some("éloïs"));
        assert_eq!(normalize("  Jo ", Derived::FirstFive).as_deref(), Some("jo"));
        assert_eq!(normalize("GW", Derived::Initial).as_deref(), Some("g"));
        assert_eq!(normalize("'Ann'", Derived::Initial).as_deref(), Some("a"));
        assert_eq!(normalize("...", Derived::Initial), None);
        let a64 = "a".repeat(64);
        assert_eq!(normalize(&format!(" {a64} "), Derived::FirstFive).as_deref(), Some(a64.as_str()));
    }

    #[test]
    fn birth_parts() {
        assert_eq!(normalize("1", Derived::Day).as_deref(), Some("01"));
        assert_eq!(normalize("31", Derived::Day).as_deref(), Some("31"));
        assert_eq!(normalize("32", Derived::Day), None);
        assert_eq!(normalize("0", Derived::Day), None);
        assert_eq!(normalize("001", Derived::Day), None);
        assert_eq!(normalize("-1", Derived::Day), None);
        assert_eq!(normalize("12", Derived::Month).as_deref(), Some("12"));
        assert_eq!(normalize("13", Derived::Month), None);
        assert_eq!(normalize("May", Derived::Month), None);
        assert_eq!(normalize("0000", Derived::Year).as_deref(), Some("0000"));
        assert_eq!(normalize("19999", Derived::Year), None);
        assert_eq!(normalize("", Derived::Year), None);
    }
}
