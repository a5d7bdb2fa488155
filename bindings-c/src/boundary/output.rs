//! Output to C: owned NUL-terminated strings, and their release.

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use convtrack_core::error::{Error, ErrorCode};

use super::discard_panic;
use crate::status::convtrack_status;

/// Hands an owned string to C. JSON output escapes NUL as `\u0000`, but a
/// normalized value may keep a NUL byte (the reference keeps control characters
/// in names and ids): a C string cannot carry it, so say so instead of truncating.
pub(crate) fn to_c_string(s: String) -> Result<*mut c_char, Error> {
    CString::new(s).map(CString::into_raw).map_err(|_| {
        Error::field(
            ErrorCode::InvalidValue,
            "value",
            "normalizes to text with a NUL byte, which a C string cannot carry (convtrack_hash can hash it)",
        )
    })
}

/// Writes an owned JSON string to `out`.
///
/// # Safety
/// `out` must be non-NULL and valid for a write.
pub(crate) unsafe fn write_json(out: *mut *mut c_char, value: &serde_json::Value) -> Result<convtrack_status, Error> {
    let p = to_c_string(value.to_string())?;
    // SAFETY: caller contract.
    unsafe { *out = p };
    Ok(convtrack_status::CONVTRACK_STATUS_OK)
}

/// Releases a string returned by any convtrack function. `NULL` is a no-op.
///
/// # Safety
/// `s` must be NULL or a string returned by convtrack and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn convtrack_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    let freed = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `s` came from `CString::into_raw` in this library (caller contract).
        drop(unsafe { CString::from_raw(s) });
    }));
    if let Err(payload) = freed {
        discard_panic(payload);
    }
}
