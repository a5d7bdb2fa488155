//! C ABI for convtrack. Thin wrappers over `convtrack-core`; all logic lives there.
//!
//! Conventions (after rustls-ffi):
//! - every symbol starts with `convtrack_`;
//! - fallible functions return a `convtrack_status` and write their out-param
//!   only on success;
//! - strings go in as `(const char *ptr, size_t len)` UTF-8 (no NUL needed) and
//!   come out as NUL-terminated `char *` that the caller releases with
//!   `convtrack_string_free`;
//! - a `len` above `isize::MAX` (PTRDIFF_MAX; `(size_t)-1` included) is never
//!   read as a length: `CONVTRACK_STATUS_INVALID_ARGUMENT` naming the parameter
//!   (`check_len`), so `from_raw_parts` only ever sees lengths it allows;
//! - every body runs inside one guard that catches panics and records a
//!   message for `convtrack_last_error_message` (per thread). No panic ever
//!   crosses the boundary: what runs outside `catch_unwind` (the error slot,
//!   `convtrack_status_name`, `convtrack_version`) is panic-free by
//!   construction, also while the calling thread exits.
#![allow(non_camel_case_types)]
// The ABI layer necessarily dereferences caller pointers; each use is commented.
#![allow(unsafe_code)]

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{Settings, Tracker};

/// Major version of the library; equals the crate version (checked by tests).
pub const CONVTRACK_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const CONVTRACK_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const CONVTRACK_VERSION_PATCH: u32 = 0;

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

fn status_of(code: ErrorCode) -> convtrack_status {
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

/// An opaque tracker for one merchant. Create with `convtrack_tracker_new`,
/// release with `convtrack_tracker_free`. Immutable after creation: one tracker
/// may be used from several threads at once.
pub struct convtrack_tracker {
    inner: Tracker,
}

/// The most bytes of an error message kept (a longer one is cut at a character
/// boundary and ends with "..."). Messages name a field and a reason, far below this.
const MESSAGE_CAPACITY: usize = 1024;

/// The calling thread's last error message, held inline: no heap and no destructor.
///
/// Without a destructor the thread-local needs no registration and is never
/// destroyed, so it stays usable while the thread exits: glibc runs Rust's TLS
/// destructors before pthread-key destructors, and a C library calling us from
/// such a destructor must get a status, not an abort (a `RefCell<Option<CString>>`
/// panicked there with "cannot access a Thread Local Storage value during or after
/// destruction", and a first use there leaked its destructor registration).
struct Message {
    len: usize,
    cut: bool,
    bytes: [u8; MESSAGE_CAPACITY],
}

impl Message {
    const EMPTY: Message = Message { len: 0, cut: false, bytes: [0; MESSAGE_CAPACITY] };

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Write for Message {
    /// Appends `s`, NUL bytes replaced by `?` (a C string cannot carry them); never
    /// fails, never panics: what does not fit is cut at a character boundary.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        const MARK: &[u8] = b"...";
        let room = MESSAGE_CAPACITY.saturating_sub(self.len);
        let mut take = s.len();
        if take > room {
            self.cut = true;
            take = room.saturating_sub(MARK.len());
            while take > 0 && !s.is_char_boundary(take) {
                take -= 1;
            }
        }
        let text = s.as_bytes().iter().take(take).map(|&b| if b == 0 { b'?' } else { b });
        let tail = if self.cut { MARK } else { &[] };
        for (dst, b) in self.bytes.iter_mut().skip(self.len).zip(text.chain(tail.iter().copied())) {
            *dst = b;
            self.len += 1;
        }
        Ok(())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Message> = const { RefCell::new(Message::EMPTY) };
}

/// Records `message` as the thread's last error. Panic-free: `try_with` and
/// `try_borrow_mut`; where the slot is unavailable the message is dropped.
fn set_last_error(message: &dyn fmt::Display) {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut m) = slot.try_borrow_mut() {
            m.len = 0;
            m.cut = false;
            let _ = fmt::Write::write_fmt(&mut *m, format_args!("{message}"));
        }
    });
}

