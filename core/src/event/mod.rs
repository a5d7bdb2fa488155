//! Event input in shop terms (docs/spec.md §3): strict parsing and validation.
//!
//! The input is walked by hand from a `serde_json::Value` rather than derived
//! with serde, so that every error names the exact field path
//! (`items[3].price`) and never echoes the offending value, which may be
//! personal data.

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

use crate::error::{json_syntax, Error, ErrorCode, Result};

pub mod json;
use crate::normalize::Field;

/// Largest event input accepted, in bytes of JSON.
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;
/// Largest id (order id, event id, item id), in bytes.
pub const MAX_ID_BYTES: usize = 255;
/// Largest number of line items.
pub const MAX_ITEMS: usize = 1000;
/// Largest free-text value (title, category, URL, user agent), in bytes.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;
/// Largest single customer value, in bytes.
pub const MAX_CUSTOMER_VALUE_BYTES: usize = 1024;
/// Most values for one multi-valued customer field.
pub const MAX_CUSTOMER_VALUES: usize = 16;
/// Events older than this are rejected by Meta (and so here).
pub const MAX_AGE_SECONDS: i64 = 7 * 24 * 3600;
/// How far in the future an event time may be (clock skew between hosts).
pub const MAX_FUTURE_SECONDS: i64 = 5 * 60;

/// Meta's standard events. Anything else is a custom event.
pub const STANDARD_EVENTS: &[&str] = &[
    "AddPaymentInfo",
    "AddToCart",
    "AddToWishlist",
    "CompleteRegistration",
    "Contact",
    "CustomizeProduct",
    "Donate",
    "FindLocation",
    "InitiateCheckout",
    "Lead",
    "PageView",
    "Purchase",
    "Schedule",
    "Search",
    "StartTrial",
    "SubmitApplication",
    "Subscribe",
    "ViewContent",
];

/// The shopper's marketing consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Marketing {
    Denied,
    Unknown,
    Granted,
}

impl Marketing {
    pub fn as_str(self) -> &'static str {
        match self {
            Marketing::Denied => "denied",
            Marketing::Unknown => "unknown",
            Marketing::Granted => "granted",
        }
    }
}

/// Consent carried by one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consent {
    pub marketing: Marketing,
    /// The shopper's Limited Data Use flag; `None` follows the merchant setting.
    pub ldu: Option<bool>,
}

/// One line item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item<'a> {
    pub id: Cow<'a, str>,
    /// The shop SKU, when the `content_id` setting maps content ids to SKUs.
    pub sku: Option<Cow<'a, str>>,
    /// The variant id, when the `content_id` setting maps content ids to variants.
    pub variant_id: Option<Cow<'a, str>>,
    pub quantity: u32,
    pub price: Option<f64>,
    pub title: Option<Cow<'a, str>>,
    pub category: Option<Cow<'a, str>>,
}

/// The raw values of one customer field: one value, the usual case, without
/// an allocation of its own. Reads as a slice.
#[derive(Clone, Debug)]
pub enum Values<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl<'a> std::ops::Deref for Values<'a> {
    type Target = [Cow<'a, str>];
    fn deref(&self) -> &[Cow<'a, str>] {
        match self {
            Values::One(v) => std::slice::from_ref(v),
            Values::Many(v) => v,
        }
    }
}

impl Values<'_> {
    /// The same values, owning their text.
    pub fn into_owned(self) -> Values<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            Values::One(v) => Values::One(own(v)),
            Values::Many(v) => Values::Many(v.into_iter().map(own).collect()),
        }
    }
}

/// Equal when the values are: one value equals a list of that one value.
impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Values<'_> {}

/// Raw customer data. Personal data: `Debug` prints only which fields are present.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Customer<'a> {
    /// Raw values per field, in input order (multi-valued fields keep every value).
    /// One value, the usual case, is stored inline: no allocation per field.
    pub values: Vec<(Field, Values<'a>)>,
}

impl<'a> Customer<'a> {
    /// The raw values of `field`.
    pub fn get(&self, field: Field) -> &[Cow<'a, str>] {
        self.values.iter().find(|(f, _)| *f == field).map(|(_, v)| &**v).unwrap_or(&[])
    }
}

impl fmt::Debug for Customer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<&str> = self.values.iter().map(|(k, _)| k.input_name()).collect();
        f.debug_struct("Customer").field("present", &present).finish_non_exhaustive()
    }
}

/// Browser context. The IP address and user agent are personal data: `Debug` redacts them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Browser<'a> {
    pub ip: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub fbp: Option<Cow<'a, str>>,
    pub fbc: Option<Cow<'a, str>>,
    pub fbclid: Option<Cow<'a, str>>,
}

