//! `external_id`: every white-space character removed, lowercased; all other
//! characters (punctuation, control characters, any script) are kept.

use super::util::{is_js_whitespace, lower};

pub(crate) fn normalize(value: &str) -> Option<String> {
    let kept: String = value.chars().filter(|c| !is_js_whitespace(*c)).collect();
    let out = lower(&kept);
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn ids() {
        assert_eq!(
            normalize(" User ID\u{3000}456 ").as_deref(),
            Some("userid456")
        );
        assert_eq!(normalize("a\u{0}B").as_deref(), Some("a\u{0}b"));
        assert_eq!(normalize("\u{2028}"), None);
    }
}
