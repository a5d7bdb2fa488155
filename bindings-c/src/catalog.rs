//! The catalog: live updates (`convtrack_tracker_catalog_update`/`_delete`), feed
//! export and the catalog check.

use std::ffi::{c_char, CString};

use convtrack_core::error::{Error, ErrorCode};
use convtrack_core::Tracker;

use crate::boundary::{bytes_arg, check_out, guard, str_arg, to_c_string, write_json};
use crate::status::convtrack_status;
use crate::tracker::{convtrack_tracker, tracker_ref};

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
    op: fn(&Tracker, &str) -> Result<convtrack_core::tracker::CatalogChange, Error>,
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