impl fmt::Debug for Browser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("ip", &self.ip.as_ref().map(|_| "<redacted>"))
            .field("user_agent", &self.user_agent.as_ref().map(|_| "<redacted>"))
            .field("fbp", &self.fbp.as_ref().map(|_| "<redacted>"))
            .field("fbc", &self.fbc.as_ref().map(|_| "<redacted>"))
            .field("fbclid", &self.fbclid.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A parsed, shape-checked event (times are checked by the tracker, which knows "now").
///
/// Its text borrows from what it was parsed from where it can (`'a`): the JSON
/// text, a `serde_json::Value`, or (in the Python binding) the `str` objects of
/// the event dict, so that parsing copies no string. [`EventInput::into_owned`]
/// detaches it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventInput<'a> {
    pub event_name: Cow<'a, str>,
    pub event_time: Option<i64>,
    pub order_id: Option<Cow<'a, str>>,
    pub event_id: Option<Cow<'a, str>>,
    pub event_source_url: Option<Cow<'a, str>>,
    /// ISO-4217, uppercase.
    pub currency: Option<Cow<'a, str>>,
    pub value: Option<f64>,
    pub items: Vec<Item<'a>>,
    pub customer: Customer<'a>,
    pub browser: Browser<'a>,
    pub consent: Consent,
}

const TOP_KEYS: [&str; 11] = [
    "event_name",
    "event_time",
    "order_id",
    "event_id",
    "event_source_url",
    "currency",
    "value",
    "items",
    "customer",
    "browser",
    "consent",
];
const ITEM_KEYS: [&str; 7] = ["id", "sku", "variant_id", "quantity", "price", "title", "category"];
const BROWSER_KEYS: [&str; 5] = ["ip", "user_agent", "fbp", "fbc", "fbclid"];
const CONSENT_KEYS: [&str; 2] = ["marketing", "ldu"];
/// The input names of [`crate::settings::CUSTOMER_FIELDS`], in the same order.
const CUSTOMER_KEYS: [&str; crate::settings::CUSTOMER_FIELDS.len()] = {
    let mut names = [""; crate::settings::CUSTOMER_FIELDS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = crate::settings::CUSTOMER_FIELDS[i].input_name();
        i += 1;
    }
    names
};

pub use crate::text::json_type_name;

/// One input value as the parser sees it, whatever it was read from: a
/// `serde_json::Value` (JSON text, the C ABI, PHP) or, in the Python binding,
/// a Python object read in place, without building a JSON value first. Every
/// face goes through the same [`EventInput::from_source`], so validation and
/// error paths are the same everywhere.
#[derive(Debug)]
pub enum Raw<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// A whole number above `i64::MAX`.
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    /// A list; read with [`Source::list_len`] and [`Source::each_item`].
    List,
    /// An object; read with [`Source::each_entry`].
    Object,
}

impl Raw<'_> {
    /// The same value, owning its text.
    pub fn into_owned(self) -> Raw<'static> {
        match self {
            Raw::Null => Raw::Null,
            Raw::Bool(b) => Raw::Bool(b),
            Raw::Int(i) => Raw::Int(i),
            Raw::UInt(u) => Raw::UInt(u),
            Raw::Float(f) => Raw::Float(f),
            Raw::Str(s) => Raw::Str(Cow::Owned(s.into_owned())),
            Raw::List => Raw::List,
            Raw::Object => Raw::Object,
        }
    }
}

/// Why a source could not read a value; the parser adds the field path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Text that is not valid Unicode (a lone surrogate in a Python `str`).
    InvalidUnicode,
    /// A whole number outside the 64-bit range.
    IntOutOfRange,
    /// A type with no JSON meaning; names the source's kind of value ("Python").
    Unsupported(&'static str),
    /// An object key that is not a string.
    NonStringKey,
    /// A value whose own code failed to give its text (a Python `Decimal`
    /// subclass whose `__str__` raised); the binding chains the cause.
    Unconvertible,
}

impl Unreadable {
    /// The error for a value at `path`.
    pub fn at(self, path: &str) -> Error {
        match self {
            Unreadable::InvalidUnicode => Error::field(ErrorCode::InvalidUtf8, path, "is not valid Unicode (lone surrogate)"),
            Unreadable::IntOutOfRange => Error::field(ErrorCode::InvalidValue, path, "is an integer out of range"),
            Unreadable::Unsupported(kind) => Error::field(ErrorCode::WrongType, path, format!("has an unsupported {kind} type")),
            Unreadable::NonStringKey => Error::field(ErrorCode::WrongType, path, "must have string keys"),
            Unreadable::Unconvertible => {
                Error::field(ErrorCode::InvalidValue, path, "could not be turned into text (its conversion raised)")
            }
        }
    }
}

/// An object key as a source reads it: the text, or why it cannot be read.
pub type Key<'k> = std::result::Result<&'k str, Unreadable>;

