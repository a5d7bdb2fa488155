//! `Tracker::track` with a real SQLite outbox on disk, and the calls around it
//! (`flush` against an endpoint that refuses connections, `revoke_order`,
//! `status`). One input is a sequence of operations on one tracker:
//! event JSON and options JSON as arbitrary text (invalid JSON, huge or
//! negative `now`, hostile strings), so the durable path sees what `build` sees
//! plus storage.
//!
//! Invariants:
//! - no panic (overflow checks are on in fuzz builds);
//! - `track` of the same event id twice never gives `queued` twice (the ledger);
//! - a `queued` result adds exactly one event to the queue depth, anything else
//!   adds none;
//! - an error names a field or is a storage/settings error, and its text never
//!   carries an e-mail address from the input (`@fuzz.example`);
//! - the outbox file and its companions stay private (mode 0600).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{Settings, Tracker};
use libfuzzer_sys::fuzz_target;

const EMAIL_MARK: &str = "@fuzz.example";

#[derive(Arbitrary, Debug)]
enum Op {
    /// Event JSON text and optional options JSON text.
    Track(String, Option<String>),
    /// The same event twice.
    TrackTwice(String),
    Flush,
    Revoke(String),
    Status,
}

fn dir() -> &'static std::path::PathBuf {
    static D: OnceLock<std::path::PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        // One fixed place, emptied at start: libFuzzer exits without running destructors.
        let d = std::env::temp_dir().join("convtrack-fuzz-track_outbox");
        let _ = std::fs::remove_dir_all(&d);
        d
    })
}

fn tracker() -> &'static Tracker {
    static T: OnceLock<Tracker> = OnceLock::new();
    T.get_or_init(|| {
        // A directory convtrack creates itself; port 9 on loopback refuses connections.
        let path = dir().join("sub").join("outbox.sqlite3");
        let settings = serde_json::json!({
            "pixel_id": "1234567890", "access_token": "t", "data_controls": true, "unknown_consent": "grant",
            "outbox_path": path.to_str().expect("temp path is UTF-8"), "sender": "manual",
            "endpoint": "http://127.0.0.1:9", "request_timeout_ms": 200, "retry_base_ms": 1, "retry_max_ms": 2
        });
        Tracker::open(Settings::from_value(&settings).expect("fixed settings are valid")).expect("outbox opens")
    })
}

fn depth(t: &Tracker) -> i64 {
    t.status().expect("status")["queue"]["depth"].as_i64().expect("depth")
}

fn check_error(input: &str, e: &convtrack_core::Error) {
    let text = e.to_string();
    assert!(!text.is_empty());
    if input.contains(EMAIL_MARK) {
        assert!(!text.contains(EMAIL_MARK), "error echoes an e-mail address: {text:?}");
    }
}

fn track(t: &Tracker, event: &str, options: Option<&str>) -> Option<(String, String)> {
    let options = match options.map(BuildOptions::from_json) {
        None => BuildOptions::default(),
        Some(Ok(o)) => o,
        Some(Err(e)) => {
            check_error(options.unwrap_or_default(), &e);
            return None;
        }
    };
    let before = depth(t);
    match t.track_json(event, &options) {
        Ok(r) => {
            let server = r.to_json()["server"].as_str().unwrap_or_default().to_string();
            let added = depth(t) - before;
            assert_eq!(added, i64::from(server == "queued"), "server {server:?} changed the depth by {added}");
            Some((server, r.event_id))
        }
        Err(e) => {
            check_error(event, &e);
            assert_eq!(depth(t), before, "a failed track changed the queue");
            None
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let t = tracker();
    for op in ops.iter().take(16) {
        match op {
            Op::Track(event, options) => {
                track(t, event, options.as_deref());
            }
            Op::TrackTwice(event) => {
                let first = track(t, event, None);
                let second = track(t, event, None);
                if let (Some((a, id_a)), Some((b, id_b))) = (first, second) {
                    // Without an order id each call gets a random event id of its own.
                    assert!(!(a == "queued" && b == "queued" && id_a == id_b), "one event id queued twice");
                }
            }
            Op::Flush => {
                let _ = t.flush(Duration::from_millis(50));
            }
            Op::Revoke(order) => {
                if let Err(e) = t.revoke_order("Purchase", order) {
                    check_error(order, &e);
                }
            }
            Op::Status => {
                let s = t.status().expect("status").to_string();
                assert!(!s.contains(EMAIL_MARK));
            }
        }
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let p = format!("{}{suffix}", dir().join("sub").join("outbox.sqlite3").display());
        if let Ok(m) = std::fs::metadata(&p) {
            assert_eq!(m.permissions().mode() & 0o077, 0, "{p} is readable by others");
        }
    }
});
