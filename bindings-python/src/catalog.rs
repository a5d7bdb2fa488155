//! Python faces of the catalog feed: thin adapters from Python sources
//! (a path, or any iterable of JSON-line strings/bytes or dicts) and
//! destinations (a path, written atomically; a binary or text file object; a
//! string) to the core's streaming export. The GIL is released during the
//! export and re-taken only to pull the next Python item, write to a Python
//! file object, or call a hook.

use std::fs::File;
use std::io::{BufReader, Write};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyString, PyTuple};

use convtrack_core::catalog::feed::MAX_LINE_BYTES;
use convtrack_core::catalog::{
    self, CheckOptions, ContentIdField, ExportHooks, ExportOptions, FeedFormat, Lines, ProductError, Record, RecordSource,
};
use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::Tracker as CoreTracker;

use crate::convert::json_to_py;
use crate::errors::to_py_err;
use crate::read::{py_to_json, Failure};

/// The first Python exception raised by an iterator, file object or hook; re-raised after the export.
type Stash = Arc<Mutex<Option<PyErr>>>;

fn stash(st: &Stash, e: PyErr, what: &str) -> Error {
    if let Ok(mut g) = st.lock() {
        if g.is_none() {
            *g = Some(e);
        }
    }
    Error::general(ErrorCode::Internal, format!("{what} raised an exception"))
}

/// Records from a Python iterator.
struct PyRecords {
    iter: Py<PyIterator>,
    stash: Stash,
}

fn push_line(raw: &[u8], buf: &mut Vec<u8>) -> Record {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.len() > MAX_LINE_BYTES {
        return Record::Line { too_long: true };
    }
    buf.extend_from_slice(raw);
    Record::Line { too_long: false }
}

impl RecordSource for PyRecords {
    fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<Option<Record>, Error> {
        Python::with_gil(|py| {
            let mut it = self.iter.bind(py).clone();
            let item = match it.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(stash(&self.stash, e, "the products iterable")),
                Some(Ok(item)) => item,
            };
            if let Ok(s) = item.downcast::<PyString>() {
                return Ok(Some(match s.to_cow() {
                    Ok(text) => push_line(text.as_bytes(), buf),
                    Err(_) => Record::Invalid(Error::field(ErrorCode::InvalidUtf8, "line", "is not valid Unicode (lone surrogate)")),
                }));
            }
            if let Ok(b) = item.downcast::<PyBytes>() {
                return Ok(Some(push_line(b.as_bytes(), buf)));
            }
            Ok(Some(match py_to_json(&item, "", 0) {
                Ok(v) => Record::Value(v),
                Err(Failure::Core(e)) => Record::Invalid(e),
                // Python's own exception (a KeyboardInterrupt, say) ends the export.
                Err(Failure::Python(e)) => return Err(stash(&self.stash, e, "a product")),
            }))
        })
    }
}

enum Source {
    File(Lines<BufReader<File>>),
    Py(PyRecords),
}

impl RecordSource for Source {
    fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<Option<Record>, Error> {
        match self {
            Source::File(f) => f.next_record(buf),
            Source::Py(p) => p.next_record(buf),
        }
    }
}

/// A path (`str` or `os.PathLike`), else `None`.
fn as_path(obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        let p = obj.py().import("os")?.call_method1("fspath", (obj,))?;
        if let Ok(s) = p.downcast::<PyString>() {
            return Ok(Some(s.to_cow()?.into_owned()));
        }
        return Err(to_py_err(obj.py(), &Error::field(ErrorCode::InvalidArgument, "path", "must be a str path")));
    }
    Ok(None)
}

fn open_source(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str, st: &Stash) -> PyResult<Source> {
    if let Some(path) = as_path(obj)? {
        return Ok(Source::File(catalog::open_lines(&path, what).map_err(|e| to_py_err(py, &e))?));
    }
    if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<pyo3::types::PyByteArray>() {
        return Err(to_py_err(
            py,
            &Error::field(ErrorCode::WrongType, what, "must be a path or an iterable of lines, not bytes (use io.BytesIO(data))"),
        ));
    }
    if obj.is_instance_of::<pyo3::types::PyDict>() {
        return Err(to_py_err(
            py,
            &Error::field(ErrorCode::WrongType, what, "must be an iterable of products, not one product dict (wrap it in a list)"),
        ));
    }
    let iter = PyIterator::from_object(obj)
        .map_err(|_| to_py_err(py, &Error::field(ErrorCode::WrongType, what, "must be a path or an iterable of JSON lines or dicts")))?;
    Ok(Source::Py(PyRecords { iter: iter.unbind(), stash: Arc::clone(st) }))
}

