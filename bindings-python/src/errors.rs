//! Core errors as Python exceptions. The classes are defined once, in
//! `convtrack/errors.py`; which class a code raises is the core's table
//! (`ErrorCode::python_class`), which `_error_table()` exposes so that a test can
//! check `convtrack.errors` against it.

use pyo3::prelude::*;

use convtrack_core::error::{Error, ErrorCode};

/// Maps a core error to the Python exception class defined in `convtrack.errors`.
pub(crate) fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("convtrack.errors")?;
        let class = module.getattr(e.code().python_class())?;
        let exc = class.call1((e.to_string(), e.code().as_u32(), e.code().name(), e.field_name()))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}

/// The core's error table: `(code, code_name, class_name)` for every code, the
/// class being the one of `convtrack.errors` raised for it. For tests.
#[pyfunction(name = "_error_table")]
pub(crate) fn error_table() -> Vec<(u32, &'static str, &'static str)> {
    ErrorCode::ALL.iter().map(|c| (c.as_u32(), c.name(), c.python_class())).collect()
}