/// Where event input is read from. Implemented here for `&serde_json::Value`
/// and in the Python binding for Python objects. Cloning should be cheap (a
/// reference, or a reference count). `'a` is how long the strings it lends
/// live: the parsed [`EventInput<'a>`] borrows them.
pub trait Source<'a>: Clone {
    /// What this value is; strings are borrowed for `'a` when the source allows it.
    fn raw(&self) -> std::result::Result<Raw<'a>, Unreadable>;
    /// The number of items of a list (only called on [`Raw::List`]).
    fn list_len(&self) -> usize;
    /// Calls `f` on each item of a list, in order (only called on [`Raw::List`]).
    fn each_item(&self, f: &mut impl FnMut(usize, Self) -> Result<()>) -> Result<()>;
    /// Calls `f` on each entry of an object, in order, with its key, or why the
    /// key cannot be read (only called on [`Raw::Object`]).
    fn each_entry(&self, f: &mut impl FnMut(Key<'_>, Self) -> Result<()>) -> Result<()>;
}

impl<'a> Source<'a> for &'a Value {
    fn raw(&self) -> std::result::Result<Raw<'a>, Unreadable> {
        Ok(match *self {
            Value::Null => Raw::Null,
            Value::Bool(b) => Raw::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Raw::Int(i),
                (None, Some(u)) => Raw::UInt(u),
                (None, None) => Raw::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Raw::Str(Cow::Borrowed(s.as_str())),
            Value::Array(_) => Raw::List,
            Value::Object(_) => Raw::Object,
        })
    }

    fn list_len(&self) -> usize {
        self.as_array().map_or(0, Vec::len)
    }

    fn each_item(&self, f: &mut impl FnMut(usize, Self) -> Result<()>) -> Result<()> {
        for (i, v) in self.as_array().into_iter().flatten().enumerate() {
            f(i, v)?;
        }
        Ok(())
    }

    fn each_entry(&self, f: &mut impl FnMut(Key<'_>, Self) -> Result<()>) -> Result<()> {
        for (k, v) in self.as_object().into_iter().flatten() {
            f(Ok(k), v)?;
        }
        Ok(())
    }
}

/// Reads `v`, naming `path` when the source cannot.
fn read<'a, S: Source<'a>>(v: &S, path: &str) -> Result<Raw<'a>> {
    v.raw().map_err(|e| e.at(path))
}

