//! Fast path of the phone completion for a national number in a known region.
//!
//! `phonenumber::parse` allocates through a nom parser and runs every regex
//! through `regex_cache::CachedRegex`, which locks one global mutex and looks
//! the pattern up in a 100-entry LRU shared by all regions (it thrashes and
//! recompiles when several regions are in use, and serializes every thread).
//!
//! This module replays, for one region, exactly the steps `parse_with`
//! (phonenumber 0.3.10) takes on a national number (ASCII digits only, no `+`,
//! region known), with the region's regexes compiled once from the same
//! metadata sources and flags. Whenever a step leaves the ordinary path (the
//! international prefix matches, a library `unwrap` would panic, the national
//! number has leading zeros, the length is not a possible one, ...) it answers
//! `None` and the caller runs the library unchanged. The `phone` tests compare
//! this path with the library on generated numbers of every region.

use std::borrow::Cow;
use std::sync::OnceLock;

use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use regex::{Regex, RegexBuilder};

/// libphonenumber's shortest and longest national significant number.
const MIN_LENGTH_FOR_NSN: usize = 2;
const MAX_LENGTH_FOR_NSN: usize = 17;

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
        if !self.possible_length.is_empty()
            && !self
                .possible_length
                .iter()
                .any(|len| usize::from(*len) == value.len())
        {
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
    /// Bit `n` set when some number of the calling code has `n` national
    /// digits (phone.rs's `is_possible_length`).
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
    RegexBuilder::new(&format!("^(?:{source}\n)"))
        .ignore_whitespace(true)
        .build()
        .ok()
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
        let mut code_lengths = 0u64;
        for meta in DATABASE.by_code(&code)? {
            let d = meta.descriptors();
            for desc in std::iter::once(Some(d.general()))
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
            {
                for len in desc.possible_length() {
                    if *len < 64 {
                        code_lengths |= 1 << len;
                    }
                }
            }
        }
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
    fn strip_match<'a>(
        &self,
        national: &'a str,
        viable: bool,
        start: usize,
        end: usize,
    ) -> Option<Cow<'a, str>> {
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
        if number.starts_with(self.code_str.as_str())
            && (!self.general.is_match(number) || !self.length(number.len()).is_possible())
        {
            number = number.get(self.code_str.len()..)?;
        }
        // helper::national_number, then the literal national prefix strip.
        let potential = self.national_number(number)?;
        let mut potential: &str = &potential;
        if let Some(prefix) = self.national_prefix.as_deref() {
            if let Some(rest) = potential.strip_prefix(prefix) {
                potential = rest;
            }
        }
        let national: &str = if self.length(potential.len()) == Validation::TooShort {
            number
        } else {
            potential
        };
        if national.len() < MIN_LENGTH_FOR_NSN || national.len() > MAX_LENGTH_FOR_NSN {
            return None;
        }
        // NationalNumber: leading zeros are kept apart; the library's Display
        // gives them back, but leave those numbers to the library.
        if national.starts_with('0') || !national.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u64 = national.parse().ok()?;
        if value >= (1 << 56) {
            return None;
        }
        // phone.rs accepts a possible length at once; otherwise it asks
        // is_valid(), which stays with the library.
        if self.code_lengths & (1u64 << national.len()) == 0 {
            return None;
        }
        let mut out = String::with_capacity(self.code_str.len() + national.len());
        out.push_str(&self.code_str);
        out.push_str(national);
        Some(out)
    }
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
        DATABASE
            .by_id(upper.as_str())
            .and_then(Compiled::new)
            .map(Box::new)
    });
    compiled.as_ref()?.complete(digits)
}
