//! Drives the C ABI (`convtrack` rlib of bindings-c) as a C caller would:
//! arbitrary byte slices (invalid UTF-8, embedded NULs, NULL pointers with any
//! length) passed as `(ptr, len)`, out-params pre-set to a sentinel, a
//! sequence of calls per input so the thread-local last-error state is
//! exercised between them. Built with AddressSanitizer (cargo fuzz's default,
//! `-s address`): every argument lives in its own exactly-sized heap block, so
//! reading one byte past `len` is reported; leaked result strings are reported
//! by LeakSanitizer at exit.
//!
//! Invariants:
//! - no call returns `CONVTRACK_STATUS_PANIC` (900) or a status without a name;
//! - on any status but OK the out-param is untouched (still the sentinel);
//! - a NULL out-param gives `CONVTRACK_STATUS_NULL_POINTER`;
//! - on OK the out-param is a new NUL-terminated string, which is checked
//!   (hash: 64 lowercase hex, or a passed-through MD5; event id: `ct1-` + 32
//!   hex; build: JSON with schema 1) and freed with `convtrack_string_free`;
//! - the last error message is empty after OK/DROPPED and non-empty after an
//!   error, fits the caller's buffer (NUL-terminated, truncated) and never
//!   contains a NUL before its end;
//! - `convtrack_status_name(any u32)` is a static `CONVTRACK_STATUS_*` string.
#![no_main]

use std::ffi::{c_char, CStr};
use std::ptr;

use arbitrary::Arbitrary;
use convtrack::convtrack_status::{self, *};
use convtrack::*;
use libfuzzer_sys::fuzz_target;

/// A `(ptr, len)` argument.
#[derive(Arbitrary, Debug)]
enum Arg {
    /// NULL with any length (the callee must not read it).
    Null(u16),
    /// Exactly these bytes in their own heap block (any bytes: invalid UTF-8, NULs).
    Bytes(Vec<u8>),
    /// A fixed, valid value (so calls get past argument checks often).
    Known(u8),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Normalize {
        field: Arg,
        value: Arg,
        country: Arg,
        null_out: bool,
    },
    Hash {
        field: Arg,
        value: Arg,
        country: Arg,
        null_out: bool,
    },
    EventId {
        pixel_id: Arg,
        event_name: Arg,
        order_id: Arg,
        null_out: bool,
    },
    /// `tracker_new` with these settings (or the fixed ones), then build/track on it.
    Tracker {
        settings: Option<Arg>,
        calls: Vec<(bool, Arg, Arg)>,
        null_tracker: bool,
    },
    StatusName(u32),
    LastError(u8),
}

const KNOWN: &[&[u8]] = &[
    b"email",
    b"ph",
    b"phone",
    b"first_name",
    b"db",
    b"country",
    b"f5first",
    b"doby",
    b"GB",
    b"US",
    b"1234567890",
    b"Purchase",
    b"1001",
    b"Jane.Doe@fuzz.example",
    b"+44 20 7183 8750",
    br#"{"now":1732790000}"#,
    br#"{"event_name":"Purchase","event_time":1732790000,"order_id":"1001","currency":"EUR","value":"59.90","event_source_url":"https://shop.example/thanks","customer":{"email":"Jane.Doe@fuzz.example","phone":"020 7183 8750","country":"GB"},"browser":{"user_agent":"Mozilla/5.0","ip":"203.0.113.7"},"consent":{"marketing":"granted"}}"#,
];

const FIXED_SETTINGS: &[u8] = br#"{"pixel_id":"1234567890","access_token":"t","data_controls":true,"unknown_consent":"grant"}"#;

/// Owns the argument's memory for the duration of the call.
struct Owned(Option<Box<[u8]>>, usize);