/// The value of an optional field: absent and `null` are `None`.
fn present<'a, S: Source<'a>>(v: Option<&S>, path: &str) -> Result<Option<Raw<'a>>> {
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
fn slots<'a, S: Source<'a>, const N: usize>(obj: &S, keys: &[&str; N], path: &str, prefix: &str) -> Result<[Option<S>; N]> {
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
fn key_index(keys: &[&str], key: &str) -> Option<usize> {
    let first = key.as_bytes().first();
    keys.iter().position(|k| k.len() == key.len() && k.as_bytes().first() == first && *k == key)
}

/// Optional string, with a byte limit; `null` and absent are `None`.
fn opt_str<'a, S: Source<'a>>(v: Option<&S>, path: &str, max: usize) -> Result<Option<Cow<'a, str>>> {
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
fn opt_id<'a, S: Source<'a>>(v: Option<&S>, path: &str) -> Result<Option<Cow<'a, str>>> {
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
fn opt_money<'a, S: Source<'a>>(v: Option<&S>, path: &str) -> Result<Option<f64>> {
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

/// `digits[.digits]`, surrounding spaces allowed; no sign, exponent, NaN or inf.
fn parse_decimal(s: &str) -> Option<f64> {
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
fn small_decimal(int: &str, frac: &str) -> Option<f64> {
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
fn is_http_url(u: &str) -> bool {
    plain_http_url(u) || url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some())
}

/// Whether `u` is `http://` or `https://`, then a plain DNS name (ASCII letters,
/// digits and `-`, dot-separated labels of 1..=63 bytes, the last starting with
/// a letter, no `xn--` label), then the end or `/`, `?` or `#` and anything. The
/// URL parser accepts every such text (the host is no IP address, needs no IDNA
/// mapping and has no port or user; after the host it only percent-encodes), so
/// true is always right; false only means "ask the parser" (the proptest
/// `plain_urls_are_urls` checks the first against `url::Url::parse`).
fn plain_http_url(u: &str) -> bool {
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
fn customer_value<'a>(s: Cow<'a, str>, path: &dyn Fn() -> String) -> Result<Cow<'a, str>> {
    if s.len() > MAX_CUSTOMER_VALUE_BYTES {
        return Err(Error::field(ErrorCode::TooLarge, path(), format!("must be at most {MAX_CUSTOMER_VALUE_BYTES} bytes")));
    }
    Ok(s)
}

fn customer_values<'a, S: Source<'a>>(v: &S, path: &str) -> Result<Values<'a>> {
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

impl<'a> EventInput<'a> {
    /// Parses an event from JSON text; strings without escapes borrow from `text`.
    pub fn from_json(text: &'a str) -> Result<EventInput<'a>> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(Error::field(ErrorCode::TooLarge, "event", format!("must be at most {MAX_INPUT_BYTES} bytes of JSON")));
        }
        let tree: json::Json<'a> = serde_json::from_str(text).map_err(|e| json_syntax("event", &e))?;
        EventInput::from_source(&json::Lend(&tree))
    }

    /// Parses an event from a JSON value; its strings are borrowed.
    pub fn from_value(value: &'a Value) -> Result<EventInput<'a>> {
        EventInput::from_source(&value)
    }

    /// Parses an event from any [`Source`] (the one parser behind every face).
    pub fn from_source<S: Source<'a>>(source: &S) -> Result<EventInput<'a>> {
        let [name, time, order, id, url, currency, value, items, customer, browser, consent] = slots(source, &TOP_KEYS, "event", "")?;

        let event_name = match present(name.as_ref(), "event_name")? {
            None => return Err(Error::missing("event_name")),
            Some(Raw::Str(s)) => s,
            Some(_) => return Err(Error::wrong_type("event_name", "a string")),
        };
        if !is_valid_event_name(&event_name) {
            return Err(Error::invalid(
                "event_name",
                "must be a Meta standard event or a custom name of letters, digits, '_' and spaces, at most 50",
            ));
        }

        let event_time = match present(time.as_ref(), "event_time")? {
            None => None,
            Some(Raw::Int(i)) => Some(i),
            Some(Raw::UInt(u)) => Some(unix_seconds(u as f64)?),
            Some(Raw::Float(f)) => Some(unix_seconds(f)?),
            Some(_) => return Err(Error::wrong_type("event_time", "a number of Unix seconds")),
        };

        let order_id = opt_id(order.as_ref(), "order_id")?;
        let event_id = opt_id(id.as_ref(), "event_id")?;
        if let Some(id) = &event_id {
            if !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid("event_id", "must be printable ASCII without spaces"));
            }
        }

        let event_source_url = opt_str(url.as_ref(), "event_source_url", MAX_TEXT_BYTES)?;
        if let Some(u) = &event_source_url {
            if !is_http_url(u) {
                return Err(Error::invalid("event_source_url", "must be an absolute http(s) URL"));
            }
        }

        let currency = match opt_str(currency.as_ref(), "currency", 16)? {
            None => None,
            Some(c) => {
                let c = trim_cow(c);
                if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(Error::invalid("currency", "must be an ISO-4217 code such as \"EUR\""));
                }
                Some(if c.bytes().all(|b| b.is_ascii_uppercase()) { c } else { Cow::Owned(c.to_ascii_uppercase()) })
            }
        };

        let value = opt_money(value.as_ref(), "value")?;

        let items = match &items {
            None => Vec::new(),
            Some(list) => match read(list, "items")? {
                Raw::Null => Vec::new(),
                Raw::List => {
                    if list.list_len() > MAX_ITEMS {
                        return Err(Error::field(ErrorCode::TooLarge, "items", format!("must have at most {MAX_ITEMS} entries")));
                    }
                    let mut items = Vec::with_capacity(list.list_len());
                    list.each_item(&mut |i, raw| {
                        items.push(parse_item(&raw, i)?);
                        Ok(())
                    })?;
                    items
                }
                _ => return Err(Error::wrong_type("items", "a list")),
            },
        };

        let customer = match customer.as_ref().filter(|c| !matches!(c.raw(), Ok(Raw::Null))) {
            None => Customer::default(),
            Some(c) => {
                if !matches!(read(c, "customer")?, Raw::Object) {
                    return Err(Error::wrong_type("customer", "an object"));
                }
                let mut values = Vec::with_capacity(crate::settings::CUSTOMER_FIELDS.len());
                c.each_entry(&mut |key, raw| {
                    let key = key.map_err(|e| e.at("customer"))?;
                    let field = key_index(&CUSTOMER_KEYS, key).map(|i| crate::settings::CUSTOMER_FIELDS[i]).ok_or_else(|| {
                        Error::field(ErrorCode::UnknownField, crate::error::key_path("customer.", key), "is not a known field")
                    })?;
                    let vals = customer_values(&raw, field.input_name()).map_err(|e| e.within("customer."))?;
                    if !vals.is_empty() {
                        values.push((field, vals));
                    }
                    Ok(())
                })?;
                Customer { values }
            }
        };

        let browser = match browser.as_ref().filter(|b| !matches!(b.raw(), Ok(Raw::Null))) {
            None => Browser::default(),
            Some(b) => {
                let [ip, user_agent, fbp, fbc, fbclid] = slots(b, &BROWSER_KEYS, "browser", "browser.")?;
                let nonempty = |v: Option<S>, key: &str, max: usize| -> Result<Option<Cow<'a, str>>> {
                    let v = opt_str(v.as_ref(), key, max).map_err(|e| e.within("browser."))?.map(trim_cow).filter(|s| !s.is_empty());
                    if let Some(s) = &v {
                        if has_control(s) {
                            return Err(Error::invalid(format!("browser.{key}"), "must not contain control characters"));
                        }
                    }
                    Ok(v)
                };
                let ip = nonempty(ip, "ip", 64)?;
                if let Some(ip) = &ip {
                    if ip.parse::<std::net::IpAddr>().is_err() {
                        return Err(Error::invalid("browser.ip", "must be one IPv4 or IPv6 address"));
                    }
                }
                Browser {
                    ip,
                    user_agent: nonempty(user_agent, "user_agent", MAX_TEXT_BYTES)?,
                    fbp: nonempty(fbp, "fbp", 1024)?,
                    fbc: nonempty(fbc, "fbc", 1024)?,
                    fbclid: nonempty(fbclid, "fbclid", 1024)?,
                }
            }
        };

        let consent = match consent.as_ref().filter(|c| !matches!(c.raw(), Ok(Raw::Null))) {
            None => Consent { marketing: Marketing::Unknown, ldu: None },
            Some(c) => {
                let [marketing, ldu] = slots(c, &CONSENT_KEYS, "consent", "consent.")?;
                let marketing = match present(marketing.as_ref(), "consent.marketing")? {
                    None => Marketing::Unknown,
                    Some(Raw::Str(s)) => match s.as_ref() {
                        "granted" => Marketing::Granted,
                        "denied" => Marketing::Denied,
                        "unknown" => Marketing::Unknown,
                        _ => return Err(Error::invalid("consent.marketing", "must be \"granted\", \"denied\" or \"unknown\"")),
                    },
                    Some(_) => return Err(Error::wrong_type("consent.marketing", "a string")),
                };
                let ldu = match present(ldu.as_ref(), "consent.ldu")? {
                    None => None,
                    Some(Raw::Bool(b)) => Some(b),
                    Some(_) => return Err(Error::wrong_type("consent.ldu", "true, false or null")),
                };
                Consent { marketing, ldu }
            }
        };

        let event =
            EventInput { event_name, event_time, order_id, event_id, event_source_url, currency, value, items, customer, browser, consent };
        event.check_requirements()?;
        Ok(event)
    }

    fn check_requirements(&self) -> Result<()> {
        if self.event_name == "Purchase" {
            if self.order_id.is_none() {
                return Err(Error::missing("order_id"));
            }
            if self.currency.is_none() {
                return Err(Error::missing("currency"));
            }
            if self.value.is_none() {
                return Err(Error::missing("value"));
            }
        }
        if self.value.is_some() && self.currency.is_none() {
            return Err(Error::field(ErrorCode::MissingField, "currency", "is required when value is given"));
        }
        Ok(())
    }

    /// Whether this is one of Meta's standard events (else `trackCustom`).
    pub fn is_standard(&self) -> bool {
        STANDARD_EVENTS.contains(&self.event_name.as_ref())
    }

    /// The same event, owning all its text (to keep it beyond what it was parsed from).
    pub fn into_owned(self) -> EventInput<'static> {
        let own = |s: Cow<'a, str>| -> Cow<'static, str> { Cow::Owned(s.into_owned()) };
        let own_opt = |s: Option<Cow<'a, str>>| s.map(own);
        EventInput {
            event_name: own(self.event_name),
            event_time: self.event_time,
            order_id: own_opt(self.order_id),
            event_id: own_opt(self.event_id),
            event_source_url: own_opt(self.event_source_url),
            currency: own_opt(self.currency),
            value: self.value,
            items: self
                .items
                .into_iter()
                .map(|i| Item {
                    id: own(i.id),
                    sku: own_opt(i.sku),
                    variant_id: own_opt(i.variant_id),
                    quantity: i.quantity,
                    price: i.price,
                    title: own_opt(i.title),
                    category: own_opt(i.category),
                })
                .collect(),
            customer: Customer { values: self.customer.values.into_iter().map(|(f, v)| (f, v.into_owned())).collect() },
            browser: Browser {
                ip: own_opt(self.browser.ip),
                user_agent: own_opt(self.browser.user_agent),
                fbp: own_opt(self.browser.fbp),
                fbc: own_opt(self.browser.fbc),
                fbclid: own_opt(self.browser.fbclid),
            },
            consent: self.consent,
        }
    }
}

