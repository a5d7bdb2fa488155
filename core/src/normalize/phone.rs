//! `ph`: the reference keeps ASCII digits only and removes leading zeros.
//!
//! The one deliberate deviation (SPEC §4): when the caller knows the
//! customer's country, a national number is completed to E.164 with the
//! `phonenumber` crate (libphonenumber metadata); a number written with `+` or
//! `00` keeps its own calling code. Anything the library cannot read as a
//! plausible number falls back to the reference behaviour.

use phonenumber::metadata::DATABASE;

use super::util::js_trim;

/// Longest digit string handed to the phone-number library. E.164 allows 15
/// digits; a little slack covers trunk and international prefixes. Longer
/// inputs are not phone numbers and go straight to the reference rule.
const MAX_LIBRARY_DIGITS: usize = 24;

/// The reference rule: digits only, leading zeros removed.
pub(crate) fn normalize_reference(value: &str) -> Option<String> {
    let digits: String = value
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|b| *b == b'0')
        .map(char::from)
        .collect();
    if digits.is_empty() {
        None
    } else {
        Some(digits)
    }
}

/// Phone normalization, with the country-code completion when `region` (an
/// ISO-3166 alpha-2 code, lowercase, already validated) is known.
pub(crate) fn normalize(value: &str, region: Option<&str>) -> Option<String> {
    if let Some(region) = region {
        if let Some(e164) = with_region(value, region) {
            return Some(e164);
        }
    }
    normalize_reference(value)
}

/// E.164 digits (no `+`) of `value` read in `region`, or `None` when the
/// library does not see a plausible number.
fn with_region(value: &str, region: &str) -> Option<String> {
    let upper = region.to_ascii_uppercase();
    // Only regions the metadata knows: the library assumes their presence.
    DATABASE.by_id(upper.as_str())?;
    let id: phonenumber::country::Id = upper.parse().ok()?;

    let trimmed = js_trim(value);
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let mut digits: String = trimmed
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(char::from)
        .collect();
    if !trimmed.starts_with('+') && trimmed.starts_with("00") {
        // "00" is the international prefix in most of the world; it marks the
        // number as carrying its own calling code whatever the region's own
        // international prefix is.
        digits.drain(..2);
    }
    if digits.len() < 2 || digits.len() > MAX_LIBRARY_DIGITS {
        return None;
    }
    // Only `+` and digits reach the library: nothing else of the input matters
    // to the result, and it keeps the library on its well-trodden path.
    let candidate = if international {
        format!("+{digits}")
    } else {
        digits
    };

    // The library is third-party code; a panic inside it must not escape a
    // normalizer that promises never to panic.
    let parsed = std::panic::catch_unwind(|| {
        let number = phonenumber::parse(Some(id), candidate.as_str()).ok()?;
        // The cheap length test first: the result is the same, and is_valid() runs
        // every number-type regex of the region.
        if is_possible_length(&number) || number.is_valid() {
            let code = number.code().value();
            Some(format!("{code}{}", number.national()))
        } else {
            None
        }
    });
    parsed.ok().flatten()
}

/// libphonenumber's "possible number" test: the national number has one of
/// the lengths that numbers of that calling code have (the union of the
/// per-type lengths, as libphonenumber builds its general description).
fn is_possible_length(number: &phonenumber::PhoneNumber) -> bool {
    let code = number.code().value();
    let national_len = number.national().to_string().len();
    let Some(metas) = DATABASE.by_code(&code) else {
        return false;
    };
    metas.iter().any(|meta| {
        let d = meta.descriptors();
        std::iter::once(Some(d.general()))
            .chain([
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ])
            .flatten()
            .any(|desc| {
                desc.possible_length()
                    .iter()
                    .any(|len| usize::from(*len) == national_len)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::{normalize, normalize_reference};

    #[test]
    fn reference_rule() {
        assert_eq!(
            normalize_reference("+1 (616) 954-78 88").as_deref(),
            Some("16169547888")
        );
        assert_eq!(
            normalize_reference("+001 (616) 954-78 88").as_deref(),
            Some("16169547888")
        );
        assert_eq!(normalize_reference("0000"), None);
        assert_eq!(
            normalize_reference("1-800-FLOWERS").as_deref(),
            Some("1800")
        );
        // Non-ASCII digits are not digits for the reference (`\D` is ASCII).
        assert_eq!(normalize_reference("\u{FF11}\u{FF12}"), None);
    }

    #[test]
    fn national_numbers_get_the_country_code() {
        assert_eq!(
            normalize("020 7183 8750", Some("gb")).as_deref(),
            Some("442071838750")
        );
        assert_eq!(
            normalize("07400 123456", Some("gb")).as_deref(),
            Some("447400123456")
        );
        assert_eq!(
            normalize("030 123456789", Some("de")).as_deref(),
            Some("4930123456789")
        );
        assert_eq!(
            normalize("0151 23456789", Some("de")).as_deref(),
            Some("4915123456789")
        );
        assert_eq!(
            normalize("(650) 253-0000", Some("us")).as_deref(),
            Some("16502530000")
        );
        assert_eq!(
            normalize("650-253-0000", Some("us")).as_deref(),
            Some("16502530000")
        );
        // Already carrying the region's own code, without '+'.
        assert_eq!(
            normalize("1 650 253 0000", Some("us")).as_deref(),
            Some("16502530000")
        );
    }

    #[test]
    fn plus_and_00_keep_their_own_code() {
        assert_eq!(
            normalize("+44 20 7183 8750", Some("de")).as_deref(),
            Some("442071838750")
        );
        assert_eq!(
            normalize("0044 20 7183 8750", Some("us")).as_deref(),
            Some("442071838750")
        );
        assert_eq!(
            normalize("+1 650 253 0000", Some("gb")).as_deref(),
            Some("16502530000")
        );
        assert_eq!(
            normalize("0049 30 123456789", Some("gb")).as_deref(),
            Some("4930123456789")
        );
    }

    #[test]
    fn garbage_with_a_country_falls_back_to_the_reference() {
        assert_eq!(normalize("12", Some("gb")).as_deref(), Some("12"));
        assert_eq!(normalize("call me", Some("gb")), None);
        assert_eq!(normalize("555", Some("us")).as_deref(), Some("555"));
        assert_eq!(normalize("0000", Some("de")), None);
        let long = "1".repeat(40);
        assert_eq!(normalize(&long, Some("us")).as_deref(), Some(long.as_str()));
        // A region without phone metadata behaves like no region.
        assert_eq!(
            normalize("020 7183 8750", Some("aq")).as_deref(),
            Some("2071838750")
        );
    }
}
