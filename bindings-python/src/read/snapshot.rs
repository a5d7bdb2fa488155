//! Private copies of Python containers and the text of `Decimal`s: the two reads
//! during which Python code may run or a container may change.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

/// A list or tuple as a tuple of its items at this moment (a tuple is returned
/// as it is: it cannot change); `None` for any other object. The reader walks the
/// snapshot, so Python code that runs meanwhile cannot change its length or items.
pub(crate) fn snapshot<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return Ok(Some(t.clone()));
    }
    match obj.downcast::<PyList>() {
        Ok(l) => Ok(Some(l.to_tuple())),
        Err(_) => Ok(None),
    }
}

/// The exact text of a `decimal.Decimal` (money in most Python shops; the core
/// validates it), of a subclass, or of any class named `Decimal` (`_pydecimal`'s);
/// `None` for any other object. Runs the object's `__str__`, which may run any
/// Python code: the callers hold a reference to everything they still read.
pub(crate) fn decimal_text<'py>(obj: &Bound<'py, PyAny>) -> Option<PyResult<Bound<'py, PyString>>> {
    let py = obj.py();
    let c_decimal = C_DECIMAL.get_or_init(py, || {
        let t = py.import("_decimal").and_then(|m| m.getattr("Decimal")).ok();
        t.and_then(|t| t.downcast_into::<pyo3::types::PyType>().ok()).map(Bound::unbind)
    });
    let is_decimal = obj.get_type().name().is_ok_and(|n| n == "Decimal")
        || c_decimal.as_ref().is_some_and(|t| obj.is_instance(t.bind(py)).unwrap_or(false));
    is_decimal.then(|| obj.str())
}

/// The C implementation of `decimal.Decimal`, looked up once (`None` for a
/// Python built without `_decimal`).
static C_DECIMAL: pyo3::sync::GILOnceCell<Option<Py<pyo3::types::PyType>>> = pyo3::sync::GILOnceCell::new();