/// `s` without surrounding whitespace, still borrowed when it was.
fn trim_cow(s: Cow<'_, str>) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) if o.trim().len() == o.len() => Cow::Owned(o),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    }
}

impl Item<'_> {
    /// Meta's content id of this item under `mapping` (the `content_id` setting);
    /// a missing mapped field is an error naming `items[i].sku` / `items[i].variant_id`.
    pub fn content_id(&self, mapping: crate::settings::ContentIdField, i: usize) -> Result<&str> {
        use crate::settings::ContentIdField as C;
        let (value, name) = match mapping {
            C::Id => (Some(self.id.as_ref()), "id"),
            C::Sku => (self.sku.as_deref(), "sku"),
            C::VariantId => (self.variant_id.as_deref(), "variant_id"),
        };
        value.ok_or_else(|| Error::field(ErrorCode::MissingField, format!("items[{i}].{name}"), "is required by the content_id setting"))
    }
}

impl EventInput<'_> {
    /// Checks that every item has the field the `content_id` setting maps to.
    pub fn check_content_ids(&self, mapping: crate::settings::ContentIdField) -> Result<()> {
        for (i, item) in self.items.iter().enumerate() {
            item.content_id(mapping, i)?;
        }
        Ok(())
    }
}

/// Whole Unix seconds from a number that is not an `i64`.
fn unix_seconds(f: f64) -> Result<i64> {
    if !f.is_finite() || f.abs() > 1e12 {
        return Err(Error::invalid("event_time", "must be Unix seconds"));
    }
    Ok(f.trunc() as i64)
}