/// Clears the thread's last error. Panic-free, as `set_last_error`.
fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut m) = slot.try_borrow_mut() {
            m.len = 0;
            m.cut = false;
        }
    });
}

/// Drops the payload of a caught panic. Its destructor is arbitrary code that may
/// panic in turn; that panic is caught as well and its payload leaked, so nothing
/// unwinds out of here.
fn discard_panic(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

/// Runs `body` with panics caught and errors recorded. `body` returns the success status.
/// Everything, recording the message included, runs inside `catch_unwind`; the code
/// after it is panic-free.
fn guard(body: impl FnOnce() -> Result<convtrack_status, Error>) -> convtrack_status {
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

/// The length rule of every `(ptr, len)` pair: `std::slice::from_raw_parts` needs
/// `len <= isize::MAX`, and a larger `len` is no real length anyway: it is
/// `(size_t)-1` (SQLite's "NUL-terminated") or a negative number cast to `size_t`.
/// Checked before the pointer, whether it is NULL or not.
fn check_len(len: usize, name: &str) -> Result<(), Error> {
    if len > isize::MAX as usize {
        return Err(Error::field(
            ErrorCode::InvalidArgument,
            name,
            "the length is above PTRDIFF_MAX ((size_t)-1 does not mean NUL-terminated here): pass the byte length, e.g. strlen()",
        ));
    }
    Ok(())
}

/// Borrows `(ptr, len)` as UTF-8. `name` is the parameter name for messages.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes for the duration of the call.
unsafe fn str_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded caller guarantee.
    let bytes = unsafe { bytes_arg(ptr, len, name)? };
    std::str::from_utf8(bytes).map_err(|_| Error::field(ErrorCode::InvalidUtf8, name, "is not valid UTF-8"))
}

/// Like `str_arg`, but NULL (or length 0) means "not given". The length rule
/// applies all the same: NULL with `(size_t)-1` is rejected, not ignored.
///
/// # Safety
/// As `str_arg`.
unsafe fn opt_str_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<Option<&'a str>, Error> {
    check_len(len, name)?;
    if ptr.is_null() || len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { str_arg(ptr, len, name) }.map(Some)
}

fn check_out<T>(out: *mut T) -> Result<(), Error> {
    if out.is_null() {
        return Err(Error::field(ErrorCode::NullPointer, "out", "must not be NULL"));
    }
    Ok(())
}

/// Hands an owned string to C. JSON output escapes NUL as `\u0000`, but a
/// normalized value may keep a NUL byte (the reference keeps control characters
/// in names and ids): a C string cannot carry it, so say so instead of truncating.
fn to_c_string(s: String) -> Result<*mut c_char, Error> {
    CString::new(s).map(CString::into_raw).map_err(|_| {
        Error::field(
            ErrorCode::InvalidValue,
            "value",
            "normalizes to text with a NUL byte, which a C string cannot carry (convtrack_hash can hash it)",
        )
    })
}

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

/// Copies the calling thread's last error message into `buf` (NUL-terminated,
/// truncated to `len - 1` bytes) and returns the message's full length in
/// bytes, without the NUL. When the last fallible call on this thread
/// succeeded it returns 0 and writes an empty string. Pass `buf = NULL` or
/// `len = 0` to learn the length only. A `len` above PTRDIFF_MAX (such as
/// `(size_t)-1`) is no buffer size: only the NUL is written (an empty string)
/// and the full length is returned. Only functions returning
/// `convtrack_status` set or clear the message.
/// Messages name the offending field and never contain its value; they are
/// at most 1024 bytes long. Callable at any time, also while the thread exits
/// (e.g. from a pthread-key destructor).
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn convtrack_last_error_message(buf: *mut c_char, len: usize) -> usize {
    // Panic-free by construction (`try_with`, `try_borrow`, no indexing, no
    // allocation), so no `catch_unwind` is needed here.
    let copy_out = |bytes: &[u8]| {
        if !buf.is_null() && len > 0 {
            let n = if len > isize::MAX as usize { 0 } else { bytes.len().min(len - 1) };
            // SAFETY: `buf` is valid for `len` bytes (caller contract) and n + 1 <= len;
            // a `len` that cannot be a real size gets only the one byte every buffer has.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                *buf.add(n) = 0;
            }
        }
        bytes.len()
    };
    let copied = LAST_ERROR.try_with(|slot| match slot.try_borrow() {
        Ok(m) => Some(copy_out(m.as_bytes())),
        Err(_) => None,
    });
    match copied {
        Ok(Some(n)) => n,
        _ => copy_out(&[]),
    }
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

