//! The free functions: `convtrack_normalize`, `convtrack_hash`, `convtrack_event_id`, `convtrack_first_party_cookies`.

use std::ffi::c_char;

use convtrack_core::error::Error;

use crate::boundary::{check_out, guard, opt_str_arg, str_arg, to_c_string};
use crate::status::convtrack_status;

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
/// docs/decisions.md for the derivation). On success `*out` receives a new string (free it
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
        let id = convtrack_core::build::event_id::event_id_checked(p, e, o)?;
        let ptr = to_c_string(id)?;
        // SAFETY: `out` is non-NULL and valid for a write (caller contract).
        unsafe { *out = ptr };
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}

/// The first-party `_fbp` / `_fbc` cookies for one request (docs/spec.md, "First-party
/// cookies"). `request_json` is an object with the optional keys `fbp`, `fbc` (the
/// request's cookies), `url` (the page URL) or `fbclid`, `host` (the `Host` header),
/// `domain` (the cookie domain, e.g. `example.com`; absent: host-only cookies),
/// `now_ms` (absent: the clock) and `random` (absent: the OS random source; for tests).
/// A malformed cookie or click id is treated as absent, never an error.
///
/// On success `*out_json` receives `{"fbp", "fbc", "cookies": [{"name", "value",
/// "max_age", "domain", "path", "same_site", "http_only"}]}` (free it with
/// `convtrack_string_free`): set each cookie of `cookies` (only with the shopper's
/// consent) and put `fbp`/`fbc` into the event's `browser` block. Thread-safe.
///
/// # Safety
/// `(request_json, len)` must be valid for reads of `len` bytes; `out_json` must be valid
/// for a write. A `len` above PTRDIFF_MAX is never read: `CONVTRACK_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn convtrack_first_party_cookies(
    request_json: *const c_char,
    len: usize,
    out_json: *mut *mut c_char,
) -> convtrack_status {
    guard(|| {
        check_out(out_json)?;
        // SAFETY: caller contract on the (ptr, len) pair.
        let request = unsafe { str_arg(request_json, len, "request_json")? };
        let ptr = to_c_string(convtrack_core::build::cookies::first_party_cookies_json(request)?)?;
        // SAFETY: `out_json` is non-NULL and valid for a write (caller contract).
        unsafe { *out_json = ptr };
        Ok(convtrack_status::CONVTRACK_STATUS_OK)
    })
}
