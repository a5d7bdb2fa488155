//! `ge`: `f` or `m` from the spellings the reference recognises (English
//! words, titles, relations and pronouns); anything else is dropped.

use super::util::{js_trim, lower};

/// Spellings meaning male, sorted for binary search.
const MALE: &[&str] = &[
    "bloke",
    "boy",
    "boyfriend",
    "brother",
    "chap",
    "count",
    "dad",
    "daddy",
    "dude",
    "duke",
    "emperor",
    "father",
    "fellow",
    "gentleman",
    "god",
    "groom",
    "guy",
    "he",
    "him",
    "himself",
    "his",
    "husband",
    "king",
    "lad",
    "lord",
    "m",
    "male",
    "man",
    "mister",
    "mr",
    "nephew",
    "papa",
    "prince",
    "sir",
    "son",
    "uncle",
    "widower",
];

/// Spellings meaning female, sorted for binary search.
const FEMALE: &[&str] = &[
    "aunt",
    "belle",
    "bride",
    "chick",
    "countess",
    "dame",
    "daughter",
    "duchess",
    "empress",
    "f",
    "female",
    "gal",
    "girl",
    "girlfriend",
    "goddess",
    "her",
    "hers",
    "herself",
    "lady",
    "lass",
    "ma'am",
    "madam",
    "maiden",
    "mama",
    "miss",
    "mom",
    "mommy",
    "mother",
    "mrs",
    "ms",
    "niece",
    "princess",
    "queen",
    "she",
    "sister",
    "widow",
    "wife",
    "woman",
];

#[cfg(test)]
pub(crate) fn normalize(value: &str) -> Option<String> {
    super::util::owned(|out| write(value, out))
}

/// Appends `f` or `m` to `out`; false when the spelling is not recognised.
pub(crate) fn write(value: &str, out: &mut String) -> bool {
    let Some(code) = code(value) else {
        return false;
    };
    out.push(code);
    true
}

fn code(value: &str) -> Option<char> {
    // No spelling is longer than 10 bytes; skip the allocation for long input.
    let trimmed = js_trim(value);
    if trimmed.len() > 32 {
        return None;
    }
    let mut ascii = [0u8; 32];
    let lowered;
    // Bytes: no UTF-8 check of the lowercased copy.
    let key: &[u8] = if trimmed.is_ascii() {
        // No allocation for the usual ASCII spelling.
        let buf = &mut ascii[..trimmed.len()];
        buf.copy_from_slice(trimmed.as_bytes());
        buf.make_ascii_lowercase();
        buf
    } else {
        lowered = lower(trimmed);
        js_trim(&lowered).as_bytes()
    };
    // The spellings shops send almost always, before the two table searches.
    match key {
        b"f" | b"female" => return Some('f'),
        b"m" | b"male" => return Some('m'),
        _ => {}
    }
    // Byte-wise order is `str`'s order.
    let find = |table: &[&str]| table.binary_search_by(|s| s.as_bytes().cmp(key)).is_ok();
    if find(MALE) {
        Some('m')
    } else if find(FEMALE) {
        Some('f')
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{normalize, FEMALE, MALE};

    #[test]
    fn tables_are_sorted_and_disjoint() {
        assert!(MALE.windows(2).all(|w| w[0] < w[1]));
        assert!(FEMALE.windows(2).all(|w| w[0] < w[1]));
        assert!(MALE.iter().all(|m| !FEMALE.contains(m)));
    }

    #[test]
    fn spellings() {
        assert_eq!(normalize(" \u{0B}Female\u{0C} ").as_deref(), Some("f"));
        assert_eq!(normalize("MR").as_deref(), Some("m"));
        assert_eq!(normalize("MA'AM").as_deref(), Some("f"));
        assert_eq!(normalize("male!"), None);
        assert_eq!(normalize("x"), None);
        assert_eq!(normalize("homme"), None);
    }
}