/// A by-name field operation of the core (`normalize_named`, `hash_named`).
type FieldOp = fn(&str, &str, Option<&str>) -> Result<Option<String>, Error>;

/// The shared body of `convtrack_normalize` and `convtrack_hash`.
///
/// # Safety
/// As `convtrack_normalize`.
#[allow(clippy::too_many_arguments)]
unsafe fn field_value_call(
    op: FieldOp,
    field: *const c_char,
    field_len: usize,
    value: *const c_char,
    value_len: usize,
    country: *const c_char,
    country_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract on the (ptr, len) pairs.
        let (f, v, c) = unsafe {
            (str_arg(field, field_len, "field")?, str_arg(value, value_len, "value")?, opt_str_arg(country, country_len, "country")?)
        };
        match op(f, v, c)? {
            None => Ok(convtrack_status::CONVTRACK_STATUS_DROPPED),
            Some(s) => {
                let p = to_c_string(s)?;
                // SAFETY: `out` is non-NULL and valid for a write (caller contract).
                unsafe { *out = p };
                Ok(convtrack_status::CONVTRACK_STATUS_OK)
            }
        }
    })
}

/// Normalizes one customer-data value as Meta expects.
///
/// `field` is a field name: `email`/`em`, `phone`/`ph`, `first_name`/`fn`,
/// `last_name`/`ln`, `gender`/`ge`, `date_of_birth`/`db`, `city`/`ct`,
/// `state`/`st`, `zip`/`zp`, `country`, `external_id`, or a derived key
/// (`f5first`, `f5last`, `fi`, `dobd`, `dobm`, `doby`). `country` (optional:
/// NULL or length 0) is an ISO-3166 code or name used to complete national
/// phone numbers to E.164.
///
/// On `CONVTRACK_STATUS_OK`, `*out` receives a new string (free it with
/// `convtrack_string_free`). On `CONVTRACK_STATUS_DROPPED` the value
/// normalizes to nothing and must not be sent; `*out` is untouched, as on
/// every error. Thread-safe.
///
/// # Safety
/// Each `(ptr, len)` must be valid for reads of `len` bytes; `out` must be valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_normalize(
    field: *const c_char,
    field_len: usize,
    value: *const c_char,
    value_len: usize,
    country: *const c_char,
    country_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { field_value_call(convtrack_core::hash::normalize_named, field, field_len, value, value_len, country, country_len, out) }
}

/// Normalizes and SHA-256 hashes one value (lowercase hex, 64 characters), exactly
/// as it is sent to Meta. A value that already is a SHA-256 or MD5 digest passes
/// through lowercased. Arguments, ownership and statuses as `convtrack_normalize`.
/// Thread-safe.
///
/// # Safety
/// As `convtrack_normalize`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_hash(
    field: *const c_char,
    field_len: usize,
    value: *const c_char,
    value_len: usize,
    country: *const c_char,
    country_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { field_value_call(convtrack_core::hash::hash_named, field, field_len, value, value_len, country, country_len, out) }
}

