//! `normalize::normalize` and `hash::hash_field` on an arbitrary
//! (field, country, value). Invariants (docs/normalization.md):
//!
//! - never panics;
//! - a `Some` result is non-empty;
//! - without a country, normalize is idempotent for every field:
//!   `normalize(normalize(x)) == normalize(x)`. The one documented exception,
//!   phone *with* a country, is not checked;
//! - the country only matters for `ph` and `zp`: any other field gives the same
//!   result with and without it; for `zp` only the country US changes it, by
//!   keeping the first 5 of at least 5 leading digits;
//! - a `zp` result holds no white space;
//! - `hash_field` is `None` exactly when normalize drops the value, else 64
//!   lowercase hex, or 32 lowercase hex when the normalized value is an MD5
//!   digest that passes through (documented in `hash::hash_field`), and it
//!   equals `hash_normalized(normalize(x))`; a digest that passes through is
//!   the same text from `normalize` and `hash_field` (lowercased).
#![no_main]

use arbitrary::Arbitrary;
use convtrack_core::hash;
use convtrack_core::normalize::{self, Field};
use libfuzzer_sys::fuzz_target;

/// Realistic countries (codes, names, an alias, a non-ISO one, junk) or any string.
const COUNTRIES: &[&str] = &["GB", "us", "DE", "fr", "IN", "BR", "JP", "CN", "Germany", "USA", "UK", "ZZ", "", " gb "];

#[derive(Arbitrary, Debug)]
enum Country {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    field: u8,
    country: Option<Country>,
    value: String,
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fuzz_target!(|input: Input| {
    let field = Field::ALL[input.field as usize % Field::ALL.len()];
    let country: Option<String> = match &input.country {
        None => None,
        Some(Country::Known(i)) => Some(COUNTRIES[*i as usize % COUNTRIES.len()].to_string()),
        Some(Country::Raw(s)) => Some(s.clone()),
    };
    let country = country.as_deref();
    let value = input.value.as_str();

    let n = normalize::normalize(field, value, country);
    if let Some(s) = &n {
        assert!(!s.is_empty(), "{field:?}: Some(\"\") for {value:?} (country {country:?})");
    }

    if country.is_none() {
        if let Some(s) = &n {
            let again = normalize::normalize(field, s, None);
            assert_eq!(again.as_deref(), Some(s.as_str()), "{field:?} is not idempotent on {value:?}");
        }
    } else if field == Field::Zip {
        let without = normalize::normalize(field, value, None);
        if n != without {
            let cut = without.as_deref().filter(|w| w.as_bytes().get(..5).is_some_and(|d| d.iter().all(u8::is_ascii_digit)));
            assert!(
                country.and_then(normalize::country_code).as_deref() == Some("us") && n.as_deref() == cut.map(|w| &w[..5]),
                "zp: country {country:?} changed {without:?} to {n:?} for {value:?}"
            );
        }
    } else if field != Field::Phone {
        let without = normalize::normalize(field, value, None);
        assert_eq!(n, without, "{field:?}: country {country:?} changed the result for {value:?}");
    }
    if let (Field::Zip, Some(s)) = (field, &n) {
        assert!(!s.chars().any(|c| c.is_whitespace() || c == '\u{FEFF}'), "zp: white space in {s:?} for {value:?}");
    }

    let h = hash::hash_field(field, value, country);
    match (&n, &h) {
        (None, None) => {}
        (Some(s), Some(d)) => {
            let md5_passthrough = normalize::is_hashed(s) && s.len() == 32;
            assert!(
                is_lower_hex(d, 64) || (md5_passthrough && is_lower_hex(d, 32)),
                "{field:?}: hash {d:?} is not 64 lowercase hex (normalized {s:?})"
            );
            assert_eq!(d, &hash::hash_normalized(s), "{field:?}: hash_field differs from hash_normalized");
            if normalize::is_hashed(s) {
                assert_eq!(d, s, "{field:?}: a digest passes through the same from normalize and hash_field");
            }
        }
        (Some(s), None) => panic!("{field:?}: normalized to {s:?} but hash_field dropped it"),
        (None, Some(d)) => panic!("{field:?}: dropped by normalize but hash_field gave {d:?}"),
    }
});
