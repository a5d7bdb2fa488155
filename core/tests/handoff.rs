//! Task-queue hand-off (`sender = "celery"`) and the worker's single-shot send, against a
//! scripted transport. End-to-end tests with redis-server, Celery workers and the sandbox
//! receiver over real HTTP live in tests/celery/test_celery.py.

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::order;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use convtrack_core::delivery::transport::{HttpReply, Transport, TransportError};
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{ErrorCode, Settings, Tracker};
use serde_json::{json, Value};

#[derive(Default)]
struct Scripted {
    replies: Mutex<VecDeque<Result<HttpReply, TransportError>>>,
    bodies: Mutex<Vec<Value>>,
}

impl Transport for Scripted {
    fn post_json(&self, _url: &str, _token: &str, body: &str) -> Result<HttpReply, TransportError> {
        self.bodies.lock().unwrap().push(serde_json::from_str(body).unwrap());
        self.replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(HttpReply { status: 200, body: json!({"events_received": 1, "fbtrace_id": "ok"}).to_string() }))
    }
}

fn graph(status: u16, code: i64) -> Result<HttpReply, TransportError> {
    Ok(HttpReply {
        status,
        body: json!({"error": {"message": "x", "code": code, "error_subcode": 2804019, "fbtrace_id": "TRACE"}}).to_string(),
    })
}