/// A Python file object. Text streams get whole UTF-8 characters only.
struct PyWriter {
    obj: Py<PyAny>,
    text: bool,
    pending: Vec<u8>,
    stash: Stash,
}

impl PyWriter {
    fn io_err(&self, e: PyErr) -> std::io::Error {
        let _ = stash(&self.stash, e, "the destination file object");
        std::io::Error::other("destination write failed")
    }
}

impl Write for PyWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        Python::with_gil(|py| {
            let obj = self.obj.bind(py);
            let r = if self.text {
                self.pending.extend_from_slice(data);
                let valid = match std::str::from_utf8(&self.pending) {
                    Ok(s) => s.len(),
                    Err(e) => e.valid_up_to(),
                };
                let text = std::str::from_utf8(&self.pending[..valid]).unwrap_or("");
                let r = obj.call_method1("write", (PyString::new(py, text),));
                self.pending.drain(..valid);
                r
            } else {
                obj.call_method1("write", (PyBytes::new(py, data),))
            };
            r.map(|_| data.len()).map_err(|e| self.io_err(e))
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Dest {
    Path(String),
    Py(Py<PyAny>, bool),
    Memory,
}

/// Everything a feed export needs from Python.
pub(crate) struct FeedArgs<'a, 'py> {
    pub products: &'a Bound<'py, PyAny>,
    pub dst: Option<&'a Bound<'py, PyAny>>,
    pub format: &'a str,
    pub content_id: Option<&'a str>,
    pub channel_title: Option<String>,
    pub on_error: Option<Py<PyAny>>,
    pub on_progress: Option<Py<PyAny>>,
    pub max_errors: usize,
}

fn arg_err(py: Python<'_>, field: &str, reason: &str) -> PyErr {
    to_py_err(py, &Error::field(ErrorCode::InvalidArgument, field, reason))
}

/// Runs an export; returns the feed text when there is no destination, and the report.
pub(crate) fn export<'py>(
    py: Python<'py>,
    tracker: Option<&CoreTracker>,
    a: FeedArgs<'_, 'py>,
) -> PyResult<(Option<String>, Bound<'py, PyAny>)> {
    let format = FeedFormat::parse(a.format).map_err(|e| to_py_err(py, &e))?;
    let mut opts = match tracker {
        Some(t) => t.export_options(format),
        None => ExportOptions { format, ..ExportOptions::default() },
    };
    if let Some(c) = a.content_id {
        opts.content_id = ContentIdField::parse(c).ok_or_else(|| arg_err(py, "content_id", "must be \"id\", \"sku\" or \"variant_id\""))?;
    }
    if let Some(t) = a.channel_title {
        opts.channel_title = t;
    }
    opts.max_error_details = a.max_errors;
    let st: Stash = Arc::default();
    let mut source = open_source(py, a.products, "products", &st)?;
    let dest = match a.dst {
        None => Dest::Memory,
        Some(d) => match as_path(d)? {
            Some(p) => Dest::Path(p),
            None => {
                if !d.hasattr("write")? {
                    return Err(arg_err(py, "dst", "must be a path or a file object with write()"));
                }
                let text = d.is_instance(&py.import("io")?.getattr("TextIOBase")?)?;
                Dest::Py(d.clone().unbind(), text)
            }
        },
    };
    let on_error = a.on_error;
    let on_progress = a.on_progress;
    let st2 = Arc::clone(&st);
    let outcome = py.allow_threads(move || -> Result<(Option<Vec<u8>>, catalog::ExportReport), Error> {
        let mut err_cb = |e: &ProductError| -> Result<(), Error> {
            let Some(cb) = on_error.as_ref() else { return Ok(()) };
            Python::with_gil(|py| {
                let arg = json_to_py(py, &e.to_json())?;
                cb.bind(py).call1((arg,)).map(|_| ())
            })
            .map_err(|e| stash(&st2, e, "on_error"))
        };
        let mut progress_cb = |lines: u64, bytes: u64, written: u64| -> Result<(), Error> {
            let Some(cb) = on_progress.as_ref() else { return Ok(()) };
            Python::with_gil(|py| cb.bind(py).call1((lines, bytes, written)).map(|_| ())).map_err(|e| stash(&st2, e, "on_progress"))
        };
        let mut hooks = ExportHooks { on_error: Some(&mut err_cb), on_progress: Some(&mut progress_cb) };
        let mut run = |out: &mut dyn Write| match tracker {
            Some(t) => t.export_records(&mut source, out, &opts, &mut hooks),
            None => catalog::export_records(&mut source, out, &opts, &mut hooks),
        };
        match dest {
            Dest::Memory => {
                let mut buf = Vec::new();
                let report = run(&mut buf)?;
                Ok((Some(buf), report))
            }
            Dest::Path(p) => Ok((None, catalog::write_file_atomically(&p, |f| run(f))?)),
            Dest::Py(obj, text) => {
                let mut w = PyWriter { obj, text, pending: Vec::new(), stash: Arc::clone(&st2) };
                let report = run(&mut w)?;
                Ok((None, report))
            }
        }
    });
    if let Some(e) = st.lock().ok().and_then(|mut g| g.take()) {
        return Err(e);
    }
    let (buf, report) = outcome.map_err(|e| to_py_err(py, &e))?;
    let text = buf.map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok((text, json_to_py(py, &report.to_json())?))
}

/// Checks event items against products (paths or iterables of lines/dicts).
pub(crate) fn check<'py>(
    py: Python<'py>,
    tracker: Option<&CoreTracker>,
    events: &Bound<'py, PyAny>,
    products: &Bound<'py, PyAny>,
    content_id: Option<&str>,
    max_details: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let mut opts = CheckOptions { content_id: tracker.map(|t| t.settings().content_id).unwrap_or_default(), max_details };
    if let Some(c) = content_id {
        opts.content_id = ContentIdField::parse(c).ok_or_else(|| arg_err(py, "content_id", "must be \"id\", \"sku\" or \"variant_id\""))?;
    }
    let st: Stash = Arc::default();
    let mut ev = open_source(py, events, "events", &st)?;
    let mut pr = open_source(py, products, "products", &st)?;
    let outcome = py.allow_threads(|| catalog::check_records(&mut ev, &mut pr, &opts));
    if let Some(e) = st.lock().ok().and_then(|mut g| g.take()) {
        return Err(e);
    }
    let report = outcome.map_err(|e| to_py_err(py, &e))?;
    json_to_py(py, &report.to_json())
}

