//! The merchant's checks: `convtrack_tracker_check_online` (token and pixel health
//! check) and `convtrack_tracker_send_test_event`. Both make one HTTP request and
//! block until it is answered or times out (`request_timeout_ms`).

use std::ffi::c_char;

use crate::boundary::{check_out, guard, opt_str_arg, write_json};
use crate::status::convtrack_status;
use crate::tracker::{convtrack_tracker, tracker_ref};

/// Token and pixel health check: `GET {endpoint}/{api_version}/{pixel_id}?fields=id,name`
/// with the access token. On success `*out_json` receives
/// `{"ok": bool, "status": int|null, "pixel": {"id", "name"}|null, "error": str|null}`
/// (free it with `convtrack_string_free`): a network or HTTP failure is a success of
/// this call with `"ok": false` and a plain-words `"error"`. Without `access_token`:
/// `CONVTRACK_STATUS_NOT_CONFIGURED` naming it. Works without an outbox. Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; `out_json` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_check_online(tracker: *const convtrack_tracker, out_json: *mut *mut c_char) -> convtrack_status {
    guard(|| {
        check_out(out_json)?;
        // SAFETY: caller contract.
        let tracker = unsafe { tracker_ref(tracker)? };
        let answer = tracker.check_online()?;
        // SAFETY: `out_json` checked non-NULL above.
        unsafe { write_json(out_json, &answer) }
    })
}

/// Sends one synthetic `PageView` without customer data, directly (not through the
/// queue), with `test_event_code` = `(code, len)` or, when that is NULL or empty, the
/// `test_event_code` setting (neither: `CONVTRACK_STATUS_NOT_CONFIGURED` naming it).
/// On success `*out_json` receives `{"ok", "status", "event_id", "test_event_code",
/// "error"}` (free it with `convtrack_string_free`). Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; `(code, len)` NULL/0 or valid for reads;
/// `out_json` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_send_test_event(
    tracker: *const convtrack_tracker,
    code: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out_json)?;
        // SAFETY: caller contract.
        let tracker = unsafe { tracker_ref(tracker)? };
        // SAFETY: caller contract.
        let code = unsafe { opt_str_arg(code, len, "code")? };
        let answer = tracker.send_test_event(code)?;
        // SAFETY: `out_json` checked non-NULL above.
        unsafe { write_json(out_json, &answer) }
    })
}