impl Owned {
    fn new(arg: &Arg) -> Owned {
        match arg {
            Arg::Null(len) => Owned(None, *len as usize),
            Arg::Bytes(b) => Owned(Some(b.clone().into_boxed_slice()), b.len()),
            Arg::Known(i) => {
                let b = KNOWN[*i as usize % KNOWN.len()];
                Owned(Some(b.to_vec().into_boxed_slice()), b.len())
            }
        }
    }
    fn ptr(&self) -> *const c_char {
        match &self.0 {
            None => ptr::null(),
            // An empty boxed slice has a dangling, non-NULL, aligned pointer: like a C caller's "" + len 0.
            Some(b) => b.as_ptr().cast(),
        }
    }
    fn len(&self) -> usize {
        self.1
    }
    fn bytes(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

/// A recognizable address that no allocation returns.
fn sentinel<T>() -> *mut T {
    0x5eed_0000_usize as *mut T
}

fn last_error(buf_len: usize) -> String {
    // SAFETY: NULL asks for the length only.
    let full = unsafe { convtrack_last_error_message(ptr::null_mut(), 0) };
    let mut buf = vec![0x55u8; buf_len].into_boxed_slice();
    // SAFETY: `buf` is valid for `buf_len` bytes (or NULL-equivalent when 0).
    let n = unsafe { convtrack_last_error_message(buf.as_mut_ptr().cast(), buf_len) };
    assert_eq!(n, full, "last_error_message length depends on the buffer");
    if buf_len > 0 {
        let written = full.min(buf_len - 1);
        assert_eq!(buf[written], 0, "message not NUL-terminated at {written} (len {buf_len})");
        assert!(!buf[..written].contains(&0), "NUL inside the message");
    }
    // The full message, for content checks.
    let mut all = vec![0u8; full + 1];
    // SAFETY: `all` is valid for `full + 1` bytes.
    unsafe { convtrack_last_error_message(all.as_mut_ptr().cast(), all.len()) };
    all.pop();
    String::from_utf8(all).expect("last error message is UTF-8")
}

fn status_name(s: u32) -> &'static str {
    let p = convtrack_status_name(s);
    assert!(!p.is_null());
    // SAFETY: a static NUL-terminated string (documented).
    let name = unsafe { CStr::from_ptr(p) }.to_str().expect("status name is UTF-8");
    assert!(name.starts_with("CONVTRACK_STATUS_"), "{name}");
    name
}

/// Common checks after a fallible call; returns the string on OK (already freed).
fn after_call(what: &str, status: convtrack_status, out: *mut c_char, null_out: bool) -> Option<String> {
    assert_ne!(status, CONVTRACK_STATUS_PANIC, "{what}: a panic reached the C boundary: {}", last_error(0));
    assert_ne!(status_name(status as u32), "CONVTRACK_STATUS_UNKNOWN", "{what}: unnamed status {}", status as u32);
    let msg = last_error(64);
    if null_out {
        assert_eq!(status, CONVTRACK_STATUS_NULL_POINTER, "{what}: NULL out-param gave {status:?}");
        assert!(!msg.is_empty());
        return None;
    }
    match status {
        CONVTRACK_STATUS_OK => {
            assert!(msg.is_empty(), "{what}: OK but last error is {msg:?}");
            assert!(!out.is_null() && out != sentinel(), "{what}: OK without writing the out-param");
            // SAFETY: on OK, `out` is a NUL-terminated string from the library.
            let s = unsafe { CStr::from_ptr(out) }.to_str().map(str::to_owned);
            // SAFETY: returned by convtrack, freed once.
            unsafe { convtrack_string_free(out) };
            Some(s.unwrap_or_else(|_| panic!("{what}: result is not UTF-8")))
        }
        other => {
            assert_eq!(out, sentinel(), "{what}: out-param written on {other:?}");
            if other == CONVTRACK_STATUS_DROPPED {
                assert!(msg.is_empty(), "{what}: DROPPED but last error is {msg:?}");
            } else {
                assert!(!msg.is_empty(), "{what}: {other:?} without a message");
            }
            None
        }
    }
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

type FieldFn = unsafe extern "C" fn(*const c_char, usize, *const c_char, usize, *const c_char, usize, *mut *mut c_char) -> convtrack_status;

fn field_call(name: &str, f: FieldFn, field: &Arg, value: &Arg, country: &Arg, null_out: bool) -> Option<String> {
    let (fa, va, ca) = (Owned::new(field), Owned::new(value), Owned::new(country));
    let mut out: *mut c_char = sentinel();
    let out_ptr = if null_out { ptr::null_mut() } else { &mut out as *mut _ };
    // SAFETY: every (ptr, len) is NULL or valid for len bytes; out_ptr is NULL or valid.
    let status = unsafe { f(fa.ptr(), fa.len(), va.ptr(), va.len(), ca.ptr(), ca.len(), out_ptr) };
    after_call(name, status, out, null_out)
}

/// Settings that would touch the disk or start threads are not fuzzed here.
fn settings_are_pure(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(m)) => !m.contains_key("outbox_path"),
        Ok(_) => true,
        // Not JSON to serde_json: the core (same parser) rejects it before any I/O.
        Err(_) => true,
    }
}

