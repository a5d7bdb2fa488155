//! Fast path of the phone completion for a national number in a known region.
//!
//! `phonenumber::parse` allocates through a nom parser and runs every regex
//! through `regex_cache::CachedRegex`, which locks one global mutex and looks
//! the pattern up in a 100-entry LRU shared by all regions (it thrashes and
//! recompiles when several regions are in use, and serializes every thread).
//!
//! This module replays, for one region, exactly the steps `parse_with`
//! (phonenumber 0.3.10) takes on a national number (ASCII digits only, no `+`,
//! region known) and on an international one (`+` and ASCII digits, the
//! candidate phone.rs builds for input written with `+` or `00`), with the
//! region's regexes compiled once from the same metadata sources and flags.
//! Whenever a step leaves the ordinary path (the international prefix matches
//! a national number, a library `unwrap` would panic, the calling code is
//! unknown, the length is not a possible one, ...) it answers `None` and the
//! caller runs the library unchanged. The `phone` tests compare this path with
//! the library on generated numbers of every region.

use std::borrow::Cow;
use std::sync::OnceLock;

use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use regex::{Regex, RegexBuilder};

/// libphonenumber's shortest and longest national significant number.
const MIN_LENGTH_FOR_NSN: usize = 2;
const MAX_LENGTH_FOR_NSN: usize = 17;
/// libphonenumber's longest calling code.
const MAX_LENGTH_FOR_COUNTRY_CODE: usize = 3;

/// Per calling code 0..=999: whether `DATABASE.by_code` knows it, and bit `n`
/// of the lengths set when some number of that code has `n` national digits
/// (phone.rs's `is_possible_length`: the union of the per-type lengths over
/// every region of the code).
#[derive(Clone, Copy, Default)]
struct CodeInfo {
    known: bool,
    lengths: u64,
}

fn codes() -> &'static [CodeInfo] {
    static CODES: OnceLock<Vec<CodeInfo>> = OnceLock::new();
    CODES.get_or_init(|| {
        (0u16..1000)
            .map(|code| {
                let Some(metas) = DATABASE.by_code(&code) else {
                    return CodeInfo::default();
                };
                let mut lengths = 0u64;
                for meta in metas {
                    for desc in super::phone::number_descriptors(meta) {
                        for len in desc.possible_length() {
                            if *len < 64 {
                                lengths |= 1 << len;
                            }
                        }
                    }
                }
                CodeInfo { known: true, lengths }
            })
            .collect()
    })
}

/// `CodeInfo` of a calling code, the default (unknown, no lengths) beyond 999.
fn code_info(code: u16) -> CodeInfo {
    codes().get(usize::from(code)).copied().unwrap_or_default()
}

/// `validator::Validation` of the library, the variants `length` returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Validation {
    IsPossible,
    IsPossibleLocalOnly,
    TooShort,
    TooLong,
    InvalidLength,
}

impl Validation {
    fn is_possible(self) -> bool {
        matches!(self, Validation::IsPossible | Validation::IsPossibleLocalOnly)
    }
}

/// A descriptor's `is_match` inputs: its possible lengths and national-number
/// pattern.
struct FastDescriptor {
    possible_length: Vec<u16>,
    national_number: Regex,
}

impl FastDescriptor {
    fn new(desc: &Descriptor) -> Option<Self> {
        Some(FastDescriptor {
            possible_length: desc.possible_length().to_vec(),
            national_number: compile(desc.national_number().as_str())?,
        })
    }

    /// `Descriptor::is_match`: a possible length, and the pattern found
    /// starting at 0 (not a full match).
    fn is_match(&self, value: &str) -> bool {
        if !self.possible_length.is_empty() && !self.possible_length.iter().any(|len| usize::from(*len) == value.len()) {
            return false;
        }
        self.national_number.is_match(value)
    }
}

/// What the library's parse of a national number reads from one region's
/// metadata, compiled once.
struct Compiled {
    /// The calling code, in decimal.
    code_str: String,
    international_prefix: Option<Regex>,
    general: FastDescriptor,
    /// `possible_local_length` of the `Type::Unknown` (general) descriptor.
    local_length: Vec<u16>,
    national_prefix_for_parsing: Option<Regex>,
    national_prefix_transform_rule: Option<String>,
    national_prefix: Option<String>,
    /// The region's calling code's `CodeInfo::lengths`.
    code_lengths: u64,
}

/// The library builds every metadata regex with `ignore_whitespace(true)` and
/// otherwise default options. It only ever uses a match that starts at 0 (a
/// `find` whose start is checked to be 0, or `captures`/`replace` after such a
/// `find`): the pattern is compiled anchored, which gives the same match (the
/// leftmost-first match, when one starts at 0, is the preferred match at 0)
/// without scanning the rest of the input when there is none. The newline
/// ends a `#` comment the source might end with; `(?:...)` adds no group.
fn compile(source: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{source}\n)")).ignore_whitespace(true).build().ok()
}

