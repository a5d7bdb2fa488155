//! The `Tracker` class: one merchant's tracker, a thin face of the core's.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use convtrack_core::build::TooOld;
use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::settings::SenderMode;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{Settings, Tracker as CoreTracker};

use crate::catalog;
use crate::convert::{json_to_py, result_to_py};
use crate::errors::to_py_err;
use crate::read::{event_input, events_input, id_text, order_id_text, py_to_json, Failure, PyInput, Reading};

/// The tracker for one merchant. Immutable; safe to share between threads.
#[pyclass(frozen, module = "convtrack._convtrack")]
pub(crate) struct Tracker {
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
    #[pyo3(signature = (event, *, now=None, nonce=None, script_src=None, payload="dict", server_only=false, too_old="error"))]
    fn build<'py>(
        &self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
        now: Option<i64>,
        nonce: Option<String>,
        script_src: Option<String>,
        payload: &str,
        server_only: bool,
        too_old: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let too_old = TooOld::parse("too_old", too_old).map_err(|e| to_py_err(py, &e))?;
        self.run(py, event, BuildOptions { now, nonce, script_src, server_only, too_old }, false, payload)
    }

    /// `build` plus a durable enqueue (needs `outbox_path`): `server` is `queued`,
    /// `duplicate` or `blocked`. No network I/O on the calling thread.
    /// With `sender="celery"`, a queued event is then handed to Celery
    /// (`convtrack.celery.handoff_after_track`); if the broker is down it stays queued.
    // One Rust argument per Python keyword argument: the signature is the Python API.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (event, *, now=None, nonce=None, script_src=None, payload="dict", server_only=false, too_old="error"))]
    fn track<'py>(
        slf: &Bound<'py, Self>,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
        now: Option<i64>,
        nonce: Option<String>,
        script_src: Option<String>,
        payload: &str,
        server_only: bool,
        too_old: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let too_old = TooOld::parse("too_old", too_old).map_err(|e| to_py_err(py, &e))?;
        let this = slf.get();
        let result = this.run(py, event, BuildOptions { now, nonce, script_src, server_only, too_old }, true, payload)?;
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
    #[pyo3(signature = (events, *, now=None, nonce=None, script_src=None, too_old="error"))]
    fn page_snippet(
        &self,
        py: Python<'_>,
        events: &Bound<'_, PyAny>,
        now: Option<i64>,
        nonce: Option<String>,
        script_src: Option<String>,
        too_old: &str,
    ) -> PyResult<String> {
        let too_old = TooOld::parse("too_old", too_old).map_err(|e| to_py_err(py, &e))?;
        // Each event is read in place by the core's parser, as in `build`.
        let cx = Reading::new();
        let inputs = events_input(&PyInput::new(events.clone(), &cx)).map_err(|e| cx.error(py, &e))?;
        let inputs = cx.check(inputs)?;
        self.inner
            .page_snippet(&inputs, &BuildOptions { now, nonce, script_src, server_only: false, too_old })
            .map_err(|e| to_py_err(py, &e))
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

    /// Records a change of the merchant's controls (shared by every process on the
    /// outbox) and returns the new `controls()`. `actor` names who made it (audit
    /// trail). Turning data controls on needs `legal_ack=True`; turning them off
    /// discards the server events still queued.
    #[pyo3(signature = (*, actor, data_controls=None, mode=None, legal_ack=false))]
    fn set_controls<'py>(
        &self,
        py: Python<'py>,
        actor: &str,
        data_controls: Option<bool>,
        mode: Option<&str>,
        legal_ack: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let inner = &self.inner;
        let doc = py.allow_threads(|| inner.set_controls_str(actor, data_controls, mode, legal_ack)).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &doc)
    }

    /// The merchant's controls in force and their history, newest first.
    fn controls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = &self.inner;
        let doc = py.allow_threads(|| inner.controls()).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &doc)
    }

    /// The dead letters, newest first (never their payload).
    #[pyo3(signature = (limit=100))]
    fn dead_letters<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Bound<'py, PyAny>> {
        let inner = &self.inner;
        let rows = py.allow_threads(|| inner.dead_letters(limit)).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &serde_json::Value::Array(rows))
    }

    /// Queues dead letters again (`None`: all), due now; returns how many.
    #[pyo3(signature = (ids=None))]
    fn retry_dead_letters(&self, py: Python<'_>, ids: Option<Vec<i64>>) -> PyResult<u64> {
        let inner = &self.inner;
        py.allow_threads(|| inner.retry_dead_letters(ids.as_deref())).map_err(|e| to_py_err(py, &e))
    }

    /// Deletes dead letters (`None`: all) for good; returns how many.
    #[pyo3(signature = (ids=None))]
    fn discard_dead_letters(&self, py: Python<'_>, ids: Option<Vec<i64>>) -> PyResult<u64> {
        let inner = &self.inner;
        py.allow_threads(|| inner.discard_dead_letters(ids.as_deref())).map_err(|e| to_py_err(py, &e))
    }

    /// The shopper answered the consent banner: `"granted"` releases their held events
    /// (by the `event_id`s `track` returned with `server == "held"`) to the sender,
    /// `"denied"` drops them. Returns how many were released or dropped.
    fn set_consent(&self, py: Python<'_>, event_ids: Vec<String>, marketing: &str) -> PyResult<u64> {
        let inner = &self.inner;
        let ids: Vec<&str> = event_ids.iter().map(String::as_str).collect();
        py.allow_threads(|| inner.set_consent(&ids, marketing)).map_err(|e| to_py_err(py, &e))
    }

    /// Counts one request a shop integration served without tracking, as
    /// `degraded.<reason>` in the outbox shared by every process on it
    /// (`status()["counters"]["degraded"]`). `reason`: 1 to 64 characters of `a-z` and `_`
    /// (`InvalidArgumentError` naming `reason` otherwise). Without an outbox: nothing.
    fn count_degraded(&self, py: Python<'_>, reason: &str) -> PyResult<()> {
        let inner = &self.inner;
        py.allow_threads(|| inner.count_degraded(reason)).map_err(|e| to_py_err(py, &e))
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

    /// Token and pixel health check (`GET /{version}/{pixel_id}`): `{"ok", "status", "pixel", "error"}`.
    fn check_online<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = &self.inner;
        let answer = py.allow_threads(|| inner.check_online()).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &answer)
    }

    /// One synthetic PageView with a test event code: `{"ok", "status", "event_id", "test_event_code", "error"}`.
    #[pyo3(signature = (test_event_code=None))]
    fn send_test_event<'py>(&self, py: Python<'py>, test_event_code: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let inner = &self.inner;
        let answer = py.allow_threads(|| inner.send_test_event(test_event_code)).map_err(|e| to_py_err(py, &e))?;
        json_to_py(py, &answer)
    }
}
