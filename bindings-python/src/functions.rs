//! The module-level functions: `warm_up`, `normalize`, `hash` and `event_id`.

use pyo3::prelude::*;

use crate::errors::to_py_err;
use crate::read::order_id_text;

/// Does the one-time start-up work now (about 100 ms: phone number metadata) rather
/// than in the first event with a phone number. Idempotent; releases the GIL.
#[pyfunction]
pub(crate) fn warm_up(py: Python<'_>) {
    py.allow_threads(convtrack_core::warm_up);
}

/// Normalizes one customer-data value as Meta expects; `None` means "dropped".
#[pyfunction]
#[pyo3(signature = (field, value, country=None))]
pub(crate) fn normalize(py: Python<'_>, field: &str, value: &str, country: Option<&str>) -> PyResult<Option<String>> {
    convtrack_core::hash::normalize_named(field, value, country).map_err(|e| to_py_err(py, &e))
}

/// Normalizes and SHA-256 hashes one value as sent to Meta; `None` means "dropped".
#[pyfunction]
#[pyo3(signature = (field, value, country=None))]
pub(crate) fn hash(py: Python<'_>, field: &str, value: &str, country: Option<&str>) -> PyResult<Option<String>> {
    convtrack_core::hash::hash_named(field, value, country).map_err(|e| to_py_err(py, &e))
}

/// The deterministic event id of an event with an order.
#[pyfunction]
pub(crate) fn event_id(py: Python<'_>, pixel_id: &str, event_name: &str, order_id: &Bound<'_, PyAny>) -> PyResult<String> {
    let order = order_id_text(py, order_id)?;
    convtrack_core::build::event_id::event_id_checked(pixel_id, event_name, &order).map_err(|e| to_py_err(py, &e))
}
