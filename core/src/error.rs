//! The one error type of convtrack. Every variant has a stable numeric code
//! shared by the C ABI (`convtrack_status`), Python (`ConvtrackError.code`) and
//! PHP (`ConvtrackException::getStatus()`), all defined by the table below.
//!
//! Messages name the offending field or setting, and never echo its value:
//! values may be personal data or the access token.

use std::fmt;

// Defines `ErrorCode` and its per-code facts from one table (the invocation below):
// each variant with its doc and number, its stable name, and the exception class
// each binding raises for it.
macro_rules! error_codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $number:literal, $name:literal, python: $python:literal, php: $php:literal;
    )*) => {
        /// Stable error codes. Never renumber; add new ones at the end of a range.
        ///
        /// Ranges: 1xx caller/ABI misuse, 2xx event input, 3xx settings, 4xx outbox and
        /// setup, 9xx internal.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        #[repr(u32)]
        pub enum ErrorCode {
            $(
                $(#[doc = $doc])*
                $variant = $number,
            )*
        }

        impl ErrorCode {
            /// Every code, in the order of the table (ascending numbers).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// Stable snake_case name, used in JSON and Python.
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The class of `convtrack.errors` (Python) raised for this code.
            pub fn python_class(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $python,)*
                }
            }

            /// The exception class of the PHP package (namespace `Convtrack`) thrown for
            /// this code (`bindings-php/src/Errors.php`, checked against this table by
            /// `bindings-c/tests/php_error_classes.rs`).
            pub fn php_class(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $php,)*
                }
            }
        }
    };
}

// The one table of error codes. Every binding derives its codes from it or is
// checked against it by a test that fails when one side drifts:
// - C: `convtrack_status` is written out in bindings-c (cbindgen cannot expand
//   macros); its tests compare every number and name with this table;
// - Python: the extension raises `python_class()` and exposes the table as
//   `_error_table()`, which tests/python/test_error_table.py compares with
//   `convtrack.errors`;
// - PHP: `Errors.php` is checked against `php_class()` (bindings-c's tests) and
//   against the C ABI's statuses (the PHPUnit suite and tests/php/ffi_test.php).
//
// The class names differ between the two languages where their packages group
// codes differently: Python raises `InvalidArgumentError` for the three 1xx codes,
// PHP has `InvalidUtf8Exception` and treats a NULL pointer as a binding bug
// (`InternalException`: the PHP package never passes NULL itself).
error_codes! {
    /// A required pointer argument was NULL (C ABI only).
    NullPointer = 100, "null_pointer", python: "InvalidArgumentError", php: "InternalException";
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 101, "invalid_utf8", python: "InvalidArgumentError", php: "InvalidUtf8Exception";
    /// An argument that is not part of an event was invalid (e.g. an unknown field name).
    InvalidArgument = 102, "invalid_argument", python: "InvalidArgumentError", php: "ArgumentException";
    /// The input is not well-formed JSON.
    InvalidJson = 200, "invalid_json", python: "InvalidJsonError", php: "InvalidJsonException";
    /// An object has a key that is not part of the schema.
    UnknownField = 201, "unknown_field", python: "UnknownFieldError", php: "UnknownFieldException";
    /// A value has the wrong JSON type.
    WrongType = 202, "wrong_type", python: "WrongTypeError", php: "WrongTypeException";
    /// A required field is missing.
    MissingField = 203, "missing_field", python: "MissingFieldError", php: "MissingFieldException";
    /// A value is present but not acceptable (format, range, NaN, negative...).
    InvalidValue = 204, "invalid_value", python: "InvalidValueError", php: "InvalidValueException";
    /// A value or the whole input exceeds a size limit.
    TooLarge = 205, "too_large", python: "TooLargeError", php: "TooLargeException";
    /// `event_time` is too old for Meta or too far in the future.
    EventTimeOutOfRange = 206, "event_time_out_of_range", python: "EventTimeError", php: "EventTimeException";
    /// A merchant setting is invalid.
    InvalidSetting = 300, "invalid_setting", python: "SettingsError", php: "SettingsException";
    /// The durable outbox (SQLite file) could not be opened, read or written.
    Storage = 400, "storage", python: "StorageError", php: "StorageException";
    /// The operation needs something the tracker was not set up with (e.g. `track` without `outbox_path`).
    NotConfigured = 401, "not_configured", python: "NotConfiguredError", php: "NotConfiguredException";
    /// A bug: a panic was caught at a boundary.
    Panic = 900, "panic", python: "InternalError", php: "InternalException";
    /// A bug or an unexpected internal failure.
    Internal = 901, "internal", python: "InternalError", php: "InternalException";
}

impl ErrorCode {
    /// The numeric code.
    pub fn as_u32(self) -> u32 {
        self as u32
    }
}

