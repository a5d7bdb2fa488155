//! `convtrack_status`: the result of every fallible call, and its names.
//!
//! cbindgen cannot expand macros, so this enum is written out here rather than
//! generated from the core's table (`convtrack_core::error`); the tests below
//! check that the two agree.

use std::ffi::c_char;

use convtrack_core::error::ErrorCode;

/// Result of every fallible call. Values are fixed and never renumbered.
///
/// 0 and 1 are successes; 1xx: misuse of the API; 2xx: bad event input;
/// 3xx: bad settings; 9xx: internal errors (bugs).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum convtrack_status {
    /// Success; the out-param was written.
    CONVTRACK_STATUS_OK = 0,
    /// Success, but the value normalizes to nothing and must be dropped; the out-param is untouched.
    CONVTRACK_STATUS_DROPPED = 1,
    /// A required pointer argument was NULL.
    CONVTRACK_STATUS_NULL_POINTER = 100,
    /// A string argument was not valid UTF-8.
    CONVTRACK_STATUS_INVALID_UTF8 = 101,
    /// An argument was invalid (e.g. an unknown field name or country).
    CONVTRACK_STATUS_INVALID_ARGUMENT = 102,
    /// The JSON input is not well-formed.
    CONVTRACK_STATUS_INVALID_JSON = 200,
    /// A JSON object has a key that is not part of the schema.
    CONVTRACK_STATUS_UNKNOWN_FIELD = 201,
    /// A value has the wrong JSON type.
    CONVTRACK_STATUS_WRONG_TYPE = 202,
    /// A required field is missing.
    CONVTRACK_STATUS_MISSING_FIELD = 203,
    /// A value is present but not acceptable.
    CONVTRACK_STATUS_INVALID_VALUE = 204,
    /// A value or the input exceeds a size limit.
    CONVTRACK_STATUS_TOO_LARGE = 205,
    /// `event_time` is more than 7 days old or too far in the future.
    CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE = 206,
    /// A setting is invalid.
    CONVTRACK_STATUS_INVALID_SETTING = 300,
    /// The durable outbox (SQLite file) could not be opened, read or written.
    CONVTRACK_STATUS_STORAGE = 400,
    /// The tracker was not set up for this call (e.g. `track` without `outbox_path`).
    CONVTRACK_STATUS_NOT_CONFIGURED = 401,
    /// A panic was caught at the boundary (a bug; please report it).
    CONVTRACK_STATUS_PANIC = 900,
    /// An unexpected internal failure (a bug).
    CONVTRACK_STATUS_INTERNAL = 901,
}

pub(crate) fn status_of(code: ErrorCode) -> convtrack_status {
    use convtrack_status::*;
    match code {
        ErrorCode::NullPointer => CONVTRACK_STATUS_NULL_POINTER,
        ErrorCode::InvalidUtf8 => CONVTRACK_STATUS_INVALID_UTF8,
        ErrorCode::InvalidArgument => CONVTRACK_STATUS_INVALID_ARGUMENT,
        ErrorCode::InvalidJson => CONVTRACK_STATUS_INVALID_JSON,
        ErrorCode::UnknownField => CONVTRACK_STATUS_UNKNOWN_FIELD,
        ErrorCode::WrongType => CONVTRACK_STATUS_WRONG_TYPE,
        ErrorCode::MissingField => CONVTRACK_STATUS_MISSING_FIELD,
        ErrorCode::InvalidValue => CONVTRACK_STATUS_INVALID_VALUE,
        ErrorCode::TooLarge => CONVTRACK_STATUS_TOO_LARGE,
        ErrorCode::EventTimeOutOfRange => CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE,
        ErrorCode::InvalidSetting => CONVTRACK_STATUS_INVALID_SETTING,
        ErrorCode::Storage => CONVTRACK_STATUS_STORAGE,
        ErrorCode::NotConfigured => CONVTRACK_STATUS_NOT_CONFIGURED,
        ErrorCode::Panic => CONVTRACK_STATUS_PANIC,
        _ => CONVTRACK_STATUS_INTERNAL,
    }
}

