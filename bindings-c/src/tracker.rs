//! `convtrack_tracker`: creation, release and borrowing of the opaque handle.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::{Settings, Tracker};

use crate::boundary::{check_out, discard_panic, guard, str_arg};
use crate::status::convtrack_status;

/// An opaque tracker for one merchant. Create with `convtrack_tracker_new`,
/// release with `convtrack_tracker_free`. Immutable after creation: one tracker
/// may be used from several threads at once.
pub struct convtrack_tracker {
    inner: Tracker,
}

/// Creates a tracker from settings as a JSON object (see the README's settings
/// table), e.g. `{"pixel_id": "1234567890"}`. With `outbox_path` it opens the
/// durable outbox (and with `"sender": "thread"` starts a background sender;
/// the default `"manual"` suits PHP and other shared-nothing runtimes, which
/// call `convtrack_tracker_flush`). Invalid settings fail here with
/// `CONVTRACK_STATUS_INVALID_SETTING` (or `_INVALID_JSON`) and a message naming
/// the setting. On success `*out` receives a tracker to release with
/// `convtrack_tracker_free`; otherwise `*out` is untouched.
///
/// # Safety
/// `(settings_json, len)` must be valid for reads; `out` must be valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_new(
    settings_json: *const c_char,
    len: usize,
    out: *mut *mut convtrack_tracker,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract.
        let text = unsafe { str_arg(settings_json, len, "settings_json")? };
        let settings = Settings::from_json(text)?;
        let boxed = Box::new(convtrack_tracker { inner: Tracker::open(settings)? });
        // SAFETY: `out` is non-NULL and valid for a write (caller contract).
        unsafe { *out = Box::into_raw(boxed) };
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}

/// Releases a tracker, stopping its background sender if any (queued events stay
/// in the outbox for the next flush). `NULL` is a no-op.
///
/// # Safety
/// `tracker` must be NULL or a tracker from `convtrack_tracker_new` not yet freed,
/// and no other thread may be using it.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_free(tracker: *mut convtrack_tracker) {
    if tracker.is_null() {
        return;
    }
    let freed = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `tracker` came from `Box::into_raw` in `convtrack_tracker_new`.
        let boxed = unsafe { Box::from_raw(tracker) };
        boxed.inner.close();
        drop(boxed);
    }));
    if let Err(payload) = freed {
        discard_panic(payload);
    }
}

/// Borrows a live tracker.
///
/// # Safety
/// `tracker` must be NULL or a live tracker from `convtrack_tracker_new`.
pub(crate) unsafe fn tracker_ref<'a>(tracker: *const convtrack_tracker) -> Result<&'a Tracker, Error> {
    if tracker.is_null() {
        return Err(Error::field(ErrorCode::NullPointer, "tracker", "must not be NULL"));
    }
    // SAFETY: non-NULL and live (caller contract); shared borrow only.
    Ok(unsafe { &(*tracker).inner })
}