/// Derives the deterministic event id shared by the pixel and the server copy of
/// an event with an order: `ct1-` followed by 32 lowercase hex digits (see the
/// README for the derivation). On success `*out` receives a new string (free it
/// with `convtrack_string_free`). Thread-safe.
///
/// # Safety
/// Each `(ptr, len)` must be valid for reads of `len` bytes; `out` must be valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_event_id(
    pixel_id: *const c_char,
    pixel_id_len: usize,
    event_name: *const c_char,
    event_name_len: usize,
    order_id: *const c_char,
    order_id_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract on the (ptr, len) pairs.
        let (p, e, o) = unsafe {
            (
                str_arg(pixel_id, pixel_id_len, "pixel_id")?,
                str_arg(event_name, event_name_len, "event_name")?,
                str_arg(order_id, order_id_len, "order_id")?,
            )
        };
        let id = convtrack_core::dedup::event_id_checked(p, e, o)?;
        let ptr = to_c_string(id)?;
        // SAFETY: `out` is non-NULL and valid for a write (caller contract).
        unsafe { *out = ptr };
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
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
unsafe fn tracker_ref<'a>(tracker: *const convtrack_tracker) -> Result<&'a Tracker, Error> {
    if tracker.is_null() {
        return Err(Error::field(ErrorCode::NullPointer, "tracker", "must not be NULL"));
    }
    // SAFETY: non-NULL and live (caller contract); shared borrow only.
    Ok(unsafe { &(*tracker).inner })
}

/// Writes an owned JSON string to `out`.
///
/// # Safety
/// `out` must be non-NULL and valid for a write.
unsafe fn write_json(out: *mut *mut c_char, value: &serde_json::Value) -> Result<convtrack_status, Error> {
    let p = to_c_string(value.to_string())?;
    // SAFETY: caller contract.
    unsafe { *out = p };
    Ok(convtrack_status::CONVTRACK_STATUS_OK)
}

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
/// false}`, every key optional. `"server_only": true` skips the pixel snippet
/// (`pixel_html` is `""`) for events no page renders, such as webhooks.
///
/// On success `*out` receives the result as JSON (schema 1):
/// `{"schema":1, "event_id", "event_name", "event_time", "server": "send"|"blocked",
/// "reason": null|"catalog_only"|"data_controls_off"|"consent_denied"|"consent_unknown",
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
/// counters, last error, coverage; see the README). Free `*out` with
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

/// Queues a product create or update for the merchant's catalog (live catalog
/// updates). `product_json` is one product in shop terms, validated like a feed
/// line (see docs/catalog.md); its catalog id follows the `content_id` setting.
/// Needs the settings `catalog_id`, `access_token` and `outbox_path`; works in
/// every mode, `catalog_only` included. A later change of the same product
/// replaces this one while it is still queued (coalescing); the sender (thread
/// or `convtrack_tracker_flush`) posts to the catalog's items_batch edge.
///
/// On success `*out` receives `{"retailer_id", "method": "UPDATE", "coalesced", "queued": true}`;
/// free it with `convtrack_string_free`. Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; `(product_json, product_json_len)` valid for reads;
/// `out` valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_catalog_update(
    tracker: *const convtrack_tracker,
    product_json: *const c_char,
    product_json_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { catalog_call(tracker, product_json, product_json_len, "product_json", out, Tracker::catalog_update_json) }
}

/// Queues the removal of a product from the catalog, by its catalog id (UTF-8).
/// Same settings, coalescing and output as `convtrack_tracker_catalog_update`
/// (`"method": "DELETE"`). Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; `(product_id, product_id_len)` valid for reads;
/// `out` valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_catalog_delete(
    tracker: *const convtrack_tracker,
    product_id: *const c_char,
    product_id_len: usize,
    out: *mut *mut c_char,
) -> convtrack_status {
    // SAFETY: forwarded caller contract.
    unsafe { catalog_call(tracker, product_id, product_id_len, "product_id", out, Tracker::catalog_delete) }
}

/// The shared body of the two catalog-change functions.
///
/// # Safety
/// As `convtrack_tracker_catalog_update`.
unsafe fn catalog_call(
    tracker: *const convtrack_tracker,
    text: *const c_char,
    text_len: usize,
    name: &str,
    out: *mut *mut c_char,
    op: fn(&Tracker, &str) -> Result<convtrack_core::catalog_sync::CatalogChange, Error>,
) -> convtrack_status {
    guard(|| {
        check_out(out)?;
        // SAFETY: caller contract on the tracker and the (ptr, len) pair.
        let (tracker, text) = unsafe { (tracker_ref(tracker)?, str_arg(text, text_len, name)?) };
        let change = op(tracker, text)?;
        // SAFETY: `out` checked non-NULL above.
        unsafe { write_json(out, &change.to_json()) }
    })
}

