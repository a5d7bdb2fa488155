//! The event reader: a Python value read in place by the core's event parser.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::event::{Key, Raw, Source, Unreadable};
use convtrack_core::EventInput;

use super::{decimal_text, snapshot, Reading};
use crate::errors::to_py_err;

/// A Python value read in place by the core's event parser
/// ([`convtrack_core::event::Source`]): no JSON value is built in between.
/// Every object is held by a strong reference (`Bound`) while it is read, and
/// containers are read from a private snapshot (a dict's shallow copy, a list's
/// tuple), so nothing this reader looks at can be freed or resized by Python code
/// that runs during the read. No borrowed pointer, no `unsafe`.
#[derive(Clone)]
pub(crate) struct PyInput<'k, 'py> {
    obj: Bound<'py, PyAny>,
    cx: &'k Reading<'py>,
}

impl<'k, 'py> PyInput<'k, 'py> {
    pub(crate) fn new(obj: Bound<'py, PyAny>, cx: &'k Reading<'py>) -> Self {
        PyInput { obj, cx }
    }
}

impl<'k> Source<'k> for PyInput<'k, '_> {
    fn raw(&self) -> Result<Raw<'k>, Unreadable> {
        let obj = &self.obj;
        if obj.is_none() {
            return Ok(Raw::Null);
        }
        // Strings first (the common case), then bool before int: in Python, bool is a subclass of int.
        if let Ok(s) = obj.downcast::<PyString>() {
            return self.cx.lend(s.clone()).map(|s| Raw::Str(Cow::Borrowed(s)));
        }
        if obj.downcast::<PyDict>().is_ok() {
            return Ok(Raw::Object);
        }
        if let Ok(b) = obj.downcast::<PyBool>() {
            return Ok(Raw::Bool(b.is_true()));
        }
        if let Ok(i) = obj.downcast::<PyInt>() {
            if let Ok(v) = i.extract::<i64>() {
                return Ok(Raw::Int(v));
            }
            return i.extract::<u64>().map(Raw::UInt).map_err(|_| Unreadable::IntOutOfRange);
        }
        if obj.downcast::<PyList>().is_ok() || obj.downcast::<PyTuple>().is_ok() {
            return Ok(Raw::List);
        }
        if let Ok(f) = obj.downcast::<PyFloat>() {
            let v = f.value();
            // NaN and infinities have no JSON form; pass them as text, as the JSON
            // path sees them, so validation rejects them with its usual error.
            return Ok(if v.is_finite() { Raw::Float(v) } else { Raw::Str(Cow::Owned(v.to_string())) });
        }
        match decimal_text(obj) {
            Some(Ok(s)) => self.cx.lend(s).map(|s| Raw::Str(Cow::Borrowed(s))),
            Some(Err(e)) => Err(self.cx.raise(e)),
            None => Err(Unreadable::Unsupported("Python")),
        }
    }

    fn list_len(&self) -> usize {
        // The stored length, as `snapshot` reads it; never a subclass's `__len__`,
        // whose answer could be anything (the core sizes allocations from it).
        if let Ok(l) = self.obj.downcast::<PyList>() {
            l.len()
        } else if let Ok(t) = self.obj.downcast::<PyTuple>() {
            t.len()
        } else {
            0
        }
    }

    fn each_item(&self, f: &mut impl FnMut(usize, Self) -> Result<(), Error>) -> Result<(), Error> {
        let items = match snapshot(&self.obj) {
            Ok(Some(items)) => items,
            Ok(None) => return Ok(()),
            Err(e) => return Err(self.cx.raise(e).at("value")),
        };
        items.iter().enumerate().try_for_each(|(i, item)| f(i, PyInput::new(item, self.cx)))
    }

    fn each_entry(&self, f: &mut impl FnMut(Key<'_>, Self) -> Result<(), Error>) -> Result<(), Error> {
        let Ok(dict) = self.obj.downcast::<PyDict>() else { return Ok(()) };
        // A private copy (see `snapshot`): the caller's dict may change while we read.
        let dict = dict.copy().map_err(|e| self.cx.raise(e).at("value"))?;
        for (key, value) in dict.iter() {
            let key = key.downcast::<PyString>().map_err(|_| Unreadable::NonStringKey);
            f(key.and_then(|k| k.to_str().map_err(|_| Unreadable::InvalidUnicode)), PyInput::new(value, self.cx))?;
        }
        Ok(())
    }
}

/// Reads and validates an event dict with the core's parser; its text borrows
/// from the dict's strings, which `cx` keeps.
pub(crate) fn event_input<'k, 'py>(py: Python<'py>, event: &Bound<'py, PyAny>, cx: &'k Reading<'py>) -> PyResult<EventInput<'k>> {
    if event.downcast::<PyDict>().is_err() {
        return Err(to_py_err(py, &Error::field(ErrorCode::WrongType, "event", "must be a dict")));
    }
    let input = EventInput::from_source(&PyInput::new(event.clone(), cx)).map_err(|e| cx.error(py, &e))?;
    cx.check(input)
}

/// The events of a list, each read by the core's parser (`events[2].value` in errors).
pub(crate) fn events_input<'k, S: Source<'k>>(list: &S) -> Result<Vec<EventInput<'k>>, Error> {
    if !matches!(list.raw(), Ok(Raw::List)) {
        return Err(Error::field(ErrorCode::WrongType, "events", "must be a list of event dicts"));
    }
    let mut inputs = Vec::with_capacity(list.list_len());
    list.each_item(&mut |i, event| {
        inputs.push(EventInput::from_source(&event).map_err(|err| err.within(&format!("events[{i}].")))?);
        Ok(())
    })?;
    Ok(inputs)
}
