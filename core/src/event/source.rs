//! Where event input is read from: the [`Source`] trait, and its implementation
//! for `serde_json::Value`.

use serde_json::Value;
use std::borrow::Cow;

use crate::error::{Error, ErrorCode, Result};

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