/// `Some(None)` without a pattern, `None` when the pattern does not compile.
fn compile_opt(source: Option<&str>) -> Option<Option<Regex>> {
    match source {
        None => Some(None),
        Some(source) => compile(source).map(Some),
    }
}

impl Compiled {
    fn new(meta: &Metadata) -> Option<Self> {
        let code = meta.country_code();
        let general = meta.descriptors().general();
        let info = code_info(code);
        if !info.known {
            return None;
        }
        let code_lengths = info.lengths;
        Some(Compiled {
            code_str: code.to_string(),
            international_prefix: compile_opt(meta.international_prefix().map(|re| re.as_str()))?,
            general: FastDescriptor::new(general)?,
            local_length: general.possible_local_length().to_vec(),
            national_prefix_for_parsing: compile_opt(meta.national_prefix_for_parsing().map(|re| re.as_str()))?,
            national_prefix_transform_rule: meta.national_prefix_transform_rule().map(String::from),
            national_prefix: meta.national_prefix().map(String::from),
            code_lengths,
        })
    }

    /// `validator::length(meta, number, Type::Unknown)`. The library picks
    /// the general descriptor's lengths either way (its own `possible_length`
    /// when empty, else the general's: the same list for `Type::Unknown`).
    fn length(&self, len: usize) -> Validation {
        let possible = &self.general.possible_length[..];
        let (Some(&minimum), Some(&maximum)) = (possible.first(), possible.last()) else {
            return Validation::InvalidLength;
        };
        let Ok(length) = u16::try_from(len) else {
            return Validation::InvalidLength;
        };
        if self.local_length.contains(&length) {
            Validation::IsPossibleLocalOnly
        } else if length == minimum {
            Validation::IsPossible
        } else if length < minimum {
            Validation::TooShort
        } else if length > maximum {
            Validation::TooLong
        } else if possible.contains(&length) {
            Validation::IsPossible
        } else {
            Validation::InvalidLength
        }
    }

    /// `helper::national_number`: national prefix for parsing, transform rule
    /// (the carrier it extracts does not reach the result). `None` where the
    /// library would panic.
    fn national_number<'a>(&self, national: &'a str) -> Option<Cow<'a, str>> {
        let Some(parsing) = self.national_prefix_for_parsing.as_ref() else {
            if let Some(prefix) = self.national_prefix.as_deref() {
                if let Some(rest) = national.strip_prefix(prefix) {
                    return Some(Cow::Borrowed(rest));
                }
            }
            return Some(Cow::Borrowed(national));
        };
        let Some(found) = parsing.find(national) else {
            return Some(Cow::Borrowed(national));
        };
        let (start, end) = (found.start(), found.end());
        if start != 0 {
            return Some(Cow::Borrowed(national));
        }
        let viable = self.general.is_match(national);

        match self.national_prefix_transform_rule.as_deref() {
            Some(transform) => {
                // The library takes group 1 and the last group of the same
                // (leftmost) match.
                let captures = parsing.captures(national)?;
                let first = captures.get(1);
                let last = captures.get(captures.len().checked_sub(1)?);
                if last.is_none() {
                    return self.strip_match(national, viable, start, end);
                }
                let transformed = parsing.replace(national, transform).into_owned();
                if viable && !self.general.is_match(&transformed) {
                    return Some(Cow::Borrowed(national));
                }
                // The library unwraps the first group here.
                first?;
                Some(Cow::Owned(transformed))
            }
            None => self.strip_match(national, viable, start, end),
        }
    }

    /// The branch of `helper::national_number` without a transform: the
    /// national prefix match is cut off.
    fn strip_match<'a>(&self, national: &'a str, viable: bool, start: usize, end: usize) -> Option<Cow<'a, str>> {
        // `start` is 0 here, where the library tests `viable` again.
        if start != 0 && viable && !self.general.is_match(national.get(start..)?) {
            return Some(Cow::Borrowed(national));
        }
        Some(Cow::Borrowed(national.get(end..)?))
    }

    /// The library's parse of `digits` (ASCII digits only) in this region and
    /// phone.rs's `is_possible_length` acceptance, or `None` for "ask the
    /// library".
    fn complete(&self, digits: &str) -> Option<String> {
        // is_viable
        if digits.len() < MIN_LENGTH_FOR_NSN || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // helper::international_prefix: an IDD at the start makes the number
        // international; the library handles those.
        if let Some(idd) = self.international_prefix.as_ref() {
            if idd.is_match(digits) {
                return None;
            }
        }
        // helper::country_code, Source::Default.
        let mut number: &str = digits;
        if number.starts_with(self.code_str.as_str()) && (!self.general.is_match(number) || !self.length(number.len()).is_possible()) {
            number = number.get(self.code_str.len()..)?;
        }
        let national = self.national_part(number)?;
        finish(&self.code_str, self.code_lengths, &national)
    }

    /// The library's parse of `+digits` (`digits` ASCII digits only) with
    /// this region as the default region, and phone.rs's acceptance, or
    /// `None` for "ask the library".
    fn complete_international(&self, digits: &str) -> Option<String> {
        // is_viable on "+digits" (the natural-language parser keeps the '+';
        // RFC 3966 fails on it): three digits at least.
        if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // helper::international_prefix, Source::Plus: the default region's
        // IDD right after the '+' is cut off unless a '0' follows it.
        let mut number: &str = digits;
        if let Some(idd) = self.international_prefix.as_ref() {
            if let Some(found) = idd.find(number) {
                let rest = number.get(found.end()..)?;
                if !rest.starts_with('0') {
                    number = rest;
                }
            }
        }
        // helper::country_code, Source::Plus: the first 1 to 3 digits the
        // metadata knows as a calling code.
        if number.len() <= MIN_LENGTH_FOR_NSN || number.starts_with('0') {
            return None;
        }
        let (code_str, code, number) = (1..=MAX_LENGTH_FOR_COUNTRY_CODE).find_map(|len| {
            let code_str = number.get(..len)?;
            let code: u16 = code_str.parse().ok()?;
            let info = code_info(code);
            info.known.then(|| (code_str, info, number.get(len..)))
        })?;
        let number = number?;
        // parse_with: the national number is read with the DEFAULT region's
        // metadata (the library's `database.by_id(country)`), whatever
        // region the calling code belongs to.
        let national = self.national_part(number)?;
        finish(code_str, code.lengths, &national)
    }

    /// parse_with after `helper::country_code`: `helper::national_number`,
    /// the literal national prefix strip, and the potential number kept
    /// unless it is too short for this region.
    fn national_part<'a>(&self, number: &'a str) -> Option<Cow<'a, str>> {
        let potential = self.national_number(number)?;
        let stripped: &str = match self.national_prefix.as_deref() {
            Some(prefix) => potential.strip_prefix(prefix).unwrap_or(&potential),
            None => &potential,
        };
        if self.length(stripped.len()) == Validation::TooShort {
            return Some(Cow::Borrowed(number));
        }
        let cut = potential.len() - stripped.len();
        Some(match potential {
            Cow::Borrowed(potential) => Cow::Borrowed(potential.get(cut..)?),
            Cow::Owned(mut potential) => {
                potential.drain(..cut);
                Cow::Owned(potential)
            }
        })
    }
}

