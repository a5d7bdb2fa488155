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

// The modules are declared in the order of the header: cbindgen emits the items of
// each module in source order, module after module in the order of these `mod`
// lines. The blank lines between them keep rustfmt from sorting them by name;
// `scripts/gen-header.sh --check` fails if the order changes.

// The version and the one-time start-up work.
mod library;

// `convtrack_status` and its names.
mod status;

// What every function shares: panic guard, last error, arguments, output strings.
mod boundary;

// `convtrack_normalize`, `convtrack_hash`, `convtrack_event_id`.
mod functions;

// The tracker handle: new, free, borrow.
mod tracker;

// Build, track and the page snippet.
mod event;

// Flush and status.
mod delivery;

// Live catalog updates, feed export, catalog check.
mod catalog;

// The merchant's controls, dead letters, resume.
mod controls;

// The token and pixel health check, the test event.
mod health;

pub use boundary::{convtrack_last_error_message, convtrack_string_free};
pub use catalog::{
    convtrack_tracker_catalog_delete, convtrack_tracker_catalog_update, convtrack_tracker_check_catalog, convtrack_tracker_export_feed,
    convtrack_tracker_export_feed_file,
};
pub use controls::{
    convtrack_tracker_controls, convtrack_tracker_dead_letters, convtrack_tracker_discard_dead_letters, convtrack_tracker_resume,
    convtrack_tracker_retry_dead_letters, convtrack_tracker_set_consent, convtrack_tracker_set_controls,
};
pub use delivery::{convtrack_tracker_flush, convtrack_tracker_status};
pub use event::{convtrack_tracker_build, convtrack_tracker_page_snippet, convtrack_tracker_track};
pub use functions::{convtrack_event_id, convtrack_hash, convtrack_normalize};
pub use health::{convtrack_tracker_check_online, convtrack_tracker_send_test_event};
pub use library::{convtrack_version, convtrack_warm_up, CONVTRACK_VERSION_MAJOR, CONVTRACK_VERSION_MINOR, CONVTRACK_VERSION_PATCH};
pub use status::{convtrack_status, convtrack_status_name};
pub use tracker::{convtrack_tracker, convtrack_tracker_free, convtrack_tracker_new};

// Issue 17 part 3: the first-party _fbp/_fbc cookies of one request.
pub use functions::convtrack_first_party_cookies;

// Issue 16: requests a shop integration served without tracking, counted in the outbox.
pub use controls::convtrack_tracker_count_degraded;
