//! `em`: lowercase, trim, then accept only addresses of the shape the
//! reference's e-mail pattern accepts (an ASCII, RFC 2822-like subset).

use super::util::{js_trim, lower, push_lower};

#[cfg(test)]
pub(crate) fn normalize(value: &str) -> Option<String> {
    super::util::owned(|out| write(value, out))
}

/// Appends the normalized address to `out` (empty on entry); false when dropped.
pub(crate) fn write(value: &str, out: &mut String) -> bool {
    if value.is_ascii() {
        // ASCII lowercasing leaves white space alone: trim first, one copy.
        push_lower(out, js_trim(value));
    } else {
        // Lowercasing first: a few characters lowercase to ASCII (KELVIN SIGN).
        out.push_str(js_trim(&lower(value)));
    }
    is_email(out)
}

/// Characters allowed in an atom of the local part: ASCII letters, digits,
/// `_` and ``!#$%&'*+/=?^`{|}~-``.
fn is_atom_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_!#$%&'*+/=?^`{|}~-".contains(&b)
}

fn is_atom(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().copied().all(is_atom_byte)
}

/// Local part: atoms joined by `.`. The reference pattern writes the joiner as
/// `(:?\.atom)*`, so a single `:` directly before a joining dot is accepted
/// too (`a:.b`); that quirk is reproduced. (Bytes: every separator is ASCII.)
fn is_local_part(local: &[u8]) -> bool {
    let mut pieces = local.split(|&b| b == b'.').peekable();
    while let Some(piece) = pieces.next() {
        let is_last = pieces.peek().is_none();
        let atom = if is_last { piece } else { piece.strip_suffix(b":").unwrap_or(piece) };
        if !is_atom(atom) {
            return false;
        }
    }
    true
}

/// A label: ASCII letters/digits, inner hyphens allowed, no leading or
/// trailing hyphen.
fn is_label(bytes: &[u8]) -> bool {
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// Domain: at least two labels joined by single dots.
fn is_domain(domain: &[u8]) -> bool {
    let mut labels = 0usize;
    for label in domain.split(|&b| b == b'.') {
        if !is_label(label) {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

fn is_email(s: &str) -> bool {
    let s = s.as_bytes();
    match s.iter().position(|&b| b == b'@') {
        Some(at) => {
            let (local, domain) = (&s[..at], &s[at + 1..]);
            !domain.contains(&b'@') && is_local_part(local) && is_domain(domain)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn accepts_and_lowercases() {
        assert_eq!(normalize("  John_Smith@Gmail.com ").as_deref(), Some("john_smith@gmail.com"));
        assert_eq!(normalize("1@2.io").as_deref(), Some("1@2.io"));
        assert_eq!(normalize("test!#$%&'*+/=?^`{|}~-@example.com").as_deref(), Some("test!#$%&'*+/=?^`{|}~-@example.com"));
    }

    #[test]
    fn colon_dot_quirk_of_the_reference() {
        assert_eq!(normalize("a:.b@x.com").as_deref(), Some("a:.b@x.com"));
        assert_eq!(normalize("a:@x.com"), None);
        assert_eq!(normalize("a::.b@x.com"), None);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "a",
            "a@b",
            "@b.c",
            "a@",
            "a..b@c.d",
            ".a@b.c",
            "a.@b.c",
            "a@b.c.",
            "a@-b.c",
            "a@b-.c",
            "a b@c.d",
            "a@b@c.d",
            "\"a\"@b.c",
            "a\\b@c.d",
            "ä@b.c",
            "a@bä.c",
            "a@b..c",
            "a@.b.c",
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unicode_lowercasing_to_ascii_is_accepted_like_javascript() {
        // U+212A KELVIN SIGN lowercases to ASCII 'k' in JavaScript and Rust.
        assert_eq!(normalize("\u{212A}im@x.com").as_deref(), Some("kim@x.com"));
    }
}
