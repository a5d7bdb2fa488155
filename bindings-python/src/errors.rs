//! Core errors as Python exceptions. The classes are defined once, in
//! `convtrack/errors.py`; this module only looks them up and raises them.

use pyo3::prelude::*;

use convtrack_core::error::{Error, ErrorCode};

/// Maps a core error to the Python exception class defined in `convtrack.errors`.
pub(crate) fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let class_name = match e.code() {
        ErrorCode::InvalidSetting => "SettingsError",
        ErrorCode::InvalidJson => "InvalidJsonError",
        ErrorCode::UnknownField => "UnknownFieldError",
        ErrorCode::WrongType => "WrongTypeError",
        ErrorCode::MissingField => "MissingFieldError",
        ErrorCode::InvalidValue => "InvalidValueError",
        ErrorCode::TooLarge => "TooLargeError",
        ErrorCode::EventTimeOutOfRange => "EventTimeError",
        ErrorCode::InvalidArgument | ErrorCode::InvalidUtf8 | ErrorCode::NullPointer => "InvalidArgumentError",
        ErrorCode::Storage => "StorageError",
        ErrorCode::NotConfigured => "NotConfiguredError",
        _ => "InternalError",
    };
    let build = || -> PyResult<PyErr> {
        let module = py.import("convtrack.errors")?;
        let class = module.getattr(class_name)?;
        let exc = class.call1((e.to_string(), e.code().as_u32(), e.code().name(), e.field_name()))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}
