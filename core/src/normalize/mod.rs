//! Normalization of customer data, field by field, as Meta's reference
//! normalizer (capi-param-builder) does it. See docs/spec.md §4 and docs/normalization.md.
//!
//! Every function here is pure and total: any `&str` in, `Some(normalized)` or
//! `None` ("dropped: normalizes to nothing") out. Nothing panics on any input.

mod derived;
mod dob;
mod email;
mod external_id;
mod gender;
mod location;
mod name;
mod phone;
mod phone_fast;
mod util;

/// A customer-data field that Meta matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Email,
    Phone,
    FirstName,
    LastName,
    Gender,
    DateOfBirth,
    City,
    State,
    Zip,
    Country,
    ExternalId,
    /// First five characters of the normalized first name (`f5first`).
    F5First,
    /// First five characters of the normalized last name (`f5last`).
    F5Last,
    /// First initial of the first name (`fi`).
    FirstInitial,
    /// Day of birth, `DD` (`dobd`).
    BirthDay,
    /// Month of birth, `MM` (`dobm`).
    BirthMonth,
    /// Year of birth, `YYYY` (`doby`).
    BirthYear,
}

impl Field {
    /// Every field, in the order they appear on the wire.
    pub const ALL: [Field; 17] = [
        Field::Email,
        Field::Phone,
        Field::FirstName,
        Field::LastName,
        Field::Gender,
        Field::DateOfBirth,
        Field::City,
        Field::State,
        Field::Zip,
        Field::Country,
        Field::ExternalId,
        Field::F5First,
        Field::F5Last,
        Field::FirstInitial,
        Field::BirthDay,
        Field::BirthMonth,
        Field::BirthYear,
    ];

    /// Meta's key in `user_data` (`em`, `ph`, `fn`, ...).
    pub const fn meta_key(self) -> &'static str {
        match self {
            Field::Email => "em",
            Field::Phone => "ph",
            Field::FirstName => "fn",
            Field::LastName => "ln",
            Field::Gender => "ge",
            Field::DateOfBirth => "db",
            Field::City => "ct",
            Field::State => "st",
            Field::Zip => "zp",
            Field::Country => "country",
            Field::ExternalId => "external_id",
            Field::F5First => "f5first",
            Field::F5Last => "f5last",
            Field::FirstInitial => "fi",
            Field::BirthDay => "dobd",
            Field::BirthMonth => "dobm",
            Field::BirthYear => "doby",
        }
    }

    /// The shop-terms name used in event input (`customer.email`, ...).
    /// Derived fields have no input name of their own and use their Meta key.
    pub const fn input_name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Phone => "phone",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Gender => "gender",
            Field::DateOfBirth => "date_of_birth",
            Field::City => "city",
            Field::State => "state",
            Field::Zip => "zip",
            Field::Country => "country",
            Field::ExternalId => "external_id",
            other => other.meta_key(),
        }
    }

    /// Parses a field name: either the shop name (`email`) or Meta's key (`em`).
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.meta_key() == name || f.input_name() == name)
    }
}

/// Normalizes `value` as Meta expects for `field`.
///
/// `country` (ISO-3166 alpha-2 or a name [`country_code`] accepts, any case) is
/// only used by [`Field::Phone`], to complete national numbers to E.164, and by
/// [`Field::Zip`], to keep the first 5 digits of a US postcode (the two
/// deliberate deviations from the reference, docs/spec.md §4). Returns `None` when the
/// value normalizes to nothing and must be dropped.
pub fn normalize(field: Field, value: &str, country: Option<&str>) -> Option<String> {
    util::owned(|out| normalize_into(field, value, country, out))
}

/// [`normalize`] into `out` (cleared first), so that one buffer serves many
/// values. Returns false when the value is dropped (`out` then holds nothing useful).
pub fn normalize_into(field: Field, value: &str, country: Option<&str>, out: &mut String) -> bool {
    let region = if matches!(field, Field::Phone | Field::Zip) { country.and_then(iso_code) } else { None };
    normalize_in_region(field, value, region, out)
}

/// [`normalize_into`] with the country already an ISO code (lowercase, as
/// [`country_code`] gives it), for callers that resolved it once for many values.
/// Only `ph` and `zp` look at it.
pub(crate) fn normalize_in_region(field: Field, value: &str, region: Option<&str>, out: &mut String) -> bool {
    use derived::Derived;

    out.clear();
    let derived = match field {
        Field::F5First | Field::F5Last => Some(Derived::FirstFive),
        Field::FirstInitial => Some(Derived::Initial),
        Field::BirthDay => Some(Derived::Day),
        Field::BirthMonth => Some(Derived::Month),
        Field::BirthYear => Some(Derived::Year),
        _ => None,
    };
    if let Some(which) = derived {
        return util::put(out, derived::normalize(value, which));
    }

    // An already hashed value passes through trimmed and lowercased (docs/spec.md §4),
    // exactly what `hash` sends; the reference keeps its case. The reference's
    // entry point trims before this test.
    let trimmed = util::js_trim(value);
    if is_hashed(trimmed) {
        util::push_lower(out, trimmed);
        return true;
    }

    match field {
        Field::Email => email::write(value, out),
        Field::Phone => util::put(out, phone::normalize(value, region)),
        Field::FirstName | Field::LastName => name::write(value, out),
        Field::Gender => gender::write(value, out),
        Field::DateOfBirth => dob::write(value, out),
        Field::City => location::city(value, out),
        Field::State => location::state(value, out),
        Field::Zip => location::zip(value, region == Some("us"), out),
        Field::Country => location::country(value, out),
        Field::ExternalId => external_id::write(value, out),
        // Handled above.
        Field::F5First | Field::F5Last | Field::FirstInitial | Field::BirthDay | Field::BirthMonth | Field::BirthYear => false,
    }
}

