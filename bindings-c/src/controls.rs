//! The merchant's controls and the dead letters: `convtrack_tracker_set_controls`,
//! `convtrack_tracker_controls`, `convtrack_tracker_dead_letters`, their retry and
//! discard, the shopper's consent answer for held events, and `convtrack_tracker_resume`.

use std::ffi::c_char;

use convtrack_core::tracker::ids_from_json;

use crate::boundary::{check_out, guard, opt_str_arg, str_arg, write_json};
use crate::status::convtrack_status;
use crate::tracker::{convtrack_tracker, tracker_ref};

/// Records a change of the merchant's controls, shared by every process on the
/// same outbox. `request_json` is `{"actor": "<who>", "data_controls": true|false|null,
/// "mode": "pixel_and_server"|"catalog_only"|null, "legal_ack": false}`. Turning
/// data controls on needs `"legal_ack": true` (else `CONVTRACK_STATUS_INVALID_ARGUMENT`
/// naming `legal_ack`); turning them off discards the server events still queued.
/// On success `*out` receives the new controls as JSON (see
/// `convtrack_tracker_controls`), to free with `convtrack_string_free`.
///
/// # Safety
/// `tracker` must be a live tracker; `request_json` valid for `request_len` bytes;
/// `out` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_set_controls(
    tracker: *const convtrack_tracker,
    request_json: *const c_char,
    request_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract.
        let (tracker, request) = unsafe { (tracker_ref(tracker)?, str_arg(request_json, request_len, "request_json")?) };
        let doc = tracker.set_controls_json(request)?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { write_json(out, &doc) }
    })
}

/// The merchant's controls in force and their history, newest first, as JSON:
/// `{"data_controls", "mode", "legal_ack", "changed_at", "changed_by", "source",
/// "history": [{"at", "actor", "data_controls", "mode", "legal_ack", "discarded"}]}`.
/// Free `*out` with `convtrack_string_free`.
///
/// # Safety
/// `tracker` must be a live tracker; `out` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_controls(tracker: *const convtrack_tracker, out: *mut *mut c_char) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract.
        let tracker = unsafe { tracker_ref(tracker)? };
        let doc = tracker.controls()?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { write_json(out, &doc) }
    })
}

/// The dead letters, newest first, at most `limit`, as a JSON array of
/// `{"id", "event_name", "event_id", "event_time", "reason", "code", "subcode",
/// "failed_at"}` (never the payload). Free `*out` with `convtrack_string_free`.
///
/// # Safety
/// `tracker` must be a live tracker; `out` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_dead_letters(
    tracker: *const convtrack_tracker,
    limit: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract.
        let tracker = unsafe { tracker_ref(tracker)? };
        let rows = tracker.dead_letters(limit)?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { write_json(out, &serde_json::Value::Array(rows)) }
    })
}

/// Queues dead letters again, due now (those too old for Meta stay). `ids_json` is
/// a JSON array of ids from `convtrack_tracker_dead_letters`, or NULL / length 0
/// for all. `*count` (if not NULL) receives how many were queued.
///
/// # Safety
/// `tracker` must be a live tracker; `ids_json` NULL or valid for `ids_len` bytes;
/// `count` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_retry_dead_letters(
    tracker: *const convtrack_tracker,
    ids_json: *const c_char,
    ids_len: usize,
    count: *mut u64,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { with_ids(tracker, ids_json, ids_len, count, |t, ids| t.retry_dead_letters(ids)) }
}

/// Deletes dead letters for good. `ids_json` as for
/// `convtrack_tracker_retry_dead_letters` (NULL / length 0: all). `*count` (if not
/// NULL) receives how many were deleted.
///
/// # Safety
/// As `convtrack_tracker_retry_dead_letters`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_discard_dead_letters(
    tracker: *const convtrack_tracker,
    ids_json: *const c_char,
    ids_len: usize,
    count: *mut u64,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { with_ids(tracker, ids_json, ids_len, count, |t, ids| t.discard_dead_letters(ids)) }
}

/// # Safety
/// As `convtrack_tracker_retry_dead_letters`.
unsafe fn with_ids(
    tracker: *const convtrack_tracker,
    ids_json: *const c_char,
    ids_len: usize,
    count: *mut u64,
    op: impl FnOnce(&convtrack_core::Tracker, Option<&[i64]>) -> convtrack_core::Result<u64>,
) -> convtrack_status {
    guard(|| {
        // SAFETY: caller contract.
        let (tracker, ids) = unsafe { (tracker_ref(tracker)?, opt_str_arg(ids_json, ids_len, "ids_json")?) };
        let ids = ids_from_json(ids)?;
        let n = op(tracker, ids.as_deref())?;
        if !count.is_null() {
            // SAFETY: `count` is non-NULL and the caller guarantees it is valid for a write.
            unsafe { *count = n };
        }
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}

/// The shopper answered the consent banner: releases their held events
/// (`unknown_consent = hold`) to the sender, or drops them. `request_json` is
/// `{"event_ids": ["<event_id from track>", ...], "marketing": "granted"|"denied"}`.
/// `*count` (if not NULL) receives how many were released or dropped.
///
/// # Safety
/// `tracker` must be a live tracker; `request_json` valid for `request_len` bytes;
/// `count` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_set_consent(
    tracker: *const convtrack_tracker,
    request_json: *const c_char,
    request_len: usize,
    count: *mut u64,
) -> convtrack_status {
    guard(|| {
        // SAFETY: caller contract.
        let (tracker, request) = unsafe { (tracker_ref(tracker)?, str_arg(request_json, request_len, "request_json")?) };
        let n = tracker.set_consent_json(request)?;
        if !count.is_null() {
            // SAFETY: `count` is non-NULL and the caller guarantees it is valid for a write.
            unsafe { *count = n };
        }
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}

/// Resumes delivery paused by a permission error, after the merchant fixed the
/// token or its permissions (a replaced token resumes by itself).
///
/// # Safety
/// `tracker` must be a live tracker.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_resume(tracker: *const convtrack_tracker) -> convtrack_status {
    guard(|| {
        // SAFETY: caller contract.
        let tracker = unsafe { tracker_ref(tracker)? };
        tracker.resume()?;
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}

/// Counts one request a shop integration served without tracking (an invalid
/// setting, an event it could not build, a storage error), as
/// `degraded.<reason>` in the outbox's counters that every process on the same
/// outbox adds to (`status` JSON: `counters.degraded`). `reason` is a short code
/// of `a-z` and `_` (1 to 64 bytes), such as the status name in lower case
/// (`invalid_value`); anything else is `CONVTRACK_STATUS_INVALID_ARGUMENT`
/// naming `reason`. Without an outbox it does nothing and returns OK.
///
/// # Safety
/// `tracker` must be a live tracker; `reason` valid for `reason_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_count_degraded(
    tracker: *const convtrack_tracker,
    reason: *const c_char,
    reason_len: usize,
) -> convtrack_status {
    guard(|| {
        // SAFETY: caller contract.
        let (tracker, reason) = unsafe { (tracker_ref(tracker)?, str_arg(reason, reason_len, "reason")?) };
        tracker.count_degraded(reason)?;
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}