fn dir(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("convtrack-handoff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn open(path: &std::path::Path, file: &str, sender: &str, token: &str) -> (Tracker, Arc<Scripted>) {
    let transport = Arc::new(Scripted::default());
    let settings = Settings::from_value(&json!({
        "pixel_id": "1234567890", "access_token": token, "data_controls": true, "sender": sender,
        "outbox_path": path.join(file).to_string_lossy(), "retry_base_ms": 100, "retry_max_ms": 400,
        "endpoint": "http://127.0.0.1:9"
    }))
    .unwrap();
    (Tracker::open_with_transport(settings, transport.clone()).unwrap(), transport)
}

#[test]
fn celery_mode_starts_no_thread_and_hands_off_with_a_lease() {
    let d = dir("lease");
    let (web, tr) = open(&d, "web.sqlite3", "celery", "T");
    let queued = web.track_json(&order("1"), &BuildOptions::default()).unwrap();
    web.track_json(&order("2"), &BuildOptions::default()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(tr.bodies.lock().unwrap().is_empty(), "celery mode: no background sender");

    let rows = web.claim_handoff(10, 60_000).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].event_id, queued.event_id);
    assert_eq!(serde_json::from_str::<Value>(&rows[0].payload).unwrap(), queued.payload.unwrap().to_value());
    assert!(web.claim_handoff(10, 60_000).unwrap().is_empty(), "leased rows are not handed off twice");

    // The broker took the first; the second failed and is released for a later hand-off.
    web.ack_handoff(&[rows[0].id]).unwrap();
    web.release_handoff(&[rows[1].id]).unwrap();
    let again = web.claim_handoff(10, 60_000).unwrap();
    assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), vec![rows[1].id]);
    web.ack_handoff(&[again[0].id]).unwrap();
    assert_eq!(web.status().unwrap()["queue"]["depth"], 0);
    // The dedup ledger survives the hand-off.
    let dup = web.track_json(&order("1"), &BuildOptions::default()).unwrap();
    assert_eq!(dup.to_json()["server"], "duplicate");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn lease_expiry_hands_off_again() {
    let d = dir("expiry");
    let (web, _) = open(&d, "web.sqlite3", "celery", "T");
    web.track_json(&order("1"), &BuildOptions::default()).unwrap();
    assert_eq!(web.claim_handoff(10, 1).unwrap().len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(web.claim_handoff(10, 60_000).unwrap().len(), 1, "a crashed hand-off's rows come back");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn send_prepared_classifies_and_records_in_the_worker_outbox() {
    let d = dir("shot");
    let (web, _) = open(&d, "web.sqlite3", "celery", "T");
    let (worker, tr) = open(&d, "worker.sqlite3", "manual", "T");
    let payload = |id: &str| web.build_json(&order(id), &BuildOptions::default()).unwrap().payload.unwrap().into_string();

    tr.replies.lock().unwrap().push_back(Err(TransportError { kind: "timeout" }));
    let shot = worker.send_prepared(&payload("a"), 2).unwrap();
    assert_eq!(shot.outcome, "retry");
    let delay = shot.retry_in_ms.unwrap();
    assert!((300..=500).contains(&delay), "backoff of the 3rd try: 100 ms * 2^2 capped at 400, ±25 %: {delay}");
    assert_eq!(worker.send_prepared(&payload("a"), 3).unwrap().outcome, "sent");

    tr.replies.lock().unwrap().push_back(graph(400, 100));
    let shot = worker.send_prepared(&payload("b"), 0).unwrap();
    assert_eq!((shot.outcome, shot.code, shot.retry_in_ms), ("invalid", Some(100), None));

    let st = worker.status().unwrap();
    assert_eq!(st["counters"]["sent"], 1);
    assert_eq!(st["counters"]["retried"], 1);
    assert_eq!(st["counters"]["failed"]["100"], 1);
    assert_eq!(st["queue"]["dead_letters"], 1);
    assert_eq!(tr.bodies.lock().unwrap()[1]["data"].as_array().unwrap().len(), 1, "one event per request");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_paused_worker_makes_no_request_until_the_token_changes() {
    let d = dir("pause");
    let (web, _) = open(&d, "web.sqlite3", "celery", "T");
    let p = web.build_json(&order("p"), &BuildOptions::default()).unwrap().payload.unwrap().into_string();
    {
        let (worker, tr) = open(&d, "worker.sqlite3", "manual", "bad-token");
        tr.replies.lock().unwrap().push_back(graph(401, 190));
        let shot = worker.send_prepared(&p, 0).unwrap();
        assert_eq!((shot.outcome, shot.code), ("paused", Some(190)));
        assert!(shot.retry_in_ms.unwrap() >= 60_000);
        assert_eq!(worker.send_prepared(&p, 1).unwrap().outcome, "paused");
        assert_eq!(tr.bodies.lock().unwrap().len(), 1, "paused: no second request");
        assert!(!format!("{:?} {}", shot, worker.status().unwrap()).contains("bad-token"));
    }
    let (fixed, tr) = open(&d, "worker.sqlite3", "manual", "good-token");
    assert_eq!(fixed.send_prepared(&p, 2).unwrap().outcome, "sent");
    assert_eq!(tr.bodies.lock().unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn hostile_prepared_payloads_are_typed_errors_naming_the_field() {
    let d = dir("hostile");
    let (worker, tr) = open(&d, "worker.sqlite3", "manual", "SECRET-TOKEN");
    let huge = "x".repeat(10 << 20);
    let cases: [(&str, ErrorCode, &str); 6] = [
        ("nope", ErrorCode::InvalidJson, "payload"),
        ("\"a string\"", ErrorCode::WrongType, "payload"),
        (r#"{"event_name":"Purchase","event_id":"x","user_data":{}}"#, ErrorCode::MissingField, "payload.event_time"),
        (r#"{"event_name":"Purchase","event_id":"x","event_time":1.5,"user_data":{}}"#, ErrorCode::WrongType, "payload.event_time"),
        (r#"{"event_name":"","event_id":"x","event_time":1,"user_data":{}}"#, ErrorCode::WrongType, "payload.event_name"),
        (&huge, ErrorCode::TooLarge, "payload"),
    ];
    for (payload, code, field) in cases {
        let e = worker.send_prepared(payload, 0).unwrap_err();
        assert_eq!((e.code(), e.field_name()), (code, Some(field)), "{e}");
        assert!(!e.to_string().contains("SECRET-TOKEN"));
    }
    assert!(tr.bodies.lock().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn old_events_expire_on_the_worker_without_a_request() {
    let d = dir("old");
    let (worker, tr) = open(&d, "worker.sqlite3", "manual", "T");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let p = json!({"event_name": "Purchase", "event_id": "old", "event_time": now - 7 * 86400 + 120,
                   "action_source": "website", "user_data": {}});
    assert_eq!(worker.send_prepared(&p.to_string(), 0).unwrap().outcome, "expired");
    assert!(tr.bodies.lock().unwrap().is_empty());
    assert_eq!(worker.status().unwrap()["counters"]["expired"], 1);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_hand_off_drops_unanswered_holds_without_any_flush() {
    let d = dir("hold-expiry");
    let settings = Settings::from_value(&json!({
        "pixel_id": "1234567890", "access_token": "tok", "data_controls": true, "sender": "celery",
        "outbox_path": d.join("web.sqlite3").to_string_lossy(), "unknown_consent": "hold", "hold_ttl": 60,
        "endpoint": "http://127.0.0.1:9"
    }))
    .unwrap();
    let web = Tracker::open_with_transport(settings, Arc::new(Scripted::default())).unwrap();
    let mut e: Value = serde_json::from_str(&order("held-1")).unwrap();
    e["consent"] = json!({"marketing": "unknown"});
    let r = web.track_json(&e.to_string(), &BuildOptions::default()).unwrap();
    assert_eq!(r.to_json()["server"], "held");
    // A day without an answer, then the hand-off thread's next look: a Celery web
    // process never flushes, so before this the hold stayed on disk for good.
    rusqlite::Connection::open(d.join("web.sqlite3")).unwrap().execute("UPDATE held SET expires_at = 1", []).unwrap();
    assert!(web.claim_handoff(10, 1000).unwrap().is_empty());
    let s = web.status().unwrap();
    assert_eq!((s["counters"]["hold"]["expired"].as_i64(), s["queue"]["held"].as_i64()), (Some(1), Some(0)));
    assert_eq!(web.set_consent(&[r.event_id.as_str()], "granted").unwrap(), 0, "an expired hold is never released");
}
