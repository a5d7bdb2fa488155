//! Rust and JSON values as Python objects: JSON values and the core's value
//! sources as `dict`/`list`/`str`/..., and a build result as the result dict.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};
use serde_json::Value;

use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::event::{Raw, Source};

use crate::errors::to_py_err;

/// Python objects for a JSON value: what `json.loads` returns for the same text.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    source_to_py(py, &v)
}

/// Python objects (dict, list, str, int, float, bool, None) for any core value
/// source: a `serde_json::Value`, or the core's borrowed JSON tree, from which the
/// payload dict is built without parsing JSON text a second time (`json.loads`
/// would; docs/benchmarks.md has the figures).
pub(crate) fn source_to_py<'py, 's, S: Source<'s>>(py: Python<'py>, v: &S) -> PyResult<Bound<'py, PyAny>> {
    // A Python error met inside the core's walk, handed back out of it.
    let mut failed: Option<PyErr> = None;
    let mut keep = |r: PyResult<()>| {
        r.map_err(|e| {
            failed = Some(e);
            Error::general(ErrorCode::Internal, "converting to Python failed")
        })
    };
    let raw = v.raw().map_err(|e| to_py_err(py, &e.at("value")))?;
    let out = match raw {
        Raw::Null => py.None().into_bound(py),
        Raw::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Raw::Int(i) => i.into_pyobject(py)?.into_any(),
        Raw::UInt(u) => u.into_pyobject(py)?.into_any(),
        Raw::Float(f) => f.into_pyobject(py)?.into_any(),
        Raw::Str(s) => PyString::new(py, &s).into_any(),
        Raw::List => {
            let list = PyList::empty(py);
            let walked = v.each_item(&mut |_, item| keep(source_to_py(py, &item).and_then(|o| list.append(o))));
            walked.map_err(|e| failed.take().unwrap_or_else(|| to_py_err(py, &e)))?;
            list.into_any()
        }
        Raw::Object => {
            let dict = PyDict::new(py);
            let walked = v.each_entry(&mut |key, item| {
                let key = key.map_err(|e| e.at("value"))?;
                keep(source_to_py(py, &item).and_then(|o| dict.set_item(key, o)))
            });
            walked.map_err(|e| failed.take().unwrap_or_else(|| to_py_err(py, &e)))?;
            dict.into_any()
        }
    };
    Ok(out)
}

/// A build/track result as a Python dict (the JSON shape of schema 1). The payload
/// is the JSON text as sent (`payload="json"`), or Python objects made from that text
/// (parsed into the core's borrowed tree, then [`source_to_py`]).
pub(crate) fn result_to_py<'py>(py: Python<'py>, r: &convtrack_core::BuildResult, payload_as_text: bool) -> PyResult<Bound<'py, PyAny>> {
    use convtrack_core::tracker::ResultField;
    // What every result is made from, made once. `fields()` is a fixed array, so
    // its keys are the same at the same positions in every result. Each result
    // starts as a copy of a template dict holding every key: CPython copies such a
    // dict's key table whole, and each value then replaces one in place, with no
    // insertion and no resize (about half the cost of inserting 10 keys). The
    // template holds the first result's numbers, booleans and nulls (`schema`,
    // `ldu`, `reason`), so a value equal to it is not set again; and the short
    // texts (`server`, `pixel`, `event_name`) reuse the `str` made for the last
    // result when they are the same.
    struct Made {
        keys: Vec<Py<PyString>>,
        template: Py<PyDict>,
        in_template: Vec<Option<ResultField<'static>>>,
        words: pyo3::sync::GILProtected<std::cell::RefCell<Vec<Option<Word>>>>,
    }
    /// A short text and the `str` made for it.
    type Word = (Box<str>, Py<PyString>);
    /// Texts up to this long are looked up in `words` (not ids, snippets, payloads).
    const WORD: usize = 24;
    static MADE: pyo3::sync::GILOnceCell<Made> = pyo3::sync::GILOnceCell::new();
    let fields = r.fields();
    let made = MADE.get_or_try_init(py, || -> PyResult<_> {
        let keys: Vec<Py<PyString>> = fields.iter().map(|(k, _)| PyString::intern(py, k).unbind()).collect();
        let template = PyDict::new(py);
        let mut in_template = Vec::with_capacity(fields.len());
        for (key, (_, field)) in keys.iter().zip(&fields) {
            let value = match *field {
                ResultField::Int(i) => Some(ResultField::Int(i)),
                ResultField::Bool(b) => Some(ResultField::Bool(b)),
                ResultField::Null => Some(ResultField::Null),
                ResultField::Str(_) => None,
            };
            match value {
                Some(ResultField::Int(i)) => template.set_item(key, i)?,
                Some(ResultField::Bool(b)) => template.set_item(key, b)?,
                _ => template.set_item(key, py.None())?,
            }
            in_template.push(value);
        }
        template.set_item(pyo3::intern!(py, "payload"), py.None())?;
        let words = pyo3::sync::GILProtected::new(std::cell::RefCell::new(fields.iter().map(|_| None).collect()));
        Ok(Made { keys, template: template.unbind(), in_template, words })
    })?;
    let d = made.template.bind(py).copy()?;
    // Busy only if a finalizer run by an allocation below builds re-entrantly:
    // that build then goes without the cache.
    let mut words = made.words.get(py).try_borrow_mut().ok();
    for (i, ((name, field), key)) in fields.into_iter().zip(&made.keys).enumerate() {
        let key = key.bind(py);
        debug_assert!(key.to_str().is_ok_and(|k| k == name));
        if made.in_template.get(i).is_some_and(|t| t.as_ref() == Some(&field)) {
            continue;
        }
        match field {
            ResultField::Int(i) => d.set_item(key, i)?,
            ResultField::Str(s) if s.len() <= WORD => {
                let slot = words.as_mut().and_then(|w| w.get_mut(i));
                let word = match slot {
                    Some(Some((text, obj))) if **text == *s => obj.clone_ref(py),
                    Some(slot) => {
                        let obj = PyString::new(py, s).unbind();
                        *slot = Some((s.into(), obj.clone_ref(py)));
                        obj
                    }
                    None => PyString::new(py, s).unbind(),
                };
                d.set_item(key, word)?
            }
            ResultField::Str(s) => d.set_item(key, s)?,
            ResultField::Bool(b) => d.set_item(key, b)?,
            ResultField::Null => d.set_item(key, py.None())?,
        }
    }
    drop(words);
    let payload = match &r.payload {
        Some(p) if payload_as_text => PyString::new(py, p.as_str()).into_any(),
        Some(p) => match convtrack_core::event::json::Json::parse(p.as_str()) {
            Ok(tree) => source_to_py(py, &&tree)?,
            Err(_) => return Err(to_py_err(py, &Error::general(ErrorCode::Internal, "the payload is not JSON"))),
        },
        None => py.None().into_bound(py),
    };
    d.set_item(pyo3::intern!(py, "payload"), payload)?;
    Ok(d.into_any())
}