/// The end of parse_with (the NSN length bounds, `NationalNumber`) and
/// phone.rs's acceptance: `code` followed by the national number when its
/// length is a possible one for the calling code (`lengths`), else `None`.
fn finish(code: &str, lengths: u64, national: &str) -> Option<String> {
    if national.len() < MIN_LENGTH_FOR_NSN || national.len() > MAX_LENGTH_FOR_NSN {
        return None;
    }
    if !national.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // NationalNumber: the leading zeros are counted apart and the rest is a
    // u64 below 2^56; an all-zero number fails to parse. Display writes the
    // zeros back, then the value: the national digits as they are.
    let significant = national.trim_start_matches('0');
    let value: u64 = significant.parse().ok()?;
    if value >= (1 << 56) {
        return None;
    }
    // phone.rs accepts a possible length at once; otherwise it asks
    // is_valid(), which stays with the library.
    if lengths & (1u64 << national.len()) == 0 {
        return None;
    }
    let mut out = String::with_capacity(code.len() + national.len());
    out.push_str(code);
    out.push_str(national);
    Some(out)
}

type Slot = OnceLock<Option<Box<Compiled>>>;

/// One slot per pair of letters, filled on first use.
fn table() -> &'static [Slot] {
    static TABLE: OnceLock<Vec<Slot>> = OnceLock::new();
    TABLE.get_or_init(|| (0..26 * 26).map(|_| OnceLock::new()).collect())
}

/// E.164 digits (no `+`) of the national number `digits` (ASCII digits) in
/// `region` (ISO alpha-2, either case), as the library path would give them,
/// or `None` when only the library can tell. A region answers only when the
/// metadata knows it and it is a `country::Id`, as `with_region` requires.
pub(super) fn complete_national(digits: &str, region: &str) -> Option<String> {
    compiled(region)?.complete(digits)
}

/// E.164 digits (no `+`) of the international number `+digits` (`digits`
/// ASCII digits, after the `+` or `00`) with `region` as the default region,
/// as the library path would give them, or `None` when only the library can
/// tell. The same regions answer as for `complete_national`.
pub(super) fn complete_international(digits: &str, region: &str) -> Option<String> {
    compiled(region)?.complete_international(digits)
}

/// The compiled region, `None` when `with_region` would not ask the library.
fn compiled(region: &str) -> Option<&'static Compiled> {
    let &[a, b] = region.as_bytes() else {
        return None;
    };
    let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    let index = usize::from(a - b'A') * 26 + usize::from(b - b'A');
    let compiled = table().get(index)?.get_or_init(|| {
        let upper = String::from_utf8(vec![a, b]).ok()?;
        upper.parse::<phonenumber::country::Id>().ok()?;
        DATABASE.by_id(upper.as_str()).and_then(Compiled::new).map(Box::new)
    });
    compiled.as_deref()
}
