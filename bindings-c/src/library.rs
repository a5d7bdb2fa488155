//! The library as a whole: its version and its one-time start-up work.

use std::ffi::c_char;
use std::panic::catch_unwind;

use crate::boundary::discard_panic;

/// Major version of the library; equals the crate version (checked by tests).
pub const CONVTRACK_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const CONVTRACK_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const CONVTRACK_VERSION_PATCH: u32 = 0;

/// The library version as a static NUL-terminated string, e.g. "0.1.0".
/// Never NULL; do not free it. Thread-safe.
#[no_mangle]
pub extern "C" fn convtrack_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// Does the library's one-time start-up work now (about 100 ms: the phone number
/// metadata is loaded on first use) instead of in the first event with a phone
/// number. Optional; idempotent (microseconds after the first call); thread-safe.
/// In a server that forks workers, call it before forking.
#[no_mangle]
pub extern "C" fn convtrack_warm_up() {
    // Nothing to report: a panic (never expected) only means the work happens later.
    if let Err(payload) = catch_unwind(convtrack_core::warm_up) {
        discard_panic(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_cargo() {
        assert_eq!(CONVTRACK_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(CONVTRACK_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(CONVTRACK_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
    }
}