fn run(op: &Op) {
    match op {
        Op::Normalize { field, value, country, null_out } => {
            if let Some(s) = field_call("normalize", convtrack_normalize, field, value, country, *null_out) {
                assert!(!s.is_empty(), "normalize returned OK with an empty string");
            }
        }
        Op::Hash { field, value, country, null_out } => {
            if let Some(s) = field_call("hash", convtrack_hash, field, value, country, *null_out) {
                assert!(is_lower_hex(&s, 64) || is_lower_hex(&s, 32), "hash returned {s:?}");
            }
        }
        Op::EventId { pixel_id, event_name, order_id, null_out } => {
            let (p, e, o) = (Owned::new(pixel_id), Owned::new(event_name), Owned::new(order_id));
            let mut out: *mut c_char = sentinel();
            let out_ptr = if *null_out { ptr::null_mut() } else { &mut out as *mut _ };
            // SAFETY: as in field_call.
            let status = unsafe { convtrack_event_id(p.ptr(), p.len(), e.ptr(), e.len(), o.ptr(), o.len(), out_ptr) };
            if let Some(id) = after_call("event_id", status, out, *null_out) {
                assert!(id.len() == 36 && id.starts_with("ct1-") && is_lower_hex(&id[4..], 32), "event id {id:?}");
            }
        }
        Op::Tracker { settings, calls, null_tracker } => {
            let owned = match settings {
                Some(a) => Owned::new(a),
                None => Owned(Some(FIXED_SETTINGS.to_vec().into_boxed_slice()), FIXED_SETTINGS.len()),
            };
            if let Some(b) = owned.bytes() {
                if !settings_are_pure(b) {
                    return;
                }
            }
            let mut tracker: *mut convtrack_tracker = sentinel();
            // SAFETY: (ptr, len) valid or NULL; &mut tracker valid.
            let status = unsafe { convtrack_tracker_new(owned.ptr(), owned.len(), &mut tracker) };
            assert_ne!(status, CONVTRACK_STATUS_PANIC, "tracker_new: a panic reached the C boundary");
            let msg = last_error(16);
            if status != CONVTRACK_STATUS_OK {
                assert_eq!(tracker, sentinel(), "tracker_new wrote the out-param on {status:?}");
                assert!(!msg.is_empty(), "tracker_new: {status:?} without a message");
                // A NULL/failed tracker: build must refuse it, not crash.
                if *null_tracker {
                    let mut out: *mut c_char = sentinel();
                    // SAFETY: NULL tracker is documented to fail with NULL_POINTER.
                    let s = unsafe { convtrack_tracker_build(ptr::null(), ptr::null(), 0, ptr::null(), 0, &mut out) };
                    assert_eq!(s, CONVTRACK_STATUS_NULL_POINTER);
                    assert_eq!(out, sentinel());
                }
                return;
            }
            assert!(!tracker.is_null() && tracker != sentinel());
            for (track, event, options) in calls.iter().take(4) {
                let (ev, opt) = (Owned::new(event), Owned::new(options));
                let mut out: *mut c_char = sentinel();
                let f = if *track { convtrack_tracker_track } else { convtrack_tracker_build };
                // SAFETY: live tracker; (ptr, len) valid or NULL; &mut out valid.
                let status = unsafe { f(tracker, ev.ptr(), ev.len(), opt.ptr(), opt.len(), &mut out) };
                if *track {
                    // No outbox in these settings: track must say so (or fail earlier on input).
                    assert_ne!(status, CONVTRACK_STATUS_OK, "track succeeded without an outbox");
                }
                if let Some(json) = after_call(if *track { "track" } else { "build" }, status, out, false) {
                    let v: serde_json::Value = serde_json::from_str(&json).expect("build result is JSON");
                    assert_eq!(v["schema"], 1, "build result schema");
                    assert!(v["event_id"].is_string() && v["pixel_html"].is_string());
                }
            }
            // SAFETY: from tracker_new, freed once.
            unsafe { convtrack_tracker_free(tracker) };
        }
        Op::StatusName(s) => {
            status_name(*s);
        }
        Op::LastError(len) => {
            last_error(*len as usize);
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    for op in ops.iter().take(8) {
        run(op);
    }
});
