//! `ph`: the reference keeps ASCII digits only and removes leading zeros.
//!
//! The one deliberate deviation (docs/spec.md §4): when the caller knows the
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
    let digits: String = value.bytes().filter(u8::is_ascii_digit).skip_while(|b| *b == b'0').map(char::from).collect();
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
    with_region_using(value, region, true)
}

/// `with_region`, with the fast path when `fast` (the tests compare both
/// ways).
fn with_region_using(value: &str, region: &str, fast: bool) -> Option<String> {
    let trimmed = js_trim(value);
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    // The digits, on the stack: with more than MAX_LIBRARY_DIGITS after the two
    // of a "00" prefix the number goes to the reference rule anyway.
    let mut buf = [0u8; MAX_LIBRARY_DIGITS + 2];
    let mut n = 0;
    for b in trimmed.bytes().filter(u8::is_ascii_digit) {
        *buf.get_mut(n)? = b;
        n += 1;
    }
    // "00" is the international prefix in most of the world; it marks the
    // number as carrying its own calling code whatever the region's own
    // international prefix is.
    let skip = if !trimmed.starts_with('+') && trimmed.starts_with("00") { 2 } else { 0 };
    // ASCII digits: the check cannot fail.
    let digits = std::str::from_utf8(buf.get(skip..n)?).ok()?;
    if digits.len() < 2 || digits.len() > MAX_LIBRARY_DIGITS {
        return None;
    }
    if fast {
        // Answers only what the library would answer (and only for regions
        // that pass the checks below); otherwise the library decides.
        let e164 = if international {
            super::phone_fast::complete_international(digits, region)
        } else {
            super::phone_fast::complete_national(digits, region)
        };
        if e164.is_some() {
            return e164;
        }
    }

    let upper = region.to_ascii_uppercase();
    // Only regions the metadata knows: the library assumes their presence.
    DATABASE.by_id(upper.as_str())?;
    let id: phonenumber::country::Id = upper.parse().ok()?;
    // Only `+` and digits reach the library: nothing else of the input matters
    // to the result, and it keeps the library on its well-trodden path.
    let candidate = if international { format!("+{digits}") } else { digits.to_owned() };

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

/// The general descriptor and every number-type descriptor of a region (the
/// union libphonenumber builds its general description from).
pub(super) fn number_descriptors(meta: &phonenumber::metadata::Metadata) -> impl Iterator<Item = &phonenumber::metadata::Descriptor> {
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
    metas.iter().any(|meta| number_descriptors(meta).any(|desc| desc.possible_length().iter().any(|len| usize::from(*len) == national_len)))
}

#[cfg(test)]
mod tests {
    use super::{normalize, normalize_reference};

    #[test]
    fn reference_rule() {
        assert_eq!(normalize_reference("+1 (616) 954-78 88").as_deref(), Some("16169547888"));
        assert_eq!(normalize_reference("+001 (616) 954-78 88").as_deref(), Some("16169547888"));
        assert_eq!(normalize_reference("0000"), None);
        assert_eq!(normalize_reference("1-800-FLOWERS").as_deref(), Some("1800"));
        // Non-ASCII digits are not digits for the reference (`\D` is ASCII).
        assert_eq!(normalize_reference("\u{FF11}\u{FF12}"), None);
    }

    #[test]
    fn national_numbers_get_the_country_code() {
        assert_eq!(normalize("020 7183 8750", Some("gb")).as_deref(), Some("442071838750"));
        assert_eq!(normalize("07400 123456", Some("gb")).as_deref(), Some("447400123456"));
        assert_eq!(normalize("030 123456789", Some("de")).as_deref(), Some("4930123456789"));
        assert_eq!(normalize("0151 23456789", Some("de")).as_deref(), Some("4915123456789"));
        assert_eq!(normalize("(650) 253-0000", Some("us")).as_deref(), Some("16502530000"));
        assert_eq!(normalize("650-253-0000", Some("us")).as_deref(), Some("16502530000"));
        // Already carrying the region's own code, without '+'.
        assert_eq!(normalize("1 650 253 0000", Some("us")).as_deref(), Some("16502530000"));
    }

    #[test]
    fn plus_and_00_keep_their_own_code() {
        assert_eq!(normalize("+44 20 7183 8750", Some("de")).as_deref(), Some("442071838750"));
        assert_eq!(normalize("0044 20 7183 8750", Some("us")).as_deref(), Some("442071838750"));
        assert_eq!(normalize("+1 650 253 0000", Some("gb")).as_deref(), Some("16502530000"));
        assert_eq!(normalize("0049 30 123456789", Some("gb")).as_deref(), Some("4930123456789"));
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
        assert_eq!(normalize("020 7183 8750", Some("aq")).as_deref(), Some("2071838750"));
    }
}

/// The fast path (`phone_fast`) against the library alone, on generated
/// numbers of every region the metadata knows.
#[cfg(test)]
mod fast_path_equivalence {
    use phonenumber::metadata::DATABASE;

    use super::super::phone_fast::complete_national;
    use super::with_region_using;

    /// xorshift64*: a fixed seed, so a failure reproduces.
    pub(super) struct Rng(pub(super) u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        pub(super) fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }

        pub(super) fn digits(&mut self, len: usize) -> String {
            (0..len).map(|_| char::from(b'0' + (self.next() % 10) as u8)).collect()
        }

        /// `digits` as people write them: spaces, dashes, dots, brackets.
        pub(super) fn punctuate(&mut self, digits: &str) -> String {
            let mut out = String::new();
            if self.below(4) == 0 {
                out.push(' ');
            }
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && self.below(3) == 0 {
                    out.push([' ', '-', '.', '/'][self.below(4)]);
                }
                if i == 0 && self.below(5) == 0 {
                    out.push('(');
                }
                out.push(ch);
                if i == 2 && out.starts_with('(') {
                    out.push(')');
                }
            }
            out
        }
    }

    /// The example numbers of every descriptor of `meta`.
    pub(super) fn examples(meta: &phonenumber::metadata::Metadata) -> Vec<String> {
        super::number_descriptors(meta).filter_map(|desc| desc.example().map(String::from)).collect()
    }

    /// Every region `with_region` passes to the library: known to the
    /// metadata and a `country::Id`.
    pub(super) fn regions() -> Vec<String> {
        let mut out = Vec::new();
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let id = String::from_utf8(vec![a, b]).unwrap_or_default();
                if DATABASE.by_id(&id).is_some() && id.parse::<phonenumber::country::Id>().is_ok() {
                    out.push(id.to_ascii_lowercase());
                }
            }
        }
        out
    }

    #[test]
    fn fast_path_gives_the_library_result_in_every_region() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let regions = regions();
        assert!(regions.len() > 200, "{}", regions.len());
        let (mut cases, mut answered) = (0usize, 0usize);
        for region in &regions {
            let upper = region.to_ascii_uppercase();
            let Some(meta) = DATABASE.by_id(&upper) else {
                panic!("{upper}");
            };
            let code = meta.country_code().to_string();
            let np = meta.national_prefix().unwrap_or("0").to_owned();
            let mut bodies: Vec<String> = examples(meta);
            let examples = bodies.len();
            for i in 0..examples {
                // One digit fewer and one more than an example.
                let mut shorter = bodies[i].clone();
                shorter.pop();
                bodies.push(shorter);
                bodies.push(format!("{}{}", bodies[i], rng.digits(1)));
            }
            for _ in 0..16 {
                let len = 2 + rng.below(19);
                bodies.push(rng.digits(len));
            }
            for body in &bodies {
                let mut inputs = vec![
                    body.clone(),
                    format!("{np}{body}"),
                    format!("{code}{body}"),
                    format!("0{body}"),
                    format!("{code}{np}{body}"),
                    format!("{}{body}", ["011", "810", "0011", "001", "010"][rng.below(5)]),
                ];
                let pick = rng.below(inputs.len());
                let punctuated = rng.punctuate(&inputs[pick]);
                inputs.push(punctuated);
                if rng.below(4) == 0 {
                    inputs.push(format!("00{code}{body}"));
                    inputs.push(format!("+{code} {body}"));
                }
                for input in inputs {
                    let fast = with_region_using(&input, region, true);
                    let library = with_region_using(&input, region, false);
                    assert_eq!(fast, library, "region {region}, input {input:?}");
                    cases += 1;
                    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
                    if !input.starts_with('+') && !input.starts_with("00") && complete_national(&digits, &upper).is_some() {
                        answered += 1;
                    }
                }
            }
        }
        eprintln!("{} regions, {cases} inputs, {answered} answered by the fast path", regions.len());
        // The comparison must mostly exercise the fast path, not the fallback.
        assert!(answered * 6 > cases, "{answered} of {cases}");
    }
}

