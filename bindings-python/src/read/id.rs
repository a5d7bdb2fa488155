//! Ids given as a string or an integer (order ids, product ids).

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};

use convtrack_core::error::{Error, ErrorCode};

use crate::errors::to_py_err;

/// Order ids are often integers in Python shops: accept them as the JSON input does.
pub(crate) fn order_id_text(py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<String> {
    id_text(py, order_id, "order_id")
}

/// An id given as a string or an integer (`field` names it in the error).
pub(crate) fn id_text(py: Python<'_>, order_id: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    let wrong = || to_py_err(py, &Error::field(ErrorCode::WrongType, field, "must be a string or an integer"));
    if order_id.downcast::<PyBool>().is_ok() {
        return Err(wrong());
    }
    if let Ok(i) = order_id.downcast::<PyInt>() {
        return Ok(i.to_string());
    }
    match order_id.downcast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(wrong()),
    }
}
