//! What one read of Python input shares, and what its failures become.

use pyo3::prelude::*;
use pyo3::types::PyString;

use convtrack_core::error::Error;
use convtrack_core::event::Unreadable;

use crate::errors::to_py_err;

/// Why reading Python input failed: the core's typed error (naming the path), or
/// an exception raised by Python code that ran during the read (a `Decimal`'s
/// `__str__`, or a signal handler such as gunicorn's or a `KeyboardInterrupt`,
/// which CPython may run inside any C-API call), passed on unchanged.
pub(crate) enum Failure {
    Core(Error),
    Python(PyErr),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl Failure {
    pub(crate) fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Core(e) => to_py_err(py, &e),
            Failure::Python(e) => e,
        }
    }
}

/// What one read of Python input shares. `kept`: the `str` objects the parsed
/// event borrows its text from, each held by a strong reference for as long as
/// the event lives (`'k`); Python strings are immutable and their UTF-8 form lives
/// as long as the object, so the event's `&str`s stay valid whatever happens to
/// the caller's dict meanwhile (another thread while `track` has released the GIL,
/// a signal handler run inside a C-API call). `raised`: an exception raised by
/// Python code during the read, re-raised as it is.
pub(crate) struct Reading<'py> {
    kept: typed_arena::Arena<Bound<'py, PyString>>,
    raised: std::cell::RefCell<Option<PyErr>>,
}

impl<'py> Reading<'py> {
    pub(crate) fn new() -> Self {
        Reading { kept: typed_arena::Arena::with_capacity(64), raised: std::cell::RefCell::new(None) }
    }

    /// Keeps `s` for as long as the reading lives and lends its text.
    pub(crate) fn lend(&self, s: Bound<'py, PyString>) -> Result<&str, Unreadable> {
        self.kept.alloc(s).to_str().map_err(|_| Unreadable::InvalidUnicode)
    }

    /// Records a Python exception raised during the read; the read stops with
    /// an error for the value's path, which [`Reading::error`] completes.
    pub(crate) fn raise(&self, e: PyErr) -> Unreadable {
        self.raised.borrow_mut().get_or_insert(e);
        Unreadable::Unconvertible
    }

    /// A read that succeeded although Python code raised during it (a parser
    /// that skips a value it cannot use): the exception still comes out.
    pub(crate) fn check<T>(&self, read: T) -> PyResult<T> {
        match self.raised.borrow_mut().take() {
            Some(raised) => Err(raised),
            None => Ok(read),
        }
    }

    /// The exception to raise for a failed read (see [`failure`]).
    pub(crate) fn error(&self, py: Python<'_>, e: &Error) -> PyErr {
        match self.raised.borrow_mut().take() {
            Some(raised) => failure(py, raised, e).into_py(py),
            None => to_py_err(py, e),
        }
    }
}

/// What a Python exception raised while reading a value becomes. An `Exception`
/// (a `Decimal` subclass whose `__str__` fails) is bad input: the convtrack
/// error `e` naming the value's path, with the exception as its `__cause__`.
/// Anything else (`KeyboardInterrupt` from a signal handler, `SystemExit`) is
/// not about the input and is passed on unchanged.
pub(crate) fn failure(py: Python<'_>, raised: PyErr, e: &Error) -> Failure {
    if !raised.is_instance_of::<pyo3::exceptions::PyException>(py) {
        return Failure::Python(raised);
    }
    let err = to_py_err(py, e);
    err.set_cause(py, Some(raised));
    Failure::Python(err)
}
