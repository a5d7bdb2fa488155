//! Python bindings: the `convtrack._convtrack` extension module. Thin: converts
//! Python values to and from JSON values and calls the core. Exceptions are
//! defined once in `convtrack/errors.py`; `raise_error` maps core codes to them.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use std::borrow::Cow;

use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::input::{Key, Raw, Source, Unreadable};
use convtrack_core::settings::SenderMode;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{EventInput, Settings, Tracker as CoreTracker};

// The result cache in `result_to_py` is protected by the GIL. A free-threaded
// CPython (3.13t) has none, so this module refuses to build there rather than
// building something unsound (abi3 excludes it too, but only by accident).
#[cfg(Py_GIL_DISABLED)]
compile_error!("convtrack's Python module needs the GIL: free-threaded CPython builds are not supported");

/// Deepest nesting accepted from Python (the event schema needs 4).
const MAX_DEPTH: usize = 32;

mod catalog;

/// The Rust side of the extension allocates with mimalloc rather than glibc malloc:
/// `build` makes a few dozen small, short-lived allocations next to 1-2 KB outputs,
/// and glibc then spends ~12% of a `build` call in malloc, free and
/// `malloc_consolidate` (perf, docs/benchmarks.md). Python objects still come from
/// Python's allocator; memory the Rust side allocates is always freed by it.
/// `local_dynamic_tls`: the extension is loaded with dlopen.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Maps a core error to the Python exception class defined in `convtrack.errors`.
fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
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

/// Why reading Python input failed: the core's typed error (naming the path), or
/// an exception raised by Python code that ran during the read (a `Decimal`'s
/// `__str__`, or a signal handler such as gunicorn's or a `KeyboardInterrupt`,
/// which CPython may run inside any C-API call), passed on unchanged.
enum Failure {
    Core(Error),
    Python(PyErr),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl Failure {
    fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Core(e) => to_py_err(py, &e),
            Failure::Python(e) => e,
        }
    }
}

/// Converts a Python value (dict, list, tuple, str, int, float, bool, None,
/// Decimal) to a JSON value; errors name the path (`items[2].price`).
fn py_to_json(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> Result<Value, Failure> {
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

/// A list or tuple as a tuple of its items at this moment (a tuple is returned
/// as it is: it cannot change); `None` for any other object. The reader walks the
/// snapshot, so Python code that runs meanwhile cannot change its length or items.
fn snapshot<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
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
fn decimal_text<'py>(obj: &Bound<'py, PyAny>) -> Option<PyResult<Bound<'py, PyString>>> {
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

/// Python objects for a JSON value: what `json.loads` returns for the same text.
fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    source_to_py(py, &v)
}

/// Python objects (dict, list, str, int, float, bool, None) for any core value
/// source: a `serde_json::Value`, or the core's borrowed JSON tree, from which the
/// payload dict is built without `json.loads` (`build()` with a dict payload:
/// 18.2 µs, 20.5 µs with `json.loads`, measured in one session).
fn source_to_py<'py, 's, S: Source<'s>>(py: Python<'py>, v: &S) -> PyResult<Bound<'py, PyAny>> {
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
fn result_to_py<'py>(py: Python<'py>, r: &convtrack_core::BuildResult, payload_as_text: bool) -> PyResult<Bound<'py, PyAny>> {
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
        Some(p) => match convtrack_core::input::json::Json::parse(p.as_str()) {
            Ok(tree) => source_to_py(py, &&tree)?,
            Err(_) => return Err(to_py_err(py, &Error::general(ErrorCode::Internal, "the payload is not JSON"))),
        },
        None => py.None().into_bound(py),
    };
    d.set_item(pyo3::intern!(py, "payload"), payload)?;
    Ok(d.into_any())
}

/// Does the one-time start-up work now (about 100 ms: phone number metadata) rather
/// than in the first event with a phone number. Idempotent; releases the GIL.
#[pyfunction]
fn warm_up(py: Python<'_>) {
    py.allow_threads(convtrack_core::warm_up);
}

