//! `normalize::normalize` and `hash::hash_field` on an arbitrary
//! (field, country, value). Invariants (docs/normalization.md):
//!
//! - never panics;
//! - a `Some` result is non-empty;
//! - without a country, normalize is idempotent for every field:
//!   `normalize(normalize(x)) == normalize(x)`. The one documented exception,
//!   phone *with* a country, is not checked;
//! - the country only matters for `ph`: any other field gives the same result
//!   with and without it;
//! - `hash_field` is `None` exactly when normalize drops the value, else 64
//!   lowercase hex, or 32 lowercase hex when the normalized value is an MD5
//!   digest that passes through (documented in `hash::hash_field`), and it
//!   equals `hash_normalized(normalize(x))`.
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
    } else if field != Field::Phone {
        let without = normalize::normalize(field, value, None);
        assert_eq!(n, without, "{field:?}: country {country:?} changed the result for {value:?}");
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
        }
        (Some(s), None) => panic!("{field:?}: normalized to {s:?} but hash_field dropped it"),
        (None, Some(d)) => panic!("{field:?}: dropped by normalize but hash_field gave {d:?}"),
    }
});