fn parse_item<'a, S: Source<'a>>(raw: &S, i: usize) -> Result<Item<'a>> {
    // Paths are built only on the error path: `items[3].price` (and `items[3]`
    // itself, from the empty path, when it is not an object).
    parse_item_fields(raw).map_err(|e| e.within(&format!("items[{i}].")))
}

fn parse_item_fields<'a, S: Source<'a>>(raw: &S) -> Result<Item<'a>> {
    let [id, sku, variant_id, quantity, price, title, category] = slots(raw, &ITEM_KEYS, "", "")?;
    let id = opt_id(id.as_ref(), "id")?.ok_or_else(|| Error::missing("id"))?;
    let quantity = match present(quantity.as_ref(), "quantity")? {
        None => 1,
        Some(Raw::Int(q)) if q < 1 => return Err(Error::invalid("quantity", "must be at least 1")),
        Some(Raw::Int(q)) if q > 1_000_000 => return Err(Error::invalid("quantity", "must be at most 1000000")),
        Some(Raw::Int(q)) => q as u32,
        Some(_) => return Err(Error::wrong_type("quantity", "a whole number")),
    };
    Ok(Item {
        id,
        sku: opt_id(sku.as_ref(), "sku")?,
        variant_id: opt_id(variant_id.as_ref(), "variant_id")?,
        quantity,
        price: opt_money(price.as_ref(), "price")?,
        title: opt_str(title.as_ref(), "title", MAX_TEXT_BYTES)?,
        category: opt_str(category.as_ref(), "category", MAX_TEXT_BYTES)?,
    })
}

