//! The Python value as a JSON value (`serde_json::Value`), for the inputs that
//! are not events (settings, catalog products): errors name the path.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use serde_json::{Map, Value};

use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::event::Unreadable;

use super::{decimal_text, failure, snapshot, Failure};

/// Deepest nesting accepted from Python (the event schema needs 4).
const MAX_DEPTH: usize = 32;

/// Where a value sits in the Python input, rendered only for an error message:
/// converting a dict must not format a path string per key.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root(s) => (*s).to_string(),
            Path::Key(parent, key) => {
                let p = parent.render();
                let prefix = if p.is_empty() { p } else { format!("{p}.") };
                convtrack_core::error::key_path(&prefix, key)
            }
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

/// Converts a Python value (dict, list, tuple, str, int, float, bool, None,
/// Decimal) to a JSON value; errors name the path (`items[2].price`).
pub(crate) fn py_to_json(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> Result<Value, Failure> {
    convert(obj, &Path::Root(path), depth)
}

fn convert(obj: &Bound<'_, PyAny>, path: &Path<'_>, depth: usize) -> Result<Value, Failure> {
    if depth > MAX_DEPTH {
        return Err(Error::field(ErrorCode::TooLarge, path.render(), "is nested too deeply").into());
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // Strings first (the common case), then bool before int: in Python, bool is a subclass of int.
    if let Ok(s) = obj.downcast::<PyString>() {
        return s
            .to_cow()
            .map(|s| Value::String(s.into_owned()))
            .map_err(|_| Error::field(ErrorCode::InvalidUtf8, path.render(), "is not valid Unicode (lone surrogate)").into());
    }
    if let Ok(b) = obj.downcast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.downcast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::from(v));
        }
        return Err(Error::field(ErrorCode::InvalidValue, path.render(), "is an integer out of range").into());
    }
    if let Ok(f) = obj.downcast::<PyFloat>() {
        let v = f.value();
        // NaN and infinities have no JSON form; pass them as text so the core's
        // validation rejects them with its usual, field-naming error.
        return Ok(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or_else(|| Value::String(v.to_string())));
    }
    if let Ok(d) = obj.downcast::<PyDict>() {
        // A private copy: Python code run while reading a value (a `Decimal`'s
        // `__str__`, a signal handler) may change the caller's dict, not this one.
        let d = d.copy().map_err(Failure::Python)?;
        let mut m = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .downcast::<PyString>()
                .ok()
                .and_then(|s| s.to_cow().ok().map(|c| c.into_owned()))
                .ok_or_else(|| Error::field(ErrorCode::WrongType, path.render(), "must have string keys"))?;
            let value = convert(&v, &Path::Key(path, &key), depth + 1)?;
            m.insert(key, value);
        }
        return Ok(Value::Object(m));
    }
    if let Some(items) = snapshot(obj).map_err(Failure::Python)? {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(convert(&item, &Path::Index(path, i), depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    match decimal_text(obj) {
        Some(Ok(s)) => Ok(Value::String(s.to_cow().map_err(Failure::Python)?.into_owned())),
        Some(Err(e)) => Err(failure(obj.py(), e, &Unreadable::Unconvertible.at(&path.render()))),
        None => {
            let at = path.render();
            Err(Error::field(ErrorCode::WrongType, if at.is_empty() { "value" } else { &at }, "has an unsupported Python type").into())
        }
    }
}