/// Borrows `(ptr, len)` as raw bytes (JSON lines: invalid UTF-8 is reported per line).
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes for the duration of the call.
unsafe fn bytes_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a [u8], Error> {
    check_len(len, name)?;
    if ptr.is_null() {
        return Err(Error::field(ErrorCode::NullPointer, name, "must not be NULL"));
    }
    // SAFETY: `ptr` is non-NULL (a `u8` needs no alignment), `len <= isize::MAX`
    // (checked above), and the caller guarantees `ptr` is valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// Exports a catalog feed from products given as JSON lines (one product per
/// line, see docs/catalog.md) with the tracker's `content_id` mapping.
/// `format` is `"xml"` (RSS 2.0 with `xmlns:g`), `"csv"` or `"tsv"`.
///
/// A bad product (invalid JSON or UTF-8 on its line, a failed validation) is
/// skipped and reported; it never fails the call. On success `*out_feed`
/// receives the feed and `*out_report` the report JSON
/// `{"format", "content_id", "read", "written", "skipped", "errors": [{"line",
/// "product_id", "code", "field", "reason"}...] (first 100), "errors_omitted",
/// "error_counts", "duration_ms", "finished_at"}`; free both with
/// `convtrack_string_free`. On error neither is written. The export is
/// recorded in the tracker's status (`"catalog"."last_export"`). Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; each `(ptr, len)` valid for reads; `out_feed` and `out_report` valid for writes.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_export_feed(
    tracker: *const convtrack_tracker,
    products_jsonl: *const c_char,
    products_jsonl_len: usize,
    format: *const c_char,
    format_len: usize,
    out_feed: *mut *mut c_char,
    out_report: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out_feed)?;
        check_out(out_report)?;
        // SAFETY: caller contract on the tracker and the (ptr, len) pairs.
        let (tracker, products, format) = unsafe {
            (
                tracker_ref(tracker)?,
                bytes_arg(products_jsonl, products_jsonl_len, "products_jsonl")?,
                str_arg(format, format_len, "format")?,
            )
        };
        let opts = tracker.export_options(convtrack_core::catalog::FeedFormat::parse(format)?);
        let mut feed = Vec::new();
        let report = tracker.export_feed(products, &mut feed, &opts, &mut Default::default())?;
        let feed = String::from_utf8(feed).map_err(|_| Error::general(ErrorCode::Internal, "feed output was not UTF-8"))?;
        let feed = to_c_string(feed)?;
        let report = match to_c_string(report.to_json().to_string()) {
            Ok(r) => r,
            Err(e) => {
                // SAFETY: `feed` came from CString::into_raw just above.
                drop(unsafe { CString::from_raw(feed) });
                return Err(e);
            }
        };
        // SAFETY: both out-params checked non-NULL above.
        unsafe {
            *out_feed = feed;
            *out_report = report;
        }
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}

/// As `convtrack_tracker_export_feed`, from a products file to a feed file.
/// The feed is written to a temporary file next to `dst_path` and renamed
/// into place on success, so a served feed is never half-written and a failed
/// export keeps the previous feed. Memory stays constant in the number of
/// products. On success `*out_report` receives the report JSON (free it with
/// `convtrack_string_free`). Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; each `(ptr, len)` valid for reads; `out_report` valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn convtrack_tracker_export_feed_file(
    tracker: *const convtrack_tracker,
    src_path: *const c_char,
    src_path_len: usize,
    dst_path: *const c_char,
    dst_path_len: usize,
    format: *const c_char,
    format_len: usize,
    out_report: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out_report)?;
        // SAFETY: caller contract on the tracker and the (ptr, len) pairs.
        let (tracker, src, dst, format) = unsafe {
            (
                tracker_ref(tracker)?,
                str_arg(src_path, src_path_len, "src_path")?,
                str_arg(dst_path, dst_path_len, "dst_path")?,
                str_arg(format, format_len, "format")?,
            )
        };
        let opts = tracker.export_options(convtrack_core::catalog::FeedFormat::parse(format)?);
        let mut input = convtrack_core::catalog::open_lines(src, "src_path")?;
        let report = convtrack_core::catalog::write_file_atomically(dst, |out| {
            tracker.export_records(&mut input, out, &opts, &mut Default::default())
        })?;
        // SAFETY: `out_report` checked non-NULL above.
        unsafe { write_json(out_report, &report.to_json()) }
    })
}

