//! The guard around every fallible function: panics are caught, errors recorded.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use convtrack_core::error::Error;

use super::last_error::{clear_last_error, set_last_error};
use crate::status::{convtrack_status, status_of};

/// Drops the payload of a caught panic. Its destructor is arbitrary code that may
/// panic in turn; that panic is caught as well and its payload leaked, so nothing
/// unwinds out of here.
pub(crate) fn discard_panic(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// Runs `body` with panics caught and errors recorded. `body` returns the success status.
/// Everything, recording the message included, runs inside `catch_unwind`; the code
/// after it is panic-free.
pub(crate) fn guard(body: impl FnOnce() -> Result<convtrack_status, Error>) -> convtrack_status {
    let caught = catch_unwind(AssertUnwindSafe(|| {
        clear_last_error();
        match body() {
            Ok(status) => status,
            Err(e) => {
                set_last_error(&e);
                status_of(e.code())
            }
        }
    }));
    match caught {
        Ok(status) => status,
        Err(payload) => {
            discard_panic(payload);
            set_last_error(&"internal error: a panic was caught at the C boundary (this is a bug)");
            convtrack_status::CONVTRACK_STATUS_PANIC
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::c_char;

    use super::*;
    use crate::boundary::convtrack_last_error_message;

    #[test]
    fn panics_are_caught_and_their_text_never_reaches_the_caller() {
        let s = guard(|| panic!("boom with sentinel.pii@example.com and EAAB-SENTINEL-TOKEN"));
        assert_eq!(s, convtrack_status::CONVTRACK_STATUS_PANIC);
        let mut buf = [0 as c_char; 256];
        // SAFETY: `buf` is valid for 256 bytes.
        let n = unsafe { convtrack_last_error_message(buf.as_mut_ptr(), buf.len()) };
        assert!(n > 0);
        // SAFETY: NUL-terminated by convtrack_last_error_message.
        let msg = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
        assert!(!msg.contains("sentinel") && !msg.contains("SENTINEL"), "{msg}");
    }
}
