//! `external_id`: every white-space character removed, lowercased; all other
//! characters (punctuation, control characters, any script) are kept.

use super::util::{filter_lower, is_js_whitespace};

/// Appends the normalized id to `out` (empty on entry); false when dropped.
pub(crate) fn write(value: &str, out: &mut String) -> bool {
    filter_lower(value, |c| !is_js_whitespace(c), out)
}

#[cfg(test)]
mod tests {
    fn normalize(value: &str) -> Option<String> {
        super::super::util::owned(|out| super::write(value, out))
    }

    #[test]
    fn ids() {
        assert_eq!(normalize(" User ID\u{3000}456 ").as_deref(), Some("userid456"));
        assert_eq!(normalize("a\u{0}B").as_deref(), Some("a\u{0}b"));
        assert_eq!(normalize("\u{2028}"), None);
    }
}
