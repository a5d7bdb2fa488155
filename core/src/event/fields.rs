//! Readers of single input values (strings, ids, money, URLs, customer
//! values), shared by every section of the parser. Each checks its limits and
//! names the field on error without echoing the value.

use std::borrow::Cow;

use crate::error::{Error, ErrorCode, Result};

use super::source::{Raw, Source};
use super::*;

/// Reads `v`, naming `path` when the source cannot.
pub(super) fn read<'a, S: Source<'a>>(v: &S, path: &str) -> Result<Raw<'a>> {
    v.raw().map_err(|e| e.at(path))
}

/// The value of an optional field: absent and `null` are `None`.
pub(super) fn present<'a, S: Source<'a>>(v: Option<&S>, path: &str) -> Result<Option<Raw<'a>>> {
    match v {
        None => Ok(None),
        Some(v) => match read(v, path)? {
            Raw::Null => Ok(None),
            raw => Ok(Some(raw)),
        },
    }
}

/// The entries of the object `obj` (at `path`, keys prefixed with `prefix` in
/// errors), one slot per name of `keys`; a key not in `keys` is an error. Every
/// key is checked before any value is read, so an unknown field is reported first.
pub(super) fn slots<'a, S: Source<'a>, const N: usize>(obj: &S, keys: &[&str; N], path: &str, prefix: &str) -> Result<[Option<S>; N]> {
    if !matches!(read(obj, path)?, Raw::Object) {
        return Err(Error::wrong_type(path, "an object"));
    }
    let mut out: [Option<S>; N] = std::array::from_fn(|_| None);
    obj.each_entry(&mut |key, value| {
        let key = key.map_err(|e| e.at(path))?;
        match key_index(keys, key) {
            Some(i) => {
                out[i] = Some(value);
                Ok(())
            }
            None => Err(Error::field(ErrorCode::UnknownField, crate::error::key_path(prefix, key), "is not a known field")),
        }
    })?;
    Ok(out)
}

/// The position of `key` in `keys`. Most names differ in length or first
/// letter, so those are compared before the bytes.
pub(super) fn key_index(keys: &[&str], key: &str) -> Option<usize> {
    let first = key.as_bytes().first();
    keys.iter().position(|k| k.len() == key.len() && k.as_bytes().first() == first && *k == key)
}

/// Optional string, with a byte limit; `null` and absent are `None`.
pub(super) fn opt_str<'a, S: Source<'a>>(v: Option<&S>, path: &str, max: usize) -> Result<Option<Cow<'a, str>>> {
    match present(v, path)? {
        None => Ok(None),
        Some(Raw::Str(s)) => {
            if s.len() > max {
                return Err(Error::field(ErrorCode::TooLarge, path, format!("must be at most {max} bytes")));
            }
            Ok(Some(s))
        }
        Some(_) => Err(Error::wrong_type(path, "a string")),
    }
}

/// An identifier: string or integer, 1..=255 bytes, no control characters.
pub(super) fn opt_id<'a, S: Source<'a>>(v: Option<&S>, path: &str) -> Result<Option<Cow<'a, str>>> {
    let s = match present(v, path)? {
        None => return Ok(None),
        Some(Raw::Str(s)) => s,
        Some(Raw::Int(i)) => Cow::Owned(i.to_string()),
        Some(Raw::UInt(u)) => Cow::Owned(u.to_string()),
        Some(_) => return Err(Error::wrong_type(path, "a string or a whole number")),
    };
    check_id(&s, path)?;
    Ok(Some(s))
}

pub(crate) use crate::text::has_control;

pub(crate) fn check_id(s: &str, path: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(path, "must not be empty"));
    }
    if s.len() > MAX_ID_BYTES {
        return Err(Error::field(ErrorCode::TooLarge, path, format!("must be at most {MAX_ID_BYTES} bytes")));
    }
    if has_control(s) {
        return Err(Error::invalid(path, "must not contain control characters"));
    }
    Ok(())
}

/// Money: a number or a decimal string; finite and not negative; absent and `null` are `None`.
pub(super) fn opt_money<'a, S: Source<'a>>(v: Option<&S>, path: &str) -> Result<Option<f64>> {
    let amount = match present(v, path)? {
        None => return Ok(None),
        Some(Raw::Int(i)) => i as f64,
        Some(Raw::UInt(u)) => u as f64,
        Some(Raw::Float(f)) => f,
        Some(Raw::Str(s)) => {
            parse_decimal(&s).ok_or_else(|| Error::invalid(path, "must be a decimal number such as \"59.90\" (finite, not negative)"))?
        }
        Some(_) => return Err(Error::wrong_type(path, "a decimal string or a number")),
    };
    if !amount.is_finite() {
        return Err(Error::invalid(path, "must be a finite number"));
    }
    if amount < 0.0 {
        return Err(Error::invalid(path, "must not be negative"));
    }
    if amount >= 1e15 {
        return Err(Error::invalid(path, "is too large"));
    }
    Ok(Some(amount))
}