/// Writes a feed of `products` (a path, or an iterable of JSON lines or dicts) to
/// `dst` (a path, replaced atomically, or a file object); returns the report.
#[pyfunction]
#[pyo3(signature = (products, dst, *, format="xml", content_id="id", channel_title=None, on_error=None, on_progress=None, max_errors=100))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn export_feed<'py>(
    py: Python<'py>,
    products: &Bound<'py, PyAny>,
    dst: &Bound<'py, PyAny>,
    format: &str,
    content_id: &str,
    channel_title: Option<String>,
    on_error: Option<Py<PyAny>>,
    on_progress: Option<Py<PyAny>>,
    max_errors: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let args =
        FeedArgs { products, dst: Some(dst), format, content_id: Some(content_id), channel_title, on_error, on_progress, max_errors };
    Ok(export(py, None, args)?.1)
}

/// The feed as a string, and the report.
#[pyfunction]
#[pyo3(signature = (products, *, format="xml", content_id="id", channel_title=None, on_error=None, max_errors=100))]
pub(crate) fn export_feed_string<'py>(
    py: Python<'py>,
    products: &Bound<'py, PyAny>,
    format: &str,
    content_id: &str,
    channel_title: Option<String>,
    on_error: Option<Py<PyAny>>,
    max_errors: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let args =
        FeedArgs { products, dst: None, format, content_id: Some(content_id), channel_title, on_error, on_progress: None, max_errors };
    let (text, report) = export(py, None, args)?;
    PyTuple::new(py, [PyString::new(py, &text.unwrap_or_default()).into_any(), report])
}

/// Reports event items whose content id is not in the catalog.
#[pyfunction]
#[pyo3(signature = (events, products, *, content_id="id", max_details=100))]
pub(crate) fn check_catalog<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    products: &Bound<'py, PyAny>,
    content_id: &str,
    max_details: usize,
) -> PyResult<Bound<'py, PyAny>> {
    check(py, None, events, products, Some(content_id), max_details)
}
