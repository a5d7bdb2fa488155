//! Python bindings: the `convtrack._convtrack` extension module. Thin: converts
//! Python values to and from JSON values and calls the core. Exceptions are
//! defined once in `convtrack/errors.py`; `errors::to_py_err` maps core codes to them.
//!
//! - `tracker`: the `Tracker` class;
//! - `functions`: `warm_up`, `normalize`, `hash`, `event_id`;
//! - `catalog`: the catalog feed export and check (functions and `Tracker` methods);
//! - `cookies`: `first_party_cookies` (the `_fbp`/`_fbc` cookies of one request);
//! - `read`: Python input read for the core (event dicts in place, other values as JSON);
//! - `convert`: JSON values and build results as Python objects;
//! - `errors`: core errors as the exceptions of `convtrack.errors`.

use pyo3::prelude::*;

// The result cache in `convert::result_to_py` is protected by the GIL. A free-threaded
// CPython (3.13t) has none, so this module refuses to build there rather than
// building something unsound (abi3 excludes it too, but only by accident).
#[cfg(Py_GIL_DISABLED)]
compile_error!("convtrack's Python module needs the GIL: free-threaded CPython builds are not supported");

mod catalog;
mod convert;
mod cookies;
mod errors;
mod functions;
mod read;
mod tracker;

/// The Rust side of the extension allocates with mimalloc rather than glibc malloc:
/// `build` makes a few dozen small, short-lived allocations next to 1-2 KB outputs,
/// and glibc then spends a noticeable share of a `build` call in malloc, free and
/// `malloc_consolidate` (profiles in docs/benchmarks.md). Python objects still come from
/// Python's allocator; memory the Rust side allocates is always freed by it.
/// `local_dynamic_tls`: the extension is loaded with dlopen.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _convtrack(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust `log` records go to Python's `logging` (logger names start with "convtrack").
    // They never carry personal data or the token. Ignore a second initialisation.
    let _ = pyo3_log::try_init();
    m.add("__version__", convtrack_core::VERSION)?;
    m.add_function(wrap_pyfunction!(functions::warm_up, m)?)?;
    m.add_function(wrap_pyfunction!(functions::normalize, m)?)?;
    m.add_function(wrap_pyfunction!(functions::hash, m)?)?;
    m.add_function(wrap_pyfunction!(functions::event_id, m)?)?;
    m.add_function(wrap_pyfunction!(cookies::first_party_cookies, m)?)?;
    m.add_class::<tracker::Tracker>()?;
    m.add_function(wrap_pyfunction!(catalog::export_feed, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::export_feed_string, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::check_catalog, m)?)?;
    // Private (for tests), so not in `__all__`, which `add_function` would extend.
    m.setattr("_error_table", wrap_pyfunction!(errors::error_table, m)?)?;
    Ok(())
}