/// A convtrack error: a stable code, the field (or setting) it is about, and
/// a message that never contains the field's value.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    field: Option<String>,
    reason: String,
}

/// Field paths come from the caller's JSON keys, which are hostile input too:
/// keep them short and printable so a message can never carry a payload.
fn sanitize_path(path: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::with_capacity(path.len().min(MAX));
    for (i, c) in path.chars().enumerate() {
        if i >= MAX {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out
}

/// The path of an unknown JSON key, for messages. A key that looks like a field
/// name (the typo case: `colour`, `emial`) is named; anything else (which could be
/// a value pasted in the wrong place, e.g. an email address used as a key) is not echoed.
pub fn key_path(prefix: &str, key: &str) -> String {
    let identifier = !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if identifier {
        format!("{prefix}{key}")
    } else {
        format!("{prefix}<a key that is not a field name>")
    }
}

impl Error {
    /// An error about `field` (a dotted path such as `customer.email` or `items[2].price`).
    pub fn field(code: ErrorCode, field: impl AsRef<str>, reason: impl Into<String>) -> Self {
        Error { code, field: Some(sanitize_path(field.as_ref())), reason: reason.into() }
    }

    /// An error not tied to one field.
    pub fn general(code: ErrorCode, reason: impl Into<String>) -> Self {
        Error { code, field: None, reason: reason.into() }
    }

    /// An invalid merchant setting.
    pub fn setting(setting: impl AsRef<str>, reason: impl Into<String>) -> Self {
        Error::field(ErrorCode::InvalidSetting, setting, reason)
    }

    pub(crate) fn missing(field: impl AsRef<str>) -> Self {
        Error::field(ErrorCode::MissingField, field, "is required")
    }

    pub(crate) fn invalid(field: impl AsRef<str>, reason: impl Into<String>) -> Self {
        Error::field(ErrorCode::InvalidValue, field, reason)
    }

    pub(crate) fn wrong_type(field: impl AsRef<str>, expected: &str) -> Self {
        Error::field(ErrorCode::WrongType, field, format!("must be {expected}"))
    }

    /// The same error about `prefix` + its field (e.g. `events[2].` + `order_id`);
    /// an error about the whole (no field, or the empty path) becomes one about `events[2]`.
    pub fn within(self, prefix: &str) -> Self {
        let field = match &self.field {
            Some(f) if !f.is_empty() => format!("{prefix}{f}"),
            _ => prefix.trim_end_matches('.').to_string(),
        };
        Error { field: Some(sanitize_path(&field)), ..self }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The field or setting this error is about, if any.
    pub fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The reason, without the field name.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {}", field, self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("code", &self.code.name()).field("field", &self.field).field("reason", &self.reason).finish()
    }
}

impl std::error::Error for Error {}

/// Convenience alias.
pub type Result<T> = std::result::Result<T, Error>;

/// Maps a JSON syntax error without echoing the input: serde_json's syntax
/// messages carry only a category and a position.
pub(crate) fn json_syntax(what: &str, err: &serde_json::Error) -> Error {
    let category = match err.classify() {
        serde_json::error::Category::Eof => "ends early",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Io => "could not be read",
        serde_json::error::Category::Data => "has data of the wrong shape",
    };
    Error::field(ErrorCode::InvalidJson, what, format!("{category} (line {}, column {})", err.line(), err.column()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_field_and_sanitizes_path() {
        let e = Error::invalid("customer.email\n<script>", "is not valid");
        assert_eq!(e.to_string(), "customer.email?<script>: is not valid");
        assert_eq!(e.code().as_u32(), 204);
        let long = "k".repeat(500);
        let e = Error::field(ErrorCode::UnknownField, &long, "is not a known field");
        assert!(e.to_string().len() < 120);
    }
}

#[cfg(test)]
mod table_tests {
    use super::ErrorCode;

    /// The table itself: numbers ascend (so none repeats), names are unique snake_case,
    /// and the class names follow each language's convention.
    #[test]
    fn codes_ascend_and_names_are_unique() {
        let all = ErrorCode::ALL;
        assert!(all.windows(2).all(|w| w[0].as_u32() < w[1].as_u32()), "{all:?}");
        let names: std::collections::HashSet<_> = all.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), all.len());
        for code in all {
            assert!(code.name().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{code:?}");
            assert!(code.python_class().ends_with("Error"), "{code:?}");
            assert!(code.php_class().ends_with("Exception"), "{code:?}");
        }
    }
}

#[cfg(test)]
mod key_path_tests {
    use super::key_path;

    #[test]
    fn typos_are_named_values_are_not() {
        assert_eq!(key_path("customer.", "emial"), "customer.emial");
        assert_eq!(key_path("", "jane@example.com"), "<a key that is not a field name>");
        assert_eq!(key_path("items[0].", "a b"), "items[0].<a key that is not a field name>");
    }
}