/// Checks `event_time` against `now` (Unix seconds).
pub fn check_event_time(event_time: i64, now: i64) -> Result<()> {
    if event_time < now - MAX_AGE_SECONDS {
        return Err(Error::field(ErrorCode::EventTimeOutOfRange, "event_time", "is more than 7 days old; Meta rejects such events"));
    }
    if event_time > now + MAX_FUTURE_SECONDS {
        return Err(Error::field(ErrorCode::EventTimeOutOfRange, "event_time", "is more than 5 minutes in the future"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<EventInput<'_>> {
        EventInput::from_json(json)
    }
    fn err(json: &str) -> Error {
        parse(json).unwrap_err()
    }

    #[test]
    fn text_is_borrowed_from_the_json_unless_it_had_escapes() {
        let text = r#"{"event_name":"Purchase","order_id":"A-1","currency":"eur","value":"1.00","event_source_url":"https://shop.example/\u0074hanks",
            "items":[{"id":"SKU-1","title":"caf\u00e9"}],"customer":{"email":"jane@example.com"},"browser":{"user_agent":" UA "}}"#;
        let e = EventInput::from_json(text).unwrap();
        let borrowed = |c: &Cow<'_, str>| matches!(c, Cow::Borrowed(_));
        assert!(borrowed(&e.event_name) && e.order_id.as_ref().is_some_and(borrowed) && borrowed(&e.items[0].id));
        assert!(borrowed(&e.customer.get(Field::Email)[0]));
        // Trimmed in place: still a slice of the text.
        assert!(e.browser.user_agent.as_ref().is_some_and(|u| borrowed(u) && u == "UA"));
        // "eur" needed upper-casing; the escaped strings were decoded.
        assert!(!e.currency.as_ref().is_some_and(borrowed) && e.currency.as_deref() == Some("EUR"));
        assert_eq!(e.event_source_url.as_deref(), Some("https://shop.example/thanks"));
        assert_eq!(e.items[0].title.as_deref(), Some("café"));
        // Detached, it is the same event.
        let owned: EventInput<'static> = e.clone().into_owned();
        assert_eq!(owned, e);
    }

    #[test]
    fn minimal_purchase() {
        let e = parse(r#"{"event_name":"Purchase","order_id":1001,"currency":"eur","value":"59.90"}"#).unwrap();
        assert_eq!(e.order_id.as_deref(), Some("1001"));
        assert_eq!(e.currency.as_deref(), Some("EUR"));
        assert_eq!(e.value, Some(59.9));
        assert_eq!(e.consent.marketing, Marketing::Unknown);
    }

    #[test]
    fn errors_name_the_field_and_never_the_value() {
        let cases: &[(&str, &str, ErrorCode)] = &[
            (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"59.90","colour":1}"#, "colour", ErrorCode::UnknownField),
            (r#"{"event_name":"Purchase","currency":"EUR","value":"1"}"#, "order_id", ErrorCode::MissingField),
            (r#"{"event_name":"Purchase","order_id":"1","value":"1"}"#, "currency", ErrorCode::MissingField),
            (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR"}"#, "value", ErrorCode::MissingField),
            (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"NaN"}"#, "value", ErrorCode::InvalidValue),
            (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"-5"}"#, "value", ErrorCode::InvalidValue),
            (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":-5}"#, "value", ErrorCode::InvalidValue),
            (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1e5"}"#, "value", ErrorCode::InvalidValue),
            (r#"{"event_name":"Purchase","order_id":"1","currency":"EURO","value":"1"}"#, "currency", ErrorCode::InvalidValue),
            (
                r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{"id":"a","quantity":-1}]}"#,
                "items[0].quantity",
                ErrorCode::InvalidValue,
            ),
            (
                r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{"id":"a","price":"inf"}]}"#,
                "items[0].price",
                ErrorCode::InvalidValue,
            ),
            (
                r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{"ean":"a"}]}"#,
                "items[0].ean",
                ErrorCode::UnknownField,
            ),
            (
                r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{}]}"#,
                "items[0].id",
                ErrorCode::MissingField,
            ),
            (r#"{"event_name":"Lead","customer":{"email":42.5}}"#, "customer.email", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","customer":{"mail":"john@example.com"}}"#, "customer.mail", ErrorCode::UnknownField),
            (r#"{"event_name":"Lead","browser":{"ip":"john@example.com"}}"#, "browser.ip", ErrorCode::InvalidValue),
            (r#"{"event_name":"Lead","consent":{"marketing":"yes"}}"#, "consent.marketing", ErrorCode::InvalidValue),
            (r#"{"event_name":"Lead","event_time":"yesterday"}"#, "event_time", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","event_source_url":"javascript:alert(1)"}"#, "event_source_url", ErrorCode::InvalidValue),
            (r#"{"event_name":"Buy<script>"}"#, "event_name", ErrorCode::InvalidValue),
            (r#"{"event_name":"Lead","order_id":"a\u0000b"}"#, "order_id", ErrorCode::InvalidValue),
            (r#"{"event_name":"Lead","order_id":""}"#, "order_id", ErrorCode::InvalidValue),
            (r#"{"event_name":"Lead","event_id":"has space"}"#, "event_id", ErrorCode::InvalidValue),
            (r#"{}"#, "event_name", ErrorCode::MissingField),
            (r#"[]"#, "event", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","items":[5]}"#, "items[0]", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","items":{}}"#, "items", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","items":[{"id":"a","quantity":2.0}]}"#, "items[0].quantity", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","items":[{"id":"a","quantity":18446744073709551615}]}"#, "items[0].quantity", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","customer":[]}"#, "customer", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","customer":{"email":["a@example.com",7]}}"#, "customer.email[1]", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","browser":"x"}"#, "browser", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","consent":{"ldu":"yes"}}"#, "consent.ldu", ErrorCode::WrongType),
            (r#"{"event_name":"Lead","event_time":1e13}"#, "event_time", ErrorCode::InvalidValue),
            (r#"{"event_name":"Lead","event_time":18446744073709551615}"#, "event_time", ErrorCode::InvalidValue),
            (r#"{"event_name":"Purchase""#, "event", ErrorCode::InvalidJson),
        ];
        for (json, field, code) in cases {
            let e = err(json);
            assert_eq!(e.field_name(), Some(*field), "{json}");
            assert_eq!(e.code(), *code, "{json}");
            assert!(!e.to_string().contains("john@example.com"));
        }
    }

    #[test]
    fn numbers_as_the_json_path_reads_them() {
        let e = parse(
            r#"{"event_name":"Lead","order_id":18446744073709551615,"event_time":1732790000.9,
            "customer":{"zip":12345},"items":[{"id":7,"price":3}]}"#,
        )
        .unwrap();
        assert_eq!(e.order_id.as_deref(), Some("18446744073709551615"));
        assert_eq!(e.event_time, Some(1_732_790_000));
        assert_eq!(e.customer.get(crate::normalize::Field::Zip), ["12345".to_string()]);
        assert_eq!((e.items[0].id.as_ref(), e.items[0].price), ("7", Some(3.0)));
        // null is absent everywhere.
        let e = parse(r#"{"event_name":"Lead","items":null,"customer":null,"browser":null,"consent":null,"value":null,"currency":null}"#)
            .unwrap();
        assert!(e.items.is_empty() && e.customer.values.is_empty() && e.value.is_none());
    }

    #[test]
    fn control_characters() {
        for s in ["", "SKU-1", "a b~", "\u{e9}t\u{e9}", "\u{2028}", "a\u{7f}", "a\u{85}b", "\u{9f}", "\t", "x\u{0}", "\u{1f}"] {
            assert_eq!(has_control(s), s.chars().any(char::is_control), "{s:?}");
        }
    }

    #[test]
    fn small_decimals_parse_exactly() {
        for s in
            ["0", "0.0", "59.90", "9.99", "0.1", "0.3", "1.005", "000123.450", "999999999999999", "99999999999999.9", "0.00000000000001"]
        {
            let (int, frac) = s.split_once('.').unwrap_or((s, ""));
            assert_eq!(small_decimal(int, frac).map(f64::to_bits), Some(s.parse::<f64>().unwrap().to_bits()), "{s}");
        }
        assert_eq!(small_decimal("1234567890123456", ""), None);
        assert_eq!(small_decimal("0", "000000000000001"), None);
    }

    proptest::proptest! {
        #[test]
        fn small_decimals_match_the_parser(int in "[0-9]{1,12}", frac in "[0-9]{0,8}") {
            let text = if frac.is_empty() { int.clone() } else { format!("{int}.{frac}") };
            let expected = text.parse::<f64>().unwrap();
            proptest::prop_assert_eq!(parse_decimal(&text).map(f64::to_bits), Some(expected.to_bits()));
        }
    }

    proptest::proptest! {
        // About 2% of these texts take the shortcut: enough cases to see ~80 of them.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn plain_urls_are_urls(
            scheme in "(https?|HTTPS|ftp)://",
            host in "([a-zA-Z0-9-]{0,5}|xn--[a-z0-9]{1,4}|0x[0-9a-f]{1,3}|[0-9]{1,4}|[a-z@:\\\\ _%\t\u{e9}\u{ff0e}]{1,3})(\\.([a-zA-Z0-9-]{0,5}|xn--[a-z0-9]{1,4}|0x[0-9a-f]{1,3}|[0-9]{1,4}|[a-z@:%\\\\]{1,3})){0,3}",
            rest in "([/?#][ -~\u{e9}\t\n]{0,12})?",
        ) {
            let u = format!("{scheme}{host}{rest}");
            let full = url::Url::parse(&u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
            if plain_http_url(&u) {
                proptest::prop_assert!(full, "{u:?}");
            }
            proptest::prop_assert_eq!(is_http_url(&u), full);
        }
    }

    #[test]
    fn plain_url_shortcut() {
        for u in ["https://shop.example/checkout/thanks", "http://a.b-c.de?x=1#y", "https://EXAMPLE.com", "https://x.y/\u{e9} </script>"] {
            assert!(plain_http_url(u), "{u}");
        }
        for u in [
            "https://1.2.3.4/",
            "https://a.0x1f/",
            "https://xn--80ak6aa92e.com/",
            "https://a..b/",
            "https://user@a.b/",
            "https://a.b:8080/",
            "https://a.b\\c/",
            "javascript:alert(1)",
            "https://",
            "https://a.b./",
        ] {
            assert!(!plain_http_url(u), "{u}");
        }
    }

    #[test]
    fn limits_are_errors_not_truncation() {
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let e = err(&format!(r#"{{"event_name":"Lead","order_id":"{long}"}}"#));
        assert_eq!((e.code(), e.field_name()), (ErrorCode::TooLarge, Some("order_id")));
        let items = vec![r#"{"id":"a"}"#; MAX_ITEMS + 1].join(",");
        let e = err(&format!(r#"{{"event_name":"Lead","items":[{items}]}}"#));
        assert_eq!((e.code(), e.field_name()), (ErrorCode::TooLarge, Some("items")));
        let huge = format!(r#"{{"event_name":"Lead","items":[{{"id":"a","title":"{}"}}]}}"#, "y".repeat(10 << 20));
        assert_eq!(err(&huge).code(), ErrorCode::TooLarge);
    }

    #[test]
    fn times() {
        let now = 1_732_790_000;
        assert!(check_event_time(now, now).is_ok());
        assert!(check_event_time(now - MAX_AGE_SECONDS, now).is_ok());
        assert_eq!(check_event_time(now - MAX_AGE_SECONDS - 1, now).unwrap_err().code(), ErrorCode::EventTimeOutOfRange);
        assert_eq!(check_event_time(now + 3600, now).unwrap_err().field_name(), Some("event_time"));
    }

    #[test]
    fn debug_redacts_pii() {
        let e = parse(r#"{"event_name":"Lead","customer":{"email":"SENTINEL@example.com"},"browser":{"ip":"203.0.113.9","user_agent":"SENTINEL-UA"}}"#).unwrap();
        let d = format!("{e:?}");
        assert!(!d.contains("SENTINEL") && !d.contains("203.0.113.9"), "{d}");
        assert!(d.contains("email"));
    }
}