/// One of a fixed set of names (`parse` knows them; `expected` lists them for
/// the error); absent and `null` are `None`. The error never echoes the value.
pub(super) fn opt_enum<'a, S: Source<'a>, T>(v: Option<&S>, path: &str, parse: fn(&str) -> Option<T>, expected: &str) -> Result<Option<T>> {
    match present(v, path)? {
        None => Ok(None),
        Some(Raw::Str(s)) => parse(&s).map(Some).ok_or_else(|| Error::invalid(path, format!("must be {expected}"))),
        Some(_) => Err(Error::wrong_type(path, "a string")),
    }
}

/// `digits[.digits]`, surrounding spaces allowed; no sign, exponent, NaN or inf.
pub(super) fn parse_decimal(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 32 {
        return None;
    }
    let (int, frac) = match s.bytes().position(|b| b == b'.') {
        Some(dot) => (&s[..dot], Some(&s[dot + 1..])),
        None => (s, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    Some(small_decimal(int, frac.unwrap_or("")).unwrap_or_else(|| s.parse::<f64>().unwrap_or(f64::NAN)))
}

/// `int.frac` (ASCII digits) when it has at most 15 digits: the integer `n` of
/// all the digits over `10^k` (`k` = digits after the point). Both are exact in
/// an `f64` (`n < 10^15 < 2^53`, `10^k <= 10^15`), and IEEE division rounds the
/// exact quotient correctly, so this is exactly what `str::parse` returns for
/// the same text (the test `small_decimals_parse_exactly` checks it) without
/// the general parser's work: prices such as "59.90".
pub(super) fn small_decimal(int: &str, frac: &str) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    if int.len() + frac.len() > 15 {
        return None;
    }
    let n = int.bytes().chain(frac.bytes()).fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    Some(n as f64 / POW10[frac.len()])
}

/// An absolute http(s) URL with a host, as `url::Url::parse` decides it. The
/// usual `https://shop.example/path` is recognized without the full parser by
/// [`plain_http_url`]; everything else goes through it.
pub(super) fn is_http_url(u: &str) -> bool {
    plain_http_url(u) || url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some())
}

/// Whether `u` is `http://` or `https://`, then a plain DNS name (ASCII letters,
/// digits and `-`, dot-separated labels of 1..=63 bytes, the last starting with
/// a letter, no `xn--` label), then the end or `/`, `?` or `#` and anything. The
/// URL parser accepts every such text (the host is no IP address, needs no IDNA
/// mapping and has no port or user; after the host it only percent-encodes), so
/// true is always right; false only means "ask the parser" (the proptest
/// `plain_urls_are_urls` checks the first against `url::Url::parse`).
pub(super) fn plain_http_url(u: &str) -> bool {
    let Some(rest) = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://")) else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let mut last_starts_with_letter = false;
    for label in host.split('.') {
        let b = label.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 63
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && !(b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"xn--"));
        if !ok {
            return false;
        }
        last_starts_with_letter = b[0].is_ascii_alphabetic();
    }
    last_starts_with_letter
}

pub(crate) fn is_valid_event_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 50
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ')
        && !name.starts_with(' ')
        && !name.ends_with(' ')
}

/// One customer value within the size limit (`path` only built on error).
pub(super) fn customer_value<'a>(s: Cow<'a, str>, path: &dyn Fn() -> String) -> Result<Cow<'a, str>> {
    if s.len() > MAX_CUSTOMER_VALUE_BYTES {
        return Err(Error::field(ErrorCode::TooLarge, path(), format!("must be at most {MAX_CUSTOMER_VALUE_BYTES} bytes")));
    }
    Ok(s)
}

pub(super) fn customer_values<'a, S: Source<'a>>(v: &S, path: &str) -> Result<Values<'a>> {
    let one = Values::One;
    match read(v, path)? {
        Raw::Null => Ok(Values::Many(Vec::new())),
        Raw::Str(s) => Ok(one(customer_value(s, &|| path.to_string())?)),
        Raw::Int(i) => Ok(one(Cow::Owned(i.to_string()))),
        Raw::UInt(u) => Ok(one(Cow::Owned(u.to_string()))),
        Raw::List => {
            if v.list_len() > MAX_CUSTOMER_VALUES {
                return Err(Error::field(ErrorCode::TooLarge, path, format!("must have at most {MAX_CUSTOMER_VALUES} values")));
            }
            let mut out = Vec::with_capacity(v.list_len());
            v.each_item(&mut |i, item| {
                let p = || format!("{path}[{i}]");
                match item.raw().map_err(|e| e.at(&p()))? {
                    Raw::Null => {}
                    Raw::Str(s) => out.push(customer_value(s, &p)?),
                    _ => return Err(Error::wrong_type(p(), "a string")),
                }
                Ok(())
            })?;
            Ok(Values::Many(out))
        }
        _ => Err(Error::wrong_type(path, "a string or a list of strings")),
    }
}

/// `s` without surrounding whitespace, still borrowed when it was.
pub(super) fn trim_cow(s: Cow<'_, str>) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) if o.trim().len() == o.len() => Cow::Owned(o),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    }
}

/// Whole Unix seconds from a number that is not an `i64`.
pub(super) fn unix_seconds(f: f64) -> Result<i64> {
    if !f.is_finite() || f.abs() > 1e12 {
        return Err(Error::invalid("event_time", "must be Unix seconds"));
    }
    Ok(f.trunc() as i64)
}