/// Checks the items of events (JSON lines, the event schema) against products
/// (JSON lines) under the tracker's `content_id` mapping. On success
/// `*out_report` receives `{"ok", "content_id", "products", "product_errors",
/// "events", "event_errors", "items_checked", "items_missing", "missing":
/// [{"line", "item", "content_id"}...], ...}`; free it with
/// `convtrack_string_free`. Product ids are held in memory; events stream. Thread-safe.
///
/// # Safety
/// `tracker` must be a live tracker; each `(ptr, len)` valid for reads; `out_report` valid for a write.
/// A `len` above PTRDIFF_MAX (e.g. `(size_t)-1`) is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_tracker_check_catalog(
    tracker: *const convtrack_tracker,
    events_jsonl: *const c_char,
    events_jsonl_len: usize,
    products_jsonl: *const c_char,
    products_jsonl_len: usize,
    out_report: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out_report)?;
        // SAFETY: caller contract on the tracker and the (ptr, len) pairs.
        let (tracker, events, products) = unsafe {
            (
                tracker_ref(tracker)?,
                bytes_arg(events_jsonl, events_jsonl_len, "events_jsonl")?,
                bytes_arg(products_jsonl, products_jsonl_len, "products_jsonl")?,
            )
        };
        let report = tracker.check_catalog(events, products)?;
        // SAFETY: `out_report` checked non-NULL above.
        unsafe { write_json(out_report, &report.to_json()) }
    })
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

    #[test]
    fn status_codes_match_core_codes() {
        for code in [
            ErrorCode::NullPointer,
            ErrorCode::InvalidUtf8,
            ErrorCode::InvalidArgument,
            ErrorCode::InvalidJson,
            ErrorCode::UnknownField,
            ErrorCode::WrongType,
            ErrorCode::MissingField,
            ErrorCode::InvalidValue,
            ErrorCode::TooLarge,
            ErrorCode::EventTimeOutOfRange,
            ErrorCode::InvalidSetting,
            ErrorCode::Storage,
            ErrorCode::NotConfigured,
            ErrorCode::Panic,
            ErrorCode::Internal,
        ] {
            assert_eq!(status_of(code) as u32, code.as_u32(), "{code:?}");
        }
    }

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

    /// The message slot is fixed-size: a longer message is cut at a character
    /// boundary with "...", NUL bytes become '?', and the length returned is what is held.
    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = format!("field\0name: {}", "é".repeat(MESSAGE_CAPACITY));
        set_last_error(&long);
        // SAFETY: NULL buffer, length query only.
        let n = unsafe { convtrack_last_error_message(std::ptr::null_mut(), 0) };
        assert!(n <= MESSAGE_CAPACITY && n > MESSAGE_CAPACITY - 8, "{n}");
        let mut buf = vec![0 as c_char; n + 1];
        // SAFETY: `buf` is valid for n + 1 bytes.
        assert_eq!(unsafe { convtrack_last_error_message(buf.as_mut_ptr(), buf.len()) }, n);
        // SAFETY: NUL-terminated by convtrack_last_error_message.
        let Ok(msg) = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_str() else { panic!("not UTF-8") };
        assert_eq!(msg.len(), n);
        assert!(msg.starts_with("field?name: é") && msg.ends_with("é..."), "{msg}");
        set_last_error(&"short");
        // SAFETY: NULL buffer, length query only.
        assert_eq!(unsafe { convtrack_last_error_message(std::ptr::null_mut(), 0) }, 5);
    }
}
