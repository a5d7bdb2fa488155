//! Arguments from C: `(ptr, len)` pairs borrowed as `&str` or bytes, and out-params.

use std::ffi::c_char;

use convtrack_core::error::{Error, ErrorCode};

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
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded caller guarantee.
    let bytes = unsafe { bytes_arg(ptr, len, name)? };
    std::str::from_utf8(bytes).map_err(|_| Error::field(ErrorCode::InvalidUtf8, name, "is not valid UTF-8"))
}

/// Like `str_arg`, but NULL (or length 0) means "not given". The length rule
/// applies all the same: NULL with `(size_t)-1` is rejected, not ignored.
///
/// # Safety
/// As `str_arg`.
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<Option<&'a str>, Error> {
    check_len(len, name)?;
    if ptr.is_null() || len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { str_arg(ptr, len, name) }.map(Some)
}

pub(crate) fn check_out<T>(out: *mut T) -> Result<(), Error> {
    if out.is_null() {
        return Err(Error::field(ErrorCode::NullPointer, "out", "must not be NULL"));
    }
    Ok(())
}

/// Borrows `(ptr, len)` as raw bytes (JSON lines: invalid UTF-8 is reported per line).
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes for the duration of the call.
pub(crate) unsafe fn bytes_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a [u8], Error> {
    check_len(len, name)?;
    if ptr.is_null() {
        return Err(Error::field(ErrorCode::NullPointer, name, "must not be NULL"));
    }
    // SAFETY: `ptr` is non-NULL (a `u8` needs no alignment), `len <= isize::MAX`
    // (checked above), and the caller guarantees `ptr` is valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}
