//! `fn` / `ln`: remove white space and ASCII punctuation, lowercase; every
//! other character (letters of any script, digits, emoji, dashes such as
//! U+2013) is kept.

use super::util::{filter_lower, is_js_whitespace, owned};

pub(crate) fn normalize(value: &str) -> Option<String> {
    owned(|out| write(value, out))
}

/// Appends the normalized name to `out` (empty on entry); false when dropped.
pub(crate) fn write(value: &str, out: &mut String) -> bool {
    filter_lower(value, |c| !c.is_ascii_punctuation() && !is_js_whitespace(c), out)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn names() {
        assert_eq!(normalize("  Mary-Jane  O'Connor  ").as_deref(), Some("maryjaneoconnor"));
        assert_eq!(normalize("José\u{A0}María").as_deref(), Some("josémaría"));
        assert_eq!(normalize("Mary\u{2013}Jane").as_deref(), Some("mary\u{2013}jane"));
        assert_eq!(normalize("Αντωνίου").as_deref(), Some("αντωνίου"));
        assert_eq!(normalize("ΟΔΟΣ").as_deref(), Some("οδος"), "final sigma like JavaScript");
        assert_eq!(normalize("John😀").as_deref(), Some("john😀"));
        assert_eq!(normalize("!!!"), None);
        assert_eq!(normalize(" \t"), None);
    }
}