/// Normalizes one customer-data value as Meta expects; `None` means "dropped".
#[pyfunction]
#[pyo3(signature = (field, value, country=None))]
fn normalize(py: Python<'_>, field: &str, value: &str, country: Option<&str>) -> PyResult<Option<String>> {
    convtrack_core::hash::normalize_named(field, value, country).map_err(|e| to_py_err(py, &e))
}

/// Normalizes and SHA-256 hashes one value as sent to Meta; `None` means "dropped".
#[pyfunction]
#[pyo3(signature = (field, value, country=None))]
fn hash(py: Python<'_>, field: &str, value: &str, country: Option<&str>) -> PyResult<Option<String>> {
    convtrack_core::hash::hash_named(field, value, country).map_err(|e| to_py_err(py, &e))
}

/// Order ids are often integers in Python shops: accept them as the JSON input does.
fn order_id_text(py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<String> {
    id_text(py, order_id, "order_id")
}

/// An id given as a string or an integer (`field` names it in the error).
fn id_text(py: Python<'_>, order_id: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
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

/// What one read of Python input shares. `kept`: the `str` objects the parsed
/// event borrows its text from, each held by a strong reference for as long as
/// the event lives (`'k`); Python strings are immutable and their UTF-8 form lives
/// as long as the object, so the event's `&str`s stay valid whatever happens to
/// the caller's dict meanwhile (another thread while `track` has released the GIL,
/// a signal handler run inside a C-API call). `raised`: an exception raised by
/// Python code during the read, re-raised as it is.
struct Reading<'py> {
    kept: typed_arena::Arena<Bound<'py, PyString>>,
    raised: std::cell::RefCell<Option<PyErr>>,
}

impl<'py> Reading<'py> {
    fn new() -> Self {
        Reading { kept: typed_arena::Arena::with_capacity(64), raised: std::cell::RefCell::new(None) }
    }

    /// Keeps `s` for as long as the reading lives and lends its text.
    fn lend(&self, s: Bound<'py, PyString>) -> Result<&str, Unreadable> {
        self.kept.alloc(s).to_str().map_err(|_| Unreadable::InvalidUnicode)
    }

    /// Records a Python exception raised during the read; the read stops with
    /// an error for the value's path, which [`Reading::error`] completes.
    fn raise(&self, e: PyErr) -> Unreadable {
        self.raised.borrow_mut().get_or_insert(e);
        Unreadable::Unconvertible
    }

    /// A read that succeeded although Python code raised during it (a parser
    /// that skips a value it cannot use): the exception still comes out.
    fn check<T>(&self, read: T) -> PyResult<T> {
        match self.raised.borrow_mut().take() {
            Some(raised) => Err(raised),
            None => Ok(read),
        }
    }

    /// The exception to raise for a failed read (see [`failure`]).
    fn error(&self, py: Python<'_>, e: &Error) -> PyErr {
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
fn failure(py: Python<'_>, raised: PyErr, e: &Error) -> Failure {
    if !raised.is_instance_of::<pyo3::exceptions::PyException>(py) {
        return Failure::Python(raised);
    }
    let err = to_py_err(py, e);
    err.set_cause(py, Some(raised));
    Failure::Python(err)
}

/// A Python value read in place by the core's event parser
/// ([`convtrack_core::input::Source`]): no JSON value is built in between.
/// Every object is held by a strong reference (`Bound`) while it is read, and
/// containers are read from a private snapshot (a dict's shallow copy, a list's
/// tuple), so nothing this reader looks at can be freed or resized by Python code
/// that runs during the read. No borrowed pointer, no `unsafe`.
#[derive(Clone)]
struct PyInput<'k, 'py> {
    obj: Bound<'py, PyAny>,
    cx: &'k Reading<'py>,
}

impl<'k, 'py> PyInput<'k, 'py> {
    fn new(obj: Bound<'py, PyAny>, cx: &'k Reading<'py>) -> Self {
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
fn event_input<'k, 'py>(py: Python<'py>, event: &Bound<'py, PyAny>, cx: &'k Reading<'py>) -> PyResult<EventInput<'k>> {
    if event.downcast::<PyDict>().is_err() {
        return Err(to_py_err(py, &Error::field(ErrorCode::WrongType, "event", "must be a dict")));
    }
    let input = EventInput::from_source(&PyInput::new(event.clone(), cx)).map_err(|e| cx.error(py, &e))?;
    cx.check(input)
}

/// The events of a list, each read by the core's parser (`events[2].value` in errors).
fn events_input<'k, S: Source<'k>>(list: &S) -> Result<Vec<EventInput<'k>>, Error> {
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

/// The deterministic event id of an event with an order.
#[pyfunction]
fn event_id(py: Python<'_>, pixel_id: &str, event_name: &str, order_id: &Bound<'_, PyAny>) -> PyResult<String> {
    let order = order_id_text(py, order_id)?;
    convtrack_core::dedup::event_id_checked(pixel_id, event_name, &order).map_err(|e| to_py_err(py, &e))
}

/// The tracker for one merchant. Immutable; safe to share between threads.
#[pyclass(frozen, module = "convtrack._convtrack")]
struct Tracker {
    inner: CoreTracker,
}

impl Drop for Tracker {
    /// A tracker dropped without `close()` still stops its sender thread, with the GIL
    /// released: the thread may be waiting for the GIL to log through Python `logging`.
    fn drop(&mut self) {
        let inner = &self.inner;
        Python::with_gil(|py| py.allow_threads(|| inner.close()));
    }
}

impl Tracker {
    /// The shared body of `build` (pure, keeps the GIL: microseconds) and `track`
    /// (durable enqueue: releases the GIL around the disk write).
    fn run<'py>(
        &self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
        options: BuildOptions,
        track: bool,
        payload: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let payload_as_text = match payload {
            "dict" => false,
            "json" => true,
            _ => return Err(to_py_err(py, &Error::field(ErrorCode::InvalidArgument, "payload", "must be \"dict\" or \"json\""))),
        };
        let inner = &self.inner;
        let cx = Reading::new();
        let input = event_input(py, event, &cx)?;
        let result = if track { py.allow_threads(|| inner.track(&input, &options)) } else { inner.build(&input, &options) }
            .map_err(|e| to_py_err(py, &e))?;
        result_to_py(py, &result, payload_as_text)
    }
}

#[pymethods]
impl Tracker {
    #[new]
    #[pyo3(signature = (settings=None, **kwargs))]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyAny>>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut map = Map::new();
        let mut merge = |obj: &Bound<'_, PyAny>| -> Result<(), Failure> {
            match py_to_json(obj, "", 0)? {
                Value::Object(m) => {
                    map.extend(m);
                    Ok(())
                }
                _ => Err(Error::setting("settings", "must be a dict").into()),
            }
        };
        if let Some(s) = settings {
            merge(s).map_err(|e| e.into_py(py))?;
        }
        if let Some(k) = kwargs {
            merge(k.as_any()).map_err(|e| e.into_py(py))?;
        }
        // Python processes are long-lived: deliver from a background thread unless told otherwise.
        map.entry("sender").or_insert_with(|| Value::from("thread"));
        let settings = Settings::from_value(&Value::Object(map)).map_err(|e| to_py_err(py, &e))?;
        if settings.sender == SenderMode::Celery && py.import("convtrack.celery").is_err() {
            let e = Error::setting("sender", "\"celery\" needs Celery: pip install 'convtrack[celery]'");
            return Err(to_py_err(py, &e));
        }
        let tracker = py.allow_threads(|| CoreTracker::open(settings)).map_err(|e| to_py_err(py, &e))?;
        Ok(Tracker { inner: tracker })
    }

    /// Builds one event (pure, no I/O): returns a dict with `event_id`, `server`,
    /// `reason`, `pixel`, `pixel_html` and `payload` (a dict, or with `payload="json"`
    /// the JSON text exactly as it would be sent, which skips building Python objects).
    /// `server_only=True` skips the pixel snippet (`pixel_html` is `""`): for events no
    /// page renders, such as a payment provider's webhook.
    // One Rust argument per Python keyword argument: the signature is the Python API.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (event, *, now=None, nonce=None, script_src=None, payload="dict", server_only=false))]
    fn build<'py>(
        &self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
        now: Option<i64>,
        nonce: Option<String>,
        script_src: Option<String>,
        payload: &str,
        server_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run(py, event, BuildOptions { now, nonce, script_src, server_only }, false, payload)
    }

    /// `build` plus a durable enqueue (needs `outbox_path`): `server` is `queued`,
    /// `duplicate` or `blocked`. No network I/O on the calling thread.
    /// With `sender="celery"`, a queued event is then handed to Celery
    /// (`convtrack.celery.handoff_after_track`); if the broker is down it stays queued.
    // One Rust argument per Python keyword argument: the signature is the Python API.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (event, *, now=None, nonce=None, script_src=None, payload="dict", server_only=false))]
    fn track<'py>(
        slf: &Bound<'py, Self>,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
        now: Option<i64>,
        nonce: Option<String>,
        script_src: Option<String>,
        payload: &str,
        server_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let result = this.run(py, event, BuildOptions { now, nonce, script_src, server_only }, true, payload)?;
        if this.inner.settings().sender == SenderMode::Celery {
            let queued = result.get_item("server").ok().is_some_and(|s| s.eq("queued").unwrap_or(false));
            if queued {
                // The event is stored durably: a failing hand-off must not fail the checkout.
                let hook = py.import("convtrack.celery").and_then(|m| m.call_method1("handoff_after_track", (slf,)));
                if let Err(e) = hook {
                    let kind = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
                    let msg = format!("convtrack: hand-off to Celery failed ({kind}); the event stays queued");
                    let _ = py
                        .import("logging")
                        .and_then(|l| l.call_method1("getLogger", ("convtrack.celery",))?.call_method1("warning", (msg,)));
                }
            }
        }
        Ok(result)
    }

    /// Celery hand-off, step 1: leases up to `limit` stored events for `lease_seconds`.
    /// Each item: `id`, `event_name`, `event_id`, `event_time`, `attempts`, `payload` (JSON text, hashed).
    #[pyo3(signature = (limit=100, lease_seconds=30.0))]
    fn claim_handoff<'py>(&self, py: Python<'py>, limit: usize, lease_seconds: f64) -> PyResult<Bound<'py, PyList>> {
        if !lease_seconds.is_finite() || lease_seconds <= 0.0 {
            return Err(to_py_err(
                py,
                &Error::field(ErrorCode::InvalidArgument, "lease_seconds", "must be a finite number of seconds > 0"),
            ));
        }
        let inner = &self.inner;
        let lease_ms = (lease_seconds.min(86_400.0) * 1000.0) as i64;
        let rows = py.allow_threads(|| inner.claim_handoff(limit, lease_ms)).map_err(|e| to_py_err(py, &e))?;
        let list = PyList::empty(py);
        for r in rows {
            let d = PyDict::new(py);
            d.set_item("id", r.id)?;
            d.set_item("event_name", r.event_name)?;
            d.set_item("event_id", r.event_id)?;
            d.set_item("event_time", r.event_time)?;
            d.set_item("attempts", r.attempts)?;
            d.set_item("payload", r.payload)?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// Celery hand-off, step 2: the broker accepted these events (ids from `claim_handoff`).
    fn ack_handoff(&self, py: Python<'_>, ids: Vec<i64>) -> PyResult<()> {
        let inner = &self.inner;
        py.allow_threads(|| inner.ack_handoff(&ids)).map_err(|e| to_py_err(py, &e))
    }

    /// Celery hand-off failed: these events stay queued for a later hand-off or flush.
    fn release_handoff(&self, py: Python<'_>, ids: Vec<i64>) -> PyResult<()> {
        let inner = &self.inner;
        py.allow_threads(|| inner.release_handoff(&ids)).map_err(|e| to_py_err(py, &e))
    }

    /// Celery worker: sends one prepared event (JSON text from the broker) once. Returns
    /// `outcome` (`sent`, `retry`, `invalid`, `paused`, `expired`), `retry_in_ms`, `code`,
    /// `subcode`, `reason`, `fbtrace_id`, `event_id`, `requests`. The GIL is released.
    #[pyo3(signature = (payload, attempts=0))]
    fn send_prepared<'py>(&self, py: Python<'py>, payload: &Bound<'py, PyAny>, attempts: u32) -> PyResult<Bound<'py, PyAny>> {
        let text = payload
            .downcast::<PyString>()
            .map_err(|_| to_py_err(py, &Error::field(ErrorCode::WrongType, "payload", "must be a str (the event's JSON text)")))?
            .to_cow()
            .map_err(|_| to_py_err(py, &Error::field(ErrorCode::InvalidUtf8, "payload", "is not valid Unicode (lone surrogate)")))?
            .into_owned();
        let inner = &self.inner;
        let shot = py.allow_threads(|| inner.send_prepared(&text, attempts)).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &shot.to_json())
    }

    /// One pixel snippet for every event of a page (base code and page view once, one
    /// `track` call per event, the same event ids as `build`). Pure, no I/O.
    #[pyo3(signature = (events, *, now=None, nonce=None, script_src=None))]
    fn page_snippet(
        &self,
        py: Python<'_>,
        events: &Bound<'_, PyAny>,
        now: Option<i64>,
        nonce: Option<String>,
        script_src: Option<String>,
    ) -> PyResult<String> {
        // Each event is read in place by the core's parser, as in `build`.
        let cx = Reading::new();
        let inputs = events_input(&PyInput::new(events.clone(), &cx)).map_err(|e| cx.error(py, &e))?;
        let inputs = cx.check(inputs)?;
        self.inner.page_snippet(&inputs, &BuildOptions { now, nonce, script_src, server_only: false }).map_err(|e| to_py_err(py, &e))
    }

    /// Delivers queued events now, waiting at most `timeout` seconds (the GIL is released).
    #[pyo3(signature = (timeout=10.0))]
    fn flush<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        if !timeout.is_finite() || timeout < 0.0 {
            return Err(to_py_err(py, &Error::field(ErrorCode::InvalidArgument, "timeout", "must be a finite number of seconds >= 0")));
        }
        let inner = &self.inner;
        let report =
            py.allow_threads(|| inner.flush(std::time::Duration::from_secs_f64(timeout.min(86_400.0)))).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &report.to_json())
    }

    /// Status (pixel, catalog, mode, data controls, queue, counters, last error, coverage).
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = &self.inner;
        let status = py.allow_threads(|| inner.status()).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &status)
    }

    /// Drops a queued order event whose consent was revoked; returns whether one was queued.
    #[pyo3(signature = (order_id, event_name="Purchase"))]
    fn revoke_order(&self, py: Python<'_>, order_id: &Bound<'_, PyAny>, event_name: &str) -> PyResult<bool> {
        let order = order_id_text(py, order_id)?;
        self.inner.revoke_order(event_name, &order).map_err(|e| to_py_err(py, &e))
    }

    /// Queues a product create/update for the catalog (live catalog updates; needs
    /// `catalog_id`, `access_token`, `outbox_path`). Returns `{"retailer_id", "method",
    /// "coalesced", "queued"}`; the sender posts it to the catalog's items_batch edge.
    fn catalog_update<'py>(&self, py: Python<'py>, product: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let value = py_to_json(product, "product", 0).map_err(|e| e.into_py(py))?;
        let inner = &self.inner;
        let change = py.allow_threads(|| inner.catalog_update(&value)).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &change.to_json())
    }

    /// Queues the removal of a product from the catalog, by its catalog id.
    fn catalog_delete<'py>(&self, py: Python<'py>, product_id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = id_text(py, product_id, "product_id")?;
        let inner = &self.inner;
        let change = py.allow_threads(|| inner.catalog_delete(&id)).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &change.to_json())
    }

    /// Resumes delivery paused by a permission error (a new token resumes by itself).
    fn resume(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.resume().map_err(|e| to_py_err(py, &e))
    }

    /// Stops the background sender; queued events stay in the outbox. Idempotent.
    fn close(&self, py: Python<'_>) {
        let inner = &self.inner;
        py.allow_threads(|| inner.close());
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// Writes a catalog feed with this merchant's `content_id` mapping and
    /// records it for `status()["catalog"]` (see `convtrack.export_feed`).
    #[pyo3(signature = (products, dst, *, format="xml", on_error=None, on_progress=None, max_errors=100))]
    #[allow(clippy::too_many_arguments)]
    fn export_feed<'py>(
        &self,
        py: Python<'py>,
        products: &Bound<'py, PyAny>,
        dst: &Bound<'py, PyAny>,
        format: &str,
        on_error: Option<Py<PyAny>>,
        on_progress: Option<Py<PyAny>>,
        max_errors: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = catalog::FeedArgs {
            products,
            dst: Some(dst),
            format,
            content_id: None,
            channel_title: None,
            on_error,
            on_progress,
            max_errors,
        };
        Ok(catalog::export(py, Some(&self.inner), args)?.1)
    }

    /// The feed as a string, and the report (recorded for `status()`).
    #[pyo3(signature = (products, *, format="xml", on_error=None, max_errors=100))]
    fn export_feed_string<'py>(
        &self,
        py: Python<'py>,
        products: &Bound<'py, PyAny>,
        format: &str,
        on_error: Option<Py<PyAny>>,
        max_errors: usize,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let args = catalog::FeedArgs {
            products,
            dst: None,
            format,
            content_id: None,
            channel_title: None,
            on_error,
            on_progress: None,
            max_errors,
        };
        let (text, report) = catalog::export(py, Some(&self.inner), args)?;
        PyTuple::new(py, [PyString::new(py, &text.unwrap_or_default()).into_any(), report])
    }

    /// Event items whose content id (under this merchant's mapping) is not in the catalog.
    #[pyo3(signature = (events, products, *, max_details=100))]
    fn check_catalog<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
        products: &Bound<'py, PyAny>,
        max_details: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        catalog::check(py, Some(&self.inner), events, products, None, max_details)
    }

    /// The settings, with the access token redacted.
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.settings().to_public_json())
    }

    fn __repr__(&self) -> String {
        let s = self.inner.settings();
        format!(
            "Tracker(pixel_id={:?}, data_controls={}, mode={:?}, access_token={})",
            s.pixel_id,
            if s.data_controls { "True" } else { "False" },
            s.mode.as_str(),
            if s.access_token.is_some() { "'<redacted>'" } else { "None" }
        )
    }
}

#[pymodule]
fn _convtrack(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust `log` records go to Python's `logging` (logger names start with "convtrack").
    // They never carry personal data or the token. Ignore a second initialisation.
    let _ = pyo3_log::try_init();
    m.add("__version__", convtrack_core::VERSION)?;
    m.add_function(wrap_pyfunction!(warm_up, m)?)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(hash, m)?)?;
    m.add_function(wrap_pyfunction!(event_id, m)?)?;
    m.add_class::<Tracker>()?;
    m.add_function(wrap_pyfunction!(catalog::export_feed, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::export_feed_string, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::check_catalog, m)?)?;
    Ok(())
}
