//! Events: `convtrack_tracker_build`, `convtrack_tracker_track` (the result JSON)
//! and `convtrack_tracker_page_snippet`.

use std::ffi::c_char;

use convtrack_core::error::Error;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::Tracker;

use crate::boundary::{check_out, guard, opt_str_arg, str_arg, to_c_string};
use crate::status::convtrack_status;
use crate::tracker::{convtrack_tracker, tracker_ref};

/// The arguments shared by build, track and page_snippet: a tracker, a JSON text
/// named `json_name`, and optional build options.
///
/// # Safety
/// `tracker` NULL or live; each `(ptr, len)` NULL or valid for reads.
unsafe fn tracker_json_options<'a>(
    tracker: *const convtrack_tracker,
    json: *const c_char,
    json_len: usize,
    json_name: &str,
    options_json: *const c_char,
    options_json_len: usize,
) -> Result<(&'a Tracker, &'a str, BuildOptions), Error> {
    // SAFETY: caller contract on the tracker and the (ptr, len) pairs.
    let (tracker, text, options) = unsafe {
        (tracker_ref(tracker)?, str_arg(json, json_len, json_name)?, opt_str_arg(options_json, options_json_len, "options_json")?)
    };
    let options = match options {
        Some(o) => BuildOptions::from_json(o)?,
        None => BuildOptions::default(),
    };
    Ok((tracker, text, options))
}

/// The shared body of `convtrack_tracker_build` and `convtrack_tracker_track`.
///
/// # Safety
/// As `convtrack_tracker_build`.
unsafe fn event_call(
    track: bool,
    tracker: *const convtrack_tracker,
    event_json: *const c_char,
    event_json_len: usize,
    options_json: *const c_char,
    options_json_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: forwarded caller contract.
        let (tracker, event, options) =
            unsafe { tracker_json_options(tracker, event_json, event_json_len, "event_json", options_json, options_json_len)? };
        let result = if track { tracker.track_json(event, &options)? } else { tracker.build_json(event, &options)? };
        let p = to_c_string(result.to_json_string())?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { *out = p };
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}

/// Builds one event: validates the event JSON (docs/spec.md §3 shape), applies the
/// consent gate, normalizes and hashes customer data, derives the event id,
/// and renders the pixel snippet and the Conversions API payload. Pure: no
/// I/O, nothing is sent or stored.
///
/// `options_json` (optional: NULL or length 0) is `{"now": <unix seconds>,
/// "nonce": "<CSP nonce>", "script_src": "<fbevents.js URL>", "server_only":
/// false, "too_old": "error"}`, every key optional. `"server_only": true` skips the
/// pixel snippet (`pixel_html` is `""`) for events no page renders, such as webhooks.
/// `"too_old": "skip_server"` gives an order older than Meta's 7 days its pixel, with
/// the server copy skipped (`"server": "blocked"`, `"reason": "too_old"`).
///
/// On success `*out` receives the result as JSON (schema 1):
/// `{"schema":1, "event_id", "event_name", "event_time", "server": "send"|"blocked",
/// "reason": null|"catalog_only"|"data_controls_off"|"bot"|"consent_denied"|"consent_unknown"|"too_old",
/// "pixel": "track"|"revoked"|"off", "ldu", "pixel_html", "payload": {...}|null}`.
/// Free it with `convtrack_string_free`. Thread-safe: a tracker may build on
/// several threads at once.
///
/// # Safety
/// `tracker` must be a live tracker; each `(ptr, len)` valid for reads; `out` valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_build(
    tracker: *const convtrack_tracker,
    event_json: *const c_char,
    event_json_len: usize,
    options_json: *const c_char,
    options_json_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { event_call(false, tracker, event_json, event_json_len, options_json, options_json_len, out) }
}

/// `convtrack_tracker_build` plus a durable enqueue of the server copy in the
/// outbox (the tracker needs `outbox_path`; otherwise
/// `CONVTRACK_STATUS_NOT_CONFIGURED`). No network I/O: call
/// `convtrack_tracker_flush` (or let a `"thread"` sender) deliver. The result's
/// `"server"` is `"queued"`, `"duplicate"` (the same event was accepted
/// before, by any process sharing the outbox) or `"blocked"`. Arguments,
/// ownership and thread safety as `convtrack_tracker_build`.
///
/// # Safety
/// As `convtrack_tracker_build`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_track(
    tracker: *const convtrack_tracker,
    event_json: *const c_char,
    event_json_len: usize,
    options_json: *const c_char,
    options_json_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { event_call(true, tracker, event_json, event_json_len, options_json, options_json_len, out) }
}

/// One pixel snippet for every event of a page: `events_json` is a JSON array of
/// events (each as for `convtrack_tracker_build`); the snippet has the base code,
/// `init` and the page view once, then one `track` call per event with the same
/// event id `build` gives. The page follows the strictest consent among the
/// events; an empty array gives the base code and a page view. `options_json` as
/// for `convtrack_tracker_build`. Pure: no I/O. On success `*out` receives the
/// HTML (free with `convtrack_string_free`). Errors name the event
/// (`events[1].order_id`). Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; each `(ptr, len)` valid for reads; `out` valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_page_snippet(
    tracker: *const convtrack_tracker,
    events_json: *const c_char,
    events_json_len: usize,
    options_json: *const c_char,
    options_json_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: forwarded caller contract.
        let (tracker, events, options) =
            unsafe { tracker_json_options(tracker, events_json, events_json_len, "events_json", options_json, options_json_len)? };
        let html = tracker.page_snippet_json(events, &options)?;
        let p = to_c_string(html)?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { *out = p };
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}