/// The ISO-3166 alpha-2 code (lowercase) that `value` names, or `None` when
/// it names no assigned code. Accepts a code in any case (`GB`, ` gb `) or a
/// country name or alias the reference maps (`United Kingdom`, `USA`).
/// `UK` is not an ISO code and gives `None`.
pub fn country_code(value: &str) -> Option<String> {
    iso_code(value).map(str::to_owned)
}

/// [`country_code`], borrowed from the code table (no allocation).
pub(crate) fn iso_code(value: &str) -> Option<&'static str> {
    if is_hashed(util::js_trim(value)) {
        return None;
    }
    location::country_code(value)
}

/// True when `value` already is a SHA-256 (64 hex) or MD5 (32 hex) digest, in any case.
pub fn is_hashed(value: &str) -> bool {
    util::is_hex_digest(value)
}

#[cfg(test)]
mod tests {
    use super::{normalize, Field};

    fn zp(value: &str, country: Option<&str>) -> Option<String> {
        normalize(Field::Zip, value, country)
    }

    #[test]
    fn postcodes_lose_every_space() {
        assert_eq!(zp("SW1A 1AA", None).as_deref(), Some("sw1a1aa"));
        assert_eq!(zp("SW1A 1AA", Some("GB")).as_deref(), Some("sw1a1aa"));
        assert_eq!(zp("K1A 0B1", Some("ca")).as_deref(), Some("k1a0b1"));
        assert_eq!(zp("1234 AB", Some("NL")).as_deref(), Some("1234ab"));
        assert_eq!(zp(" 1234\tAB ", None).as_deref(), Some("1234ab"));
        assert_eq!(zp("SW1A\u{A0}1AA", None).as_deref(), Some("sw1a1aa"));
        assert_eq!(zp("SW1A\u{3000}\u{2009}1AA\u{85}", None).as_deref(), Some("sw1a1aa"));
        assert_eq!(zp("A1 B2", None).as_deref(), Some("a1b2"));
        // Still the part before the first `-`, and still at least two UTF-16 units.
        assert_eq!(zp("AB 12-34", None).as_deref(), Some("ab12"));
        assert_eq!(zp("a \u{A0}", None), None);
    }

    #[test]
    fn us_postcodes_keep_the_first_five_digits() {
        for us in ["US", "us", "United States", "USA"] {
            assert_eq!(zp("94025 1234", Some(us)).as_deref(), Some("94025"), "{us}");
            assert_eq!(zp("94025-1234", Some(us)).as_deref(), Some("94025"), "{us}");
            assert_eq!(zp("940251234", Some(us)).as_deref(), Some("94025"), "{us}");
            assert_eq!(zp(" 02101 ", Some(us)).as_deref(), Some("02101"), "{us}");
        }
        // Not five leading digits: the generic rule (docs/normalization.md).
        assert_eq!(zp("9402", Some("US")).as_deref(), Some("9402"));
        assert_eq!(zp("ZIP 94025", Some("US")).as_deref(), Some("zip94025"));
        // Without a country, or another one, a US-looking code keeps the generic rule.
        assert_eq!(zp("94025 1234", None).as_deref(), Some("940251234"));
        assert_eq!(zp("94025 1234", Some("DE")).as_deref(), Some("940251234"));
        assert_eq!(zp("940251234", None).as_deref(), Some("940251234"));
        assert_eq!(zp("94025-1234", None).as_deref(), Some("94025"));
    }

    #[test]
    fn normalize_and_hash_agree_on_upper_case_digests() {
        let sha = "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3";
        let md5 = "0CC175B9C0F1B6A831C399E269772661";
        for digest in [sha, md5] {
            let lower = digest.to_ascii_lowercase();
            for field in Field::ALL {
                for country in [None, Some("US"), Some("gb")] {
                    for value in [digest.to_owned(), format!(" {digest}\t"), format!("\u{A0}{lower} ")] {
                        let n = normalize(field, &value, country);
                        assert_eq!(n.as_deref(), Some(lower.as_str()), "normalize {field:?} {value:?} {country:?}");
                        let h = crate::hash::hash_field(field, &value, country);
                        assert_eq!(h, n, "hash and normalize differ: {field:?} {value:?} {country:?}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Whatever the input and country, a postcode holds no white space (JavaScript's
        /// `\s` or Unicode White_Space).
        #[test]
        fn zip_never_holds_whitespace(
            value in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "[ \t\u{A0}\u{85}\u{2009}\u{3000}\u{FEFF}a-zA-Z0-9-]{0,16}",
                "[0-9]{5}[ \t\u{A0}-]?[0-9]{0,4}",
            ],
            country in proptest::prop_oneof![
                proptest::strategy::Just(None),
                proptest::strategy::Just(Some("US")),
                proptest::strategy::Just(Some("gb")),
            ],
        ) {
            if let Some(out) = zp(&value, country) {
                proptest::prop_assert!(
                    !out.chars().any(|c| c.is_whitespace() || super::util::is_js_whitespace(c)),
                    "{:?} -> {:?}", value, out
                );
            }
        }
    }
}