/// The fast path for numbers written with `+` or `00` against the library
/// alone, with every region as the default region.
#[cfg(test)]
mod fast_path_international_equivalence {
    use phonenumber::metadata::DATABASE;

    use super::super::phone_fast::complete_international;
    use super::fast_path_equivalence::{examples, regions, Rng};
    use super::with_region_using;

    /// The digits phone.rs hands to `complete_international` for `input`
    /// (written with `+` or `00`), as `with_region_using` computes them.
    fn international_digits(input: &str) -> Option<String> {
        let trimmed = input.trim();
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if trimmed.starts_with('+') {
            Some(digits)
        } else if trimmed.starts_with("00") {
            digits.get(2..).map(String::from)
        } else {
            None
        }
    }

    #[test]
    fn fast_path_gives_the_library_result_for_international_input() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let regions = regions();
        // (calling code, national prefix, example) of every region.
        let mut all: Vec<(String, String, String)> = Vec::new();
        for region in &regions {
            let Some(meta) = DATABASE.by_id(region.to_ascii_uppercase().as_str()) else {
                panic!("{region}");
            };
            let code = meta.country_code().to_string();
            let np = meta.national_prefix().unwrap_or("0").to_owned();
            for example in examples(meta) {
                all.push((code.clone(), np.clone(), example));
            }
        }
        assert!(all.len() > 1000, "{}", all.len());
        let (mut cases, mut answered) = (0usize, 0usize);
        let (mut own_cases, mut own_answered) = (0usize, 0usize);
        for region in &regions {
            let upper = region.to_ascii_uppercase();
            let Some(meta) = DATABASE.by_id(upper.as_str()) else {
                panic!("{upper}");
            };
            let own_code = meta.country_code().to_string();
            let own_np = meta.national_prefix().unwrap_or("0").to_owned();
            // The region's own examples, and examples of other regions.
            let mut numbers: Vec<(String, String, String, bool)> =
                examples(meta).into_iter().map(|example| (own_code.clone(), own_np.clone(), example, true)).collect();
            for _ in 0..5 {
                let (code, np, example) = all[rng.below(all.len())].clone();
                numbers.push((code, np, example, false));
            }
            let mut inputs: Vec<(String, bool)> = Vec::new();
            for (code, np, body, own) in &numbers {
                let mut shorter = body.clone();
                shorter.pop();
                let longer = format!("{body}{}", rng.digits(1));
                let idd = ["00", "011", "0011", "001", "010", "810", "002", "1"][rng.below(8)];
                let forms = [
                    format!("+{code}{body}"),
                    format!("00{code}{body}"),
                    format!("+{code} ({np}){body}"),
                    format!("+{code}{np}{body}"),
                    format!("00{code}{np}{body}"),
                    format!("+{code}{shorter}"),
                    format!("+{code}{longer}"),
                    format!("+{idd}{code}{body}"),
                    format!("00{idd}{code}{body}"),
                    format!("+{idd}0{code}{body}"),
                    format!("+{}{body}", &code[..code.len() - 1]),
                ];
                let plus = format!("+{code}{body}");
                let punctuated = format!("+{}", rng.punctuate(&plus[1..]));
                inputs.push((plus, *own));
                inputs.push((punctuated, *own));
                inputs.push((format!(" + {code} {body} "), *own));
                // Three of the other forms (the debug-build library is slow).
                for _ in 0..3 {
                    inputs.push((forms[1 + rng.below(forms.len() - 1)].clone(), *own));
                }
            }
            for _ in 0..6 {
                let len = 1 + rng.below(20);
                inputs.push((format!("+{}", rng.digits(len)), false));
                let len = 2 + rng.below(12);
                inputs.push((format!("+{own_code}{}", rng.digits(len)), true));
                inputs.push((format!("00{own_code}{own_np}{}", rng.digits(len)), true));
                let unknown = ["999", "998", "80", "83", "89", "0", "28", "35"][rng.below(8)];
                inputs.push((format!("+{unknown}{}", rng.digits(len)), false));
                inputs.push((format!("00{}", rng.digits(len + 2)), false));
            }
            for (input, own) in inputs {
                let fast = with_region_using(&input, region, true);
                let library = with_region_using(&input, region, false);
                assert_eq!(fast, library, "region {region}, input {input:?}");
                cases += 1;
                let Some(digits) = international_digits(&input) else {
                    panic!("not international: {input:?}");
                };
                let hit = complete_international(&digits, region).is_some();
                answered += usize::from(hit);
                if own {
                    own_cases += 1;
                    own_answered += usize::from(hit);
                }
            }
        }
        eprintln!(
            "{} regions, {cases} international inputs, {answered} answered by the fast path \
             ({own_answered} of {own_cases} in the region's own calling code)",
            regions.len()
        );
        // The comparison must mostly exercise the fast path, not the fallback.
        assert!(answered * 3 > cases, "{answered} of {cases}");
        assert!(own_answered * 3 > own_cases, "{own_answered} of {own_cases}");
    }

    /// The fast path answers the everyday forms, and with the library's
    /// result (the default region's metadata reads the national part).
    #[test]
    fn fast_path_answers_everyday_international_numbers() {
        for (input, region, expected) in [
            ("+44 20 7183 8750", "de", "442071838750"),
            ("0044 20 7183 8750", "us", "442071838750"),
            ("+1 650 253 0000", "gb", "16502530000"),
            ("+49 30 123456789", "de", "4930123456789"),
            // The default region's national prefix "0" is cut after the code.
            ("+44 (0)20 7183 8750", "gb", "442071838750"),
            ("+44 (0)20 7183 8750", "de", "442071838750"),
            // Italy keeps the leading zero of its national numbers...
            ("+39 06 6982 1234", "it", "390669821234"),
            ("+39 06 6982 1234", "us", "390669821234"),
            // ...but the library cuts the DEFAULT region's trunk prefix "0"
            // when the rest is long enough there (FR: 9 digits), a quirk the
            // fast path keeps.
            ("+39 06 6982 1234", "fr", "39669821234"),
        ] {
            let digits = international_digits(input).unwrap_or_default();
            assert_eq!(complete_international(&digits, region).as_deref(), Some(expected), "{input} in {region}");
            assert_eq!(with_region_using(input, region, false).as_deref(), Some(expected), "{input} in {region}");
        }
        // Unknown calling code, too few digits: the library decides.
        assert_eq!(complete_international("999123456", "de"), None);
        assert_eq!(complete_international("44", "de"), None);
    }
}