/// A static NUL-terminated name for a status value, e.g. "CONVTRACK_STATUS_OK".
/// Takes the raw number so that any value is safe; unknown values give
/// "CONVTRACK_STATUS_UNKNOWN". Never NULL; do not free it. Does not change the
/// last error message. Thread-safe.
#[no_mangle]
pub extern "C" fn convtrack_status_name(status: u32) -> *const c_char {
    use convtrack_status::*;
    const ALL: [convtrack_status; 17] = [
        CONVTRACK_STATUS_OK,
        CONVTRACK_STATUS_DROPPED,
        CONVTRACK_STATUS_NULL_POINTER,
        CONVTRACK_STATUS_INVALID_UTF8,
        CONVTRACK_STATUS_INVALID_ARGUMENT,
        CONVTRACK_STATUS_INVALID_JSON,
        CONVTRACK_STATUS_UNKNOWN_FIELD,
        CONVTRACK_STATUS_WRONG_TYPE,
        CONVTRACK_STATUS_MISSING_FIELD,
        CONVTRACK_STATUS_INVALID_VALUE,
        CONVTRACK_STATUS_TOO_LARGE,
        CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE,
        CONVTRACK_STATUS_INVALID_SETTING,
        CONVTRACK_STATUS_STORAGE,
        CONVTRACK_STATUS_NOT_CONFIGURED,
        CONVTRACK_STATUS_PANIC,
        CONVTRACK_STATUS_INTERNAL,
    ];
    let name: &'static str = match ALL.iter().find(|s| **s as u32 == status) {
        Some(CONVTRACK_STATUS_OK) => "CONVTRACK_STATUS_OK\0",
        Some(CONVTRACK_STATUS_DROPPED) => "CONVTRACK_STATUS_DROPPED\0",
        Some(CONVTRACK_STATUS_NULL_POINTER) => "CONVTRACK_STATUS_NULL_POINTER\0",
        Some(CONVTRACK_STATUS_INVALID_UTF8) => "CONVTRACK_STATUS_INVALID_UTF8\0",
        Some(CONVTRACK_STATUS_INVALID_ARGUMENT) => "CONVTRACK_STATUS_INVALID_ARGUMENT\0",
        Some(CONVTRACK_STATUS_INVALID_JSON) => "CONVTRACK_STATUS_INVALID_JSON\0",
        Some(CONVTRACK_STATUS_UNKNOWN_FIELD) => "CONVTRACK_STATUS_UNKNOWN_FIELD\0",
        Some(CONVTRACK_STATUS_WRONG_TYPE) => "CONVTRACK_STATUS_WRONG_TYPE\0",
        Some(CONVTRACK_STATUS_MISSING_FIELD) => "CONVTRACK_STATUS_MISSING_FIELD\0",
        Some(CONVTRACK_STATUS_INVALID_VALUE) => "CONVTRACK_STATUS_INVALID_VALUE\0",
        Some(CONVTRACK_STATUS_TOO_LARGE) => "CONVTRACK_STATUS_TOO_LARGE\0",
        Some(CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE) => "CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE\0",
        Some(CONVTRACK_STATUS_INVALID_SETTING) => "CONVTRACK_STATUS_INVALID_SETTING\0",
        Some(CONVTRACK_STATUS_STORAGE) => "CONVTRACK_STATUS_STORAGE\0",
        Some(CONVTRACK_STATUS_NOT_CONFIGURED) => "CONVTRACK_STATUS_NOT_CONFIGURED\0",
        Some(CONVTRACK_STATUS_PANIC) => "CONVTRACK_STATUS_PANIC\0",
        Some(CONVTRACK_STATUS_INTERNAL) => "CONVTRACK_STATUS_INTERNAL\0",
        None => "CONVTRACK_STATUS_UNKNOWN\0",
    };
    name.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    /// The name `convtrack_status_name` gives a number.
    fn name_of(status: u32) -> String {
        // SAFETY: convtrack_status_name returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(convtrack_status_name(status)) }.to_string_lossy().into_owned()
    }

    #[test]
    fn status_codes_match_core_codes() {
        for &code in ErrorCode::ALL {
            assert_eq!(status_of(code) as u32, code.as_u32(), "{code:?}");
        }
    }

    /// The C statuses are the core's table (`ErrorCode`) plus the two successes:
    /// every core code has the status of the same number, named after the code's
    /// name, and no other number has a name.
    #[test]
    fn status_names_match_core_names() {
        for &code in ErrorCode::ALL {
            assert_eq!(name_of(code.as_u32()), format!("CONVTRACK_STATUS_{}", code.name().to_ascii_uppercase()), "{code:?}");
        }
        assert_eq!(name_of(convtrack_status::CONVTRACK_STATUS_OK as u32), "CONVTRACK_STATUS_OK");
        assert_eq!(name_of(convtrack_status::CONVTRACK_STATUS_DROPPED as u32), "CONVTRACK_STATUS_DROPPED");
        let successes = [convtrack_status::CONVTRACK_STATUS_OK as u32, convtrack_status::CONVTRACK_STATUS_DROPPED as u32];
        for status in 0..=u32::from(u16::MAX) {
            let core = ErrorCode::ALL.iter().any(|c| c.as_u32() == status);
            let named = name_of(status) != "CONVTRACK_STATUS_UNKNOWN";
            assert_eq!(named, core || successes.contains(&status), "status {status} ({})", name_of(status));
        }
    }
}
