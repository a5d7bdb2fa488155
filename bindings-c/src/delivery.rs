//! Delivery: `convtrack_tracker_flush` and `convtrack_tracker_status`.

use std::ffi::c_char;

use crate::boundary::{check_out, guard, write_json};
use crate::status::convtrack_status;
use crate::tracker::{convtrack_tracker, tracker_ref};

/// Delivers queued events now, waiting at most `timeout_ms` milliseconds.
/// On success `*out` (if not NULL) receives a JSON report
/// `{"requests", "sent", "retried", "failed", "expired", "remaining", "paused"}`
/// to free with `convtrack_string_free`. Thread-safe; several processes may
/// flush the same outbox at once.
///
/// # Safety
/// `tracker` must be a live tracker; `out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_flush(
    tracker: *const convtrack_tracker,
    timeout_ms: u64,
    out: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        // SAFETY: caller contract.
        let tracker = unsafe { tracker_ref(tracker)? };
        let report = tracker.flush(std::time::Duration::from_millis(timeout_ms))?;
        if out.is_null() {
            return Ok(convtrack_status::CONVTRACK_STATUS_OK);
        }
        // SAFETY: `out` is non-NULL here.
        unsafe { write_json(out, &report.to_json()) }
    })
}

/// The tracker's status as JSON (pixel id, catalog, mode, data controls, queue,
/// counters, last error, coverage; see docs/spec.md §10). Free `*out` with
/// `convtrack_string_free`. Never contains the token or personal data. Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; `out` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_status(tracker: *const convtrack_tracker, out: *mut *mut c_char) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract.
        let tracker = unsafe { tracker_ref(tracker)? };
        let status = tracker.status()?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { write_json(out, &status) }
    })
}
