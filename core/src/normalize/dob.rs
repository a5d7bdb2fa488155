//! `db`: `YYYYMMDD` from the first three digit groups of the input, in
//! whichever order makes a plausible date (year > 31, month <= 12), or from a
//! lone 8-digit group taken as is.
//!
//! As in the reference, the checks are ranges only: year 1800..=next year,
//! month 1..=12, day 1..=31 (so `02-31-1990` passes; the month length is not
//! checked).

use std::time::{SystemTime, UNIX_EPOCH};

/// Digit groups of the input: maximal runs of ASCII digits (found on bytes: no
/// byte of a non-ASCII character is an ASCII digit, so every run is on char boundaries).
fn digit_groups(value: &str) -> impl Iterator<Item = &str> {
    let bytes = value.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && !bytes[i].is_ascii_digit() {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        value.get(start..i).filter(|g| !g.is_empty())
    })
}

/// The integer value of a digit group, saturating (only small values matter).
fn group_value(group: &str) -> u64 {
    group.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')))
}

/// The current year (UTC).
pub(crate) fn current_year() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    year_from_days(days)
}

/// Civil (proleptic Gregorian) year of a day count since 1970-01-01.
fn year_from_days(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400;
    if month <= 2 {
        year + 1
    } else {
        year
    }
}

fn ymd(n1: u64, n2: u64, n3: u64, this_year: i64, out: &mut String) -> bool {
    let (year, month, day) = if n1 > 31 {
        (n1, if n2 > 12 { n3 } else { n2 }, if n2 > 12 { n2 } else { n3 })
    } else if n2 > 31 {
        (n2, if n3 > 12 { n1 } else { n3 }, if n3 > 12 { n3 } else { n1 })
    } else {
        (n3, if n1 > 12 { n2 } else { n1 }, if n1 > 12 { n1 } else { n2 })
    };
    let max_year = u64::try_from(this_year.saturating_add(1)).unwrap_or(0);
    let valid = (1800..=max_year).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day);
    if !valid {
        return false;
    }
    // YYYYMMDD; the ranges above make every part fit its width.
    for (n, width) in [(year, 1000), (month, 10), (day, 10)] {
        let mut div = width;
        while div > 0 {
            out.push(char::from(b'0' + u8::try_from(n / div % 10).unwrap_or(0)));
            div /= 10;
        }
    }
    true
}

/// Appends `YYYYMMDD` to `out`; false when dropped.
pub(crate) fn write(value: &str, out: &mut String) -> bool {
    write_in_year(value, current_year(), out)
}

#[cfg(test)]
fn normalize_in_year(value: &str, this_year: i64) -> Option<String> {
    super::util::owned(|out| write_in_year(value, this_year, out))
}

fn write_in_year(value: &str, this_year: i64, out: &mut String) -> bool {
    let mut groups = digit_groups(value);
    let Some(first) = groups.next() else {
        return false;
    };
    let second = groups.next();
    let third = second.and_then(|_| groups.next());
    match (second, third) {
        (Some(second), Some(third)) => ymd(group_value(first), group_value(second), group_value(third), this_year, out),
        (None, _) if first.len() == 8 => {
            out.push_str(first);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{normalize_in_year, year_from_days};

    #[test]
    fn civil_year() {
        assert_eq!(year_from_days(0), 1970);
        assert_eq!(year_from_days(-1), 1969);
        assert_eq!(year_from_days(20_454), 2026); // 2026-01-01
        assert_eq!(year_from_days(20_453), 2025); // 2025-12-31
    }

    #[test]
    fn layouts() {
        let y = 2026;
        assert_eq!(normalize_in_year("2/16/1997 (mm/dd/yyyy)", y).as_deref(), Some("19970216"));
        assert_eq!(normalize_in_year("16\u{2013}2\u{2013}1997", y).as_deref(), Some("19970216"));
        assert_eq!(normalize_in_year("1990-15-06", y).as_deref(), Some("19900615"));
        assert_eq!(normalize_in_year("12月31日1990年", y).as_deref(), Some("19901231"));
        assert_eq!(normalize_in_year("19901231", y).as_deref(), Some("19901231"));
        assert_eq!(normalize_in_year("02-29-1900", y).as_deref(), Some("19000229"));
        assert_eq!(normalize_in_year("01-01-2027", y).as_deref(), Some("20270101"));
        assert_eq!(normalize_in_year("01-01-2028", y), None);
        assert_eq!(normalize_in_year("01-01-2028", 2027).as_deref(), Some("20280101"));
        assert_eq!(normalize_in_year("12/31/90", y), None);
        assert_eq!(normalize_in_year("1990123", y), None);
        assert_eq!(normalize_in_year("12-31", y), None);
        assert_eq!(normalize_in_year("99999999999999999999999-1-1", y), None);
        assert_eq!(normalize_in_year("\u{FF11}\u{FF12}-31-1990", y), None);
    }
}
