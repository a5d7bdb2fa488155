//! Delivery logic against a scripted transport (fault injection behind the
//! `Transport` trait). End-to-end tests over real HTTP against the sandbox
//! receiver live in tests/python/test_delivery.py.

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convtrack_core::delivery::transport::{HttpReply, Transport, TransportError};
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{Settings, Tracker};
use serde_json::{json, Value};

#[derive(Default)]
struct Scripted {
    replies: Mutex<VecDeque<Result<HttpReply, TransportError>>>,
    seen: Mutex<Vec<(String, String, Value)>>,
}

impl Scripted {
    fn push(&self, r: Result<HttpReply, TransportError>) {
        self.replies.lock().unwrap().push_back(r);
    }
    fn requests(&self) -> Vec<(String, String, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Transport for Scripted {
    fn post_json(&self, url: &str, token: &str, body: &str) -> Result<HttpReply, TransportError> {
        let parsed: Value = serde_json::from_str(body).unwrap();
        self.seen.lock().unwrap().push((url.to_string(), token.to_string(), parsed.clone()));
        // Default: accept, unless the script says otherwise. A batch containing an event whose
        // order id is "bad" is rejected like Meta rejects a whole batch for one invalid event.
        if let Some(r) = self.replies.lock().unwrap().pop_front() {
            return r;
        }
        let data = parsed["data"].as_array().unwrap();
        if data.iter().any(|e| e["custom_data"]["order_id"] == "bad") {
            return Ok(graph(400, 100, Some(2804019)));
        }
        Ok(HttpReply { status: 200, body: json!({"events_received": data.len(), "fbtrace_id": "ok"}).to_string() })
    }
}

fn graph(status: u16, code: i64, subcode: Option<i64>) -> HttpReply {
    HttpReply {
        status,
        body: json!({"error": {"message": "x", "type": "OAuthException", "code": code, "error_subcode": subcode, "is_transient": false, "fbtrace_id": "TRACE1"}}).to_string(),
    }
}

fn setup(dir: &tempdir::Dir, token: &str) -> (Tracker, Arc<Scripted>) {
    let transport = Arc::new(Scripted::default());
    let settings = Settings::from_value(&json!({
        "pixel_id": "1234567890", "access_token": token, "data_controls": true,
        "outbox_path": dir.path("outbox.sqlite3"), "retry_base_ms": 5, "retry_max_ms": 20,
        "endpoint": "http://127.0.0.1:9", "batch_size": 1000
    }))
    .unwrap();
    let t = Tracker::open_with_transport(settings, transport.clone()).unwrap();
    (t, transport)
}

mod tempdir {
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("convtrack-test-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self, f: &str) -> String {
            self.0.join(f).to_string_lossy().into_owned()
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn order(id: &str) -> Value {
    json!({
        "event_name": "Purchase", "order_id": id, "currency": "EUR", "value": "10.00",
        "event_source_url": "https://shop.example/thanks",
        "customer": {"email": "sentinel.person@example.com"},
        "browser": {"user_agent": "UA", "ip": "203.0.113.7", "fbp": "fb.1.1.1"},
        "consent": {"marketing": "granted"}
    })
}

fn track(t: &Tracker, e: &Value) -> String {
    t.track_json(&e.to_string(), &BuildOptions::default()).unwrap().to_json()["server"].as_str().unwrap().to_string()
}

#[test]
fn queued_then_sent_in_one_batch_with_token_in_header_only() {
    let dir = tempdir::Dir::new("batch");
    let (t, tr) = setup(&dir, "EAAB-SENTINEL-TOKEN");
    for i in 0..25 {
        assert_eq!(track(&t, &order(&format!("o{i}"))), "queued");
    }
    assert_eq!(track(&t, &order("o3")), "duplicate");
    let r = t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.sent, r.requests, r.remaining), (25, 1, 0));
    let reqs = tr.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, "http://127.0.0.1:9/v27.0/1234567890/events");
    assert!(!reqs[0].0.contains("SENTINEL"));
    assert_eq!(reqs[0].1, "EAAB-SENTINEL-TOKEN");
    assert!(!reqs[0].2.to_string().contains("SENTINEL"), "token never in the body");
    let s = t.status().unwrap();
    assert_eq!(s["counters"]["accepted"], 25);
    assert_eq!(s["counters"]["duplicate"], 1);
    assert_eq!(s["counters"]["sent"], 25);
    assert_eq!(s["coverage"]["em"], 1.0);
    assert_eq!(s["coverage"]["fbc"], 0.0);
    assert!(!s.to_string().contains("SENTINEL"));
}

#[test]
fn transient_failures_are_retried_with_backoff() {
    let dir = tempdir::Dir::new("retry");
    let (t, tr) = setup(&dir, "tok");
    track(&t, &order("r1"));
    tr.push(Err(TransportError { kind: "timeout" }));
    tr.push(Ok(HttpReply { status: 503, body: String::new() }));
    tr.push(Ok(graph(400, 2, None)));
    let r = t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.sent, r.retried, r.requests), (1, 3, 4));
    let s = t.status().unwrap();
    assert_eq!(s["counters"]["retried"], 3);
    assert_eq!(s["last_error"]["code"], 2);
    assert_eq!(s["last_error"]["fbtrace_id"], "TRACE1");
    // Every attempt carried the same event id: re-sends are harmless duplicates for Meta.
    let ids: Vec<Value> = tr.requests().iter().map(|r| r.2["data"][0]["event_id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn a_rejected_batch_is_split_to_isolate_the_bad_event() {
    let dir = tempdir::Dir::new("split");
    let (t, _tr) = setup(&dir, "tok");
    for i in 0..7 {
        track(&t, &order(&format!("good{i}")));
    }
    track(&t, &order("bad"));
    let r = t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.sent, r.failed, r.remaining), (7, 1, 0));
    let s = t.status().unwrap();
    assert_eq!(s["counters"]["failed"]["100"], 1);
    assert_eq!(s["queue"]["dead_letters"], 1);
    assert_eq!(s["last_error"]["subcode"], 2804019);
}

#[test]
fn a_bad_token_pauses_delivery_until_the_token_changes() {
    let dir = tempdir::Dir::new("pause");
    let (t, tr) = setup(&dir, "old-token");
    track(&t, &order("p1"));
    tr.push(Ok(graph(401, 190, None)));
    let r = t.flush(Duration::from_secs(2)).unwrap();
    assert_eq!(r.paused.as_deref(), Some("invalid_token"));
    assert_eq!(r.remaining, 1, "nothing lost, nothing burnt");
    let again = t.flush(Duration::from_secs(1)).unwrap();
    assert_eq!((again.requests, again.paused.as_deref()), (0, Some("invalid_token")));
    assert_eq!(t.status().unwrap()["paused"]["code"], 190);
    t.close();
    drop(t);
    // The merchant pastes a new token: delivery resumes by itself.
    let (t2, _tr2) = setup(&dir, "new-token");
    let r = t2.flush(Duration::from_secs(2)).unwrap();
    assert_eq!((r.sent, r.paused), (1, None));
}

#[test]
fn old_events_expire_as_dead_letters() {
    let dir = tempdir::Dir::new("expire");
    let (t, tr) = setup(&dir, "tok");
    let mut e = order("old");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    e["event_time"] = json!(now - 7 * 86400 + 1800); // accepted now, but within the expiry margin
    track(&t, &e);
    let r = t.flush(Duration::from_secs(2)).unwrap();
    assert_eq!((r.expired, r.sent, r.requests), (1, 0, 0));
    assert!(tr.requests().is_empty());
    assert_eq!(t.status().unwrap()["counters"]["expired"], 1);
}

#[test]
fn revoking_consent_drops_a_queued_order() {
    let dir = tempdir::Dir::new("revoke");
    let (t, _tr) = setup(&dir, "tok");
    track(&t, &order("v1"));
    track(&t, &order("v2"));
    assert!(t.revoke_order("Purchase", "v1").unwrap());
    assert!(!t.revoke_order("Purchase", "v1").unwrap());
    let r = t.flush(Duration::from_secs(2)).unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(t.status().unwrap()["counters"]["revoked"], 1);
}

#[test]
fn blocked_events_are_counted_and_never_stored() {
    let dir = tempdir::Dir::new("blocked");
    let (t, tr) = setup(&dir, "tok");
    let mut e = order("b1");
    e["consent"]["marketing"] = json!("denied");
    assert_eq!(track(&t, &e), "blocked");
    assert_eq!(t.flush(Duration::from_secs(1)).unwrap().requests, 0);
    assert!(tr.requests().is_empty());
    assert_eq!(t.status().unwrap()["counters"]["blocked"]["consent_denied"], 1);
    // The outbox file holds no raw personal data.
    drop(t);
    let bytes = std::fs::read(dir.path("outbox.sqlite3")).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("sentinel.person"));
}

#[test]
fn track_needs_an_outbox() {
    let t = Tracker::open(Settings::new("1").unwrap()).unwrap();
    let err = t.track_json(&order("x").to_string(), &BuildOptions::default()).unwrap_err();
    assert_eq!(err.field_name(), Some("outbox_path"));
}

#[test]
fn background_thread_delivers_without_flush() {
    let dir = tempdir::Dir::new("thread");
    let transport = Arc::new(Scripted::default());
    let settings = Settings::from_value(&json!({
        "pixel_id": "1234567890", "access_token": "tok", "data_controls": true, "sender": "thread",
        "outbox_path": dir.path("outbox.sqlite3"), "flush_interval_ms": 20, "endpoint": "http://127.0.0.1:9"
    }))
    .unwrap();
    let t = Tracker::open_with_transport(settings, transport.clone()).unwrap();
    track(&t, &order("bg1"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.status().unwrap()["counters"]["sent"] != 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(t.status().unwrap()["counters"]["sent"], 1);
    t.close();
}

/// Frames in the outbox's WAL now (a PASSIVE checkpoint from a second connection
/// reports the WAL's length; it copies what is left, which no assertion depends on).
fn wal_frames(path: &str) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1)).unwrap()
}

#[test]
fn checkouts_leave_wal_checkpoints_to_the_sender() {
    let dir = tempdir::Dir::new("checkpoint");
    let (t, _) = setup(&dir, "TOKEN");
    let db = dir.path("outbox.sqlite3");
    // SQLite's default would checkpoint inside the commit that passes 1000 frames
    // (then restart the WAL): with checkpoints off the checkout path, it keeps growing.
    for i in 0..700 {
        assert_eq!(track(&t, &order(&format!("cp{i}"))), "queued");
    }
    let wal = std::fs::metadata(format!("{db}-wal")).unwrap().len();
    assert!(wal > 1100 * 4096, "the WAL was checkpointed by a checkout ({wal} bytes)");
    // The flush checkpoints: the next write starts the WAL over, so it is short again.
    assert_eq!(t.flush(Duration::from_secs(5)).unwrap().sent, 700);
    assert_eq!(track(&t, &order("after")), "queued");
    let frames = wal_frames(&db);
    assert!(frames < 50, "the WAL was not restarted after the flush's checkpoint ({frames} frames)");
}

#[test]
fn the_busy_wait_gives_up_after_about_ten_seconds() {
    // The schedule of `wait_for_writer`, summed: a writer blocked by another process
    // waits about as long as SQLite's old 10 s busy timeout, then gets a storage error.
    let total_us: u64 = (3..)
        .take_while(|&t: &i32| convtrack_core::delivery::outbox::wait_schedule_us(t).is_some())
        .map(|t| convtrack_core::delivery::outbox::wait_schedule_us(t).unwrap_or(0))
        .sum();
    assert!((9_000_000..=11_000_000).contains(&total_us), "{total_us} µs");
}

fn tracker_on(dir: &tempdir::Dir, transport: Arc<dyn Transport>) -> Tracker {
    let settings = Settings::from_value(&json!({
        "pixel_id": "1234567890", "access_token": "tok", "data_controls": true,
        "outbox_path": dir.path("outbox.sqlite3"), "endpoint": "http://127.0.0.1:9"
    }))
    .unwrap();
    Tracker::open_with_transport(settings, transport).unwrap()
}

#[test]
fn turning_data_controls_on_needs_the_legal_acknowledgement_and_is_recorded() {
    let dir = tempdir::Dir::new("controls-ack");
    let (t, _tr) = setup(&dir, "tok");
    assert_eq!(t.controls().unwrap()["source"], "settings");
    t.set_controls("alice", Some(false), None, false).unwrap();
    let err = t.set_controls("alice", Some(true), None, false).unwrap_err();
    assert_eq!((err.code(), err.field_name()), (convtrack_core::ErrorCode::InvalidArgument, Some("legal_ack")));
    assert_eq!(t.controls().unwrap()["data_controls"], false, "a refused change changes nothing");
    for (actor, field) in [("", "actor"), ("a\u{0}b", "actor")] {
        assert_eq!(t.set_controls(actor, Some(false), None, false).unwrap_err().field_name(), Some(field));
    }
    assert_eq!(t.set_controls("alice", None, None, false).unwrap_err().field_name(), Some("data_controls"));
    assert_eq!(t.set_controls_str("alice", None, Some("everything"), false).unwrap_err().field_name(), Some("mode"));

    let c = t.set_controls("bob", Some(true), None, true).unwrap();
    assert_eq!((c["data_controls"].as_bool(), c["legal_ack"].as_bool(), c["changed_by"].as_str()), (Some(true), Some(true), Some("bob")));
    assert_eq!(c["source"], "outbox");
    let history = c["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["actor"], "bob");
    assert_eq!(history[0]["data_controls"], true);
    assert_eq!(history[0]["legal_ack"], true);
    assert_eq!(history[0]["mode"], Value::Null);
    assert_eq!(history[1]["actor"], "alice");
    assert_eq!(t.status().unwrap()["controls"]["changed_by"], "bob");
    assert_eq!(t.status().unwrap()["data_controls"], true);
}

#[test]
fn the_history_cannot_be_rewritten() {
    let dir = tempdir::Dir::new("controls-append-only");
    let (t, _tr) = setup(&dir, "tok");
    t.set_controls("alice", Some(false), None, false).unwrap();
    drop(t);
    let c = rusqlite::Connection::open(dir.path("outbox.sqlite3")).unwrap();
    assert!(c.execute("UPDATE controls_history SET actor = 'mallory'", []).is_err());
    assert!(c.execute("DELETE FROM controls_history", []).is_err());
}

#[test]
fn turning_data_controls_off_discards_queued_events_and_sends_nothing() {
    let dir = tempdir::Dir::new("controls-off");
    let (t, tr) = setup(&dir, "tok");
    assert_eq!(track(&t, &order("q1")), "queued");
    assert_eq!(track(&t, &order("q2")), "queued");
    let c = t.set_controls("alice", Some(false), None, false).unwrap();
    assert_eq!(c["history"][0]["discarded"], 2);
    assert_eq!(track(&t, &order("q3")), "blocked");
    let r = t.flush(Duration::from_secs(1)).unwrap();
    assert_eq!((r.requests, r.sent, r.remaining), (0, 0, 0));
    assert!(tr.requests().is_empty(), "nothing reached Meta");
    let status = t.status().unwrap();
    assert_eq!(status["counters"]["discarded"]["data_controls_off"], 2);
    assert_eq!(status["queue"]["depth"], 0);
    // Turned on again: new orders flow; the discarded ones stay discarded (their ids are in the ledger).
    t.set_controls("alice", Some(true), None, true).unwrap();
    assert_eq!(track(&t, &order("q1")), "duplicate");
    assert_eq!(track(&t, &order("q4")), "queued");
    assert_eq!(t.flush(Duration::from_secs(1)).unwrap().sent, 1);
}

#[test]
fn catalog_only_mode_discards_queued_events_too() {
    let dir = tempdir::Dir::new("controls-mode");
    let (t, tr) = setup(&dir, "tok");
    assert_eq!(track(&t, &order("m1")), "queued");
    let c = t.set_controls_str("alice", None, Some("catalog_only"), false).unwrap();
    assert_eq!((c["mode"].as_str(), c["data_controls"].as_bool()), (Some("catalog_only"), Some(true)));
    assert_eq!(t.flush(Duration::from_secs(1)).unwrap().requests, 0);
    assert!(tr.requests().is_empty());
    assert_eq!(t.status().unwrap()["counters"]["discarded"]["catalog_only"], 1);
    assert_eq!(t.build_json(&order("m2").to_string(), &BuildOptions::default()).unwrap().to_json()["reason"], "catalog_only");
}

#[test]
fn a_change_made_through_another_handle_reaches_this_one_without_a_restart() {
    let dir = tempdir::Dir::new("controls-shared");
    let tr = Arc::new(Scripted::default());
    let here = tracker_on(&dir, tr.clone());
    let there = tracker_on(&dir, tr.clone());
    assert_eq!(track(&here, &order("s1")), "queued");
    // Off elsewhere: this handle's very next track is refused by the outbox itself.
    there.set_controls("alice", Some(false), None, false).unwrap();
    let r = here.track_json(&order("s2").to_string(), &BuildOptions::default()).unwrap().to_json();
    assert_eq!((r["server"].as_str(), r["reason"].as_str()), (Some("blocked"), Some("data_controls_off")));
    assert_eq!(here.flush(Duration::from_secs(1)).unwrap().requests, 0);
    // On elsewhere: seen here within about a second.
    there.set_controls("alice", Some(true), None, true).unwrap();
    let start = std::time::Instant::now();
    let mut n = 0;
    while track(&here, &order(&format!("s3-{n}"))) != "queued" {
        assert!(start.elapsed() < Duration::from_secs(2), "the change did not arrive");
        std::thread::sleep(Duration::from_millis(50));
        n += 1;
    }
    assert!(start.elapsed() < Duration::from_millis(1500));
}

/// Accepts every batch, but holds the first request on the wire until `open` is set.
#[derive(Default)]
struct Gated {
    open: std::sync::atomic::AtomicBool,
    entered: std::sync::atomic::AtomicBool,
    inner: Scripted,
}

impl Transport for Gated {
    fn post_json(&self, url: &str, token: &str, body: &str) -> Result<HttpReply, TransportError> {
        use std::sync::atomic::Ordering::SeqCst;
        self.entered.store(true, SeqCst);
        while !self.open.load(SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.inner.post_json(url, token, body)
    }
}

#[test]
fn a_flush_waits_for_events_another_sender_has_on_the_wire() {
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempdir::Dir::new("in-flight");
    let gate = Arc::new(Gated::default());
    let first = Arc::new(tracker_on(&dir, gate.clone()));
    let second = tracker_on(&dir, gate.clone());
    assert_eq!(track(&first, &order("w1")), "queued");
    // The first sender (a background thread, another worker) leases the event and is
    // waiting for Meta's answer when the shop calls flush.
    let busy = {
        let first = first.clone();
        std::thread::spawn(move || first.flush(Duration::from_secs(20)).unwrap())
    };
    while !gate.entered.load(SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let opener = {
        let gate = gate.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            gate.open.store(true, SeqCst);
        })
    };
    // Before: this flush returned at once with the event "remaining" though it was on its
    // way. Now it waits for that answer (not for the 20 s lease) and finds nothing left.
    let start = std::time::Instant::now();
    let r = second.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((r.sent, r.remaining), (0, 0));
    assert!(start.elapsed() < Duration::from_secs(5), "waited for the lease instead of the answer");
    assert_eq!(busy.join().unwrap().sent, 1);
    opener.join().unwrap();
    assert_eq!(gate.inner.requests().len(), 1, "the event was sent once");
}

#[test]
fn dead_letters_can_be_listed_retried_and_discarded() {
    let dir = tempdir::Dir::new("dead-letters");
    let (t, tr) = setup(&dir, "tok");
    for id in ["bad", "d2"] {
        track(&t, &order(id));
    }
    for _ in 0..3 {
        tr.push(Ok(graph(400, 100, Some(2804019))));
    }
    t.flush(Duration::from_secs(1)).unwrap();
    let dead = t.dead_letters(10).unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead.iter().all(|d| d.get("payload").is_none() && d["id"].is_i64() && d["failed_at"].is_i64()));
    let ids: Vec<i64> = dead.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    // Retry one: it goes back to the queue and is sent; discard the other.
    let retry_id = ids[0];
    assert_eq!(t.retry_dead_letters(Some(&[retry_id])).unwrap(), 1);
    assert_eq!(t.status().unwrap()["queue"]["depth"], 1);
    let before = tr.requests().len();
    t.flush(Duration::from_secs(1)).unwrap();
    assert_eq!(tr.requests().len(), before + 1);
    let other: Vec<i64> = ids.into_iter().filter(|&i| i != retry_id).collect();
    assert_eq!(t.discard_dead_letters(Some(&other)).unwrap(), 1);
    assert_eq!(t.discard_dead_letters(None).unwrap(), t.dead_letters(10).unwrap().len() as u64);
    assert!(t.dead_letters(10).unwrap().is_empty());
    // While data controls are off, dead letters cannot be queued again.
    t.set_controls("alice", Some(false), None, false).unwrap();
    assert_eq!(t.retry_dead_letters(None).unwrap_err().field_name(), Some("data_controls"));
}

fn hold_tracker(dir: &tempdir::Dir, transport: Arc<Scripted>, ttl: u64) -> Tracker {
    let settings = Settings::from_value(&json!({
        "pixel_id": "1234567890", "access_token": "tok", "data_controls": true, "unknown_consent": "hold",
        "hold_ttl": ttl, "outbox_path": dir.path("outbox.sqlite3"), "endpoint": "http://127.0.0.1:9"
    }))
    .unwrap();
    Tracker::open_with_transport(settings, transport).unwrap()
}

fn unanswered(id: &str) -> Value {
    let mut e = order(id);
    e["consent"]["marketing"] = json!("unknown");
    e
}

fn tracked_id(t: &Tracker, e: &Value) -> (String, String) {
    let r = t.track_json(&e.to_string(), &BuildOptions::default()).unwrap().to_json();
    (r["server"].as_str().unwrap().to_string(), r["event_id"].as_str().unwrap().to_string())
}

#[test]
fn held_events_wait_for_the_shoppers_answer() {
    let dir = tempdir::Dir::new("hold");
    let tr = Arc::new(Scripted::default());
    let t = hold_tracker(&dir, tr.clone(), 3600);
    let (server, granted_id) = tracked_id(&t, &unanswered("h1"));
    assert_eq!(server, "held");
    let (_, denied_id) = tracked_id(&t, &unanswered("h2"));
    assert_eq!(tracked_id(&t, &unanswered("h1")).0, "duplicate");
    assert_eq!(t.flush(Duration::from_secs(1)).unwrap().requests, 0, "held events are not sent");
    assert!(tr.requests().is_empty());
    assert_eq!(t.status().unwrap()["queue"]["held"], 2);

    assert_eq!(t.set_consent(&[granted_id.as_str()], "granted").unwrap(), 1);
    assert_eq!(t.set_consent(&[denied_id.as_str()], "denied").unwrap(), 1);
    assert_eq!(t.set_consent(&[denied_id.as_str()], "granted").unwrap(), 0, "a dropped hold cannot come back");
    assert_eq!(t.flush(Duration::from_secs(1)).unwrap().sent, 1);
    let sent: Vec<String> = tr
        .requests()
        .iter()
        .flat_map(|r| r.2["data"].as_array().unwrap().clone())
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent, vec![granted_id]);
    let hold = &t.status().unwrap()["counters"]["hold"];
    assert_eq!((hold["held"].as_i64(), hold["released"].as_i64(), hold["dropped"].as_i64()), (Some(2), Some(1), Some(1)));
    assert_eq!(t.set_consent(&["x"], "maybe").unwrap_err().field_name(), Some("marketing"));
    assert_eq!(t.set_consent(&[""], "granted").unwrap_err().field_name(), Some("event_ids[0]"));
    assert_eq!(t.set_consent_json(r#"{"event_ids": [1], "marketing": "granted"}"#).unwrap_err().field_name(), Some("event_ids[0]"));
}

#[test]
fn unanswered_holds_expire_and_are_never_sent() {
    let dir = tempdir::Dir::new("hold-expiry");
    let tr = Arc::new(Scripted::default());
    let t = hold_tracker(&dir, tr.clone(), 60);
    let (_, id) = tracked_id(&t, &unanswered("e1"));
    // Age the hold past its time, as a day without an answer would.
    {
        let c = rusqlite::Connection::open(dir.path("outbox.sqlite3")).unwrap();
        c.execute("UPDATE held SET expires_at = 1", []).unwrap();
    }
    t.flush(Duration::from_secs(1)).unwrap();
    assert_eq!(t.set_consent(&[id.as_str()], "granted").unwrap(), 0);
    assert_eq!(t.flush(Duration::from_secs(1)).unwrap().requests, 0);
    assert!(tr.requests().is_empty());
    assert_eq!(t.status().unwrap()["counters"]["hold"]["expired"], 1);
}

#[test]
fn turning_data_controls_off_drops_held_events_too() {
    let dir = tempdir::Dir::new("hold-off");
    let tr = Arc::new(Scripted::default());
    let t = hold_tracker(&dir, tr.clone(), 3600);
    let (_, id) = tracked_id(&t, &unanswered("o1"));
    assert_eq!(t.set_controls("alice", Some(false), None, false).unwrap()["history"][0]["discarded"], 1);
    assert_eq!(t.set_consent(&[id.as_str()], "granted").unwrap(), 0);
    assert_eq!(t.flush(Duration::from_secs(1)).unwrap().requests, 0);
}

#[test]
fn a_handed_off_event_is_discarded_by_a_worker_after_the_switch_off() {
    let dir = tempdir::Dir::new("prepared-off");
    let (t, tr) = setup(&dir, "tok");
    let built = t.build_json(&order("p1").to_string(), &BuildOptions::default()).unwrap();
    let payload = built.payload.as_ref().unwrap().as_str().to_string();
    t.set_controls("alice", Some(false), None, false).unwrap();
    let shot = t.send_prepared(&payload, 0).unwrap();
    assert_eq!((shot.outcome, shot.requests), ("discarded", 0));
    assert!(tr.requests().is_empty());
    assert_eq!(t.status().unwrap()["counters"]["discarded"]["data_controls_off"], 1);
}

/// Runs `hook` once, on the first request, before answering it like [`Scripted`].
#[derive(Default)]
struct OnFirstRequest {
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    inner: Scripted,
}

impl Transport for OnFirstRequest {
    fn post_json(&self, url: &str, token: &str, body: &str) -> Result<HttpReply, TransportError> {
        if let Some(hook) = self.hook.lock().unwrap().take() {
            hook();
        }
        self.inner.post_json(url, token, body)
    }
}

#[test]
fn a_switch_off_while_a_rejected_batch_is_on_the_wire_stops_its_split() {
    let dir = tempdir::Dir::new("split-after-off");
    let transport = Arc::new(OnFirstRequest::default());
    let t = tracker_on(&dir, transport.clone());
    let dashboard = Arc::new(tracker_on(&dir, Arc::new(Scripted::default())));
    for i in 0..7 {
        track(&t, &order(&format!("good{i}")));
    }
    track(&t, &order("bad"));
    // The merchant switches off while Meta is looking at the batch it will reject.
    *transport.hook.lock().unwrap() = Some(Box::new(move || {
        dashboard.set_controls("alice", Some(false), None, false).unwrap();
    }));
    let r = t.flush(Duration::from_secs(5)).unwrap();
    // Before: the batch was split and its halves sent again, from memory, after the "no".
    assert_eq!(transport.inner.requests().len(), 1, "no half of the batch left after the switch-off");
    assert_eq!((r.sent, r.remaining), (0, 0));
    let s = t.status().unwrap();
    // The 8 events were in that request: not counted as "never sent".
    assert_eq!(s["counters"]["discarded_in_flight"]["data_controls_off"], 8);
    assert!(s["counters"]["discarded"].get("data_controls_off").is_none(), "{}", s["counters"]);
    let c = t.controls().unwrap();
    assert_eq!((c["history"][0]["discarded"].as_i64(), c["history"][0]["in_flight"].as_i64()), (Some(0), Some(8)));
}

#[test]
fn a_revoke_while_a_rejected_batch_is_on_the_wire_keeps_the_order_out_of_its_split() {
    let dir = tempdir::Dir::new("split-after-revoke");
    let transport = Arc::new(OnFirstRequest::default());
    let t = Arc::new(tracker_on(&dir, transport.clone()));
    for i in 0..3 {
        track(&t, &order(&format!("good{i}")));
    }
    track(&t, &order("bad"));
    let shop = tracker_on(&dir, Arc::new(Scripted::default()));
    *transport.hook.lock().unwrap() = Some(Box::new(move || {
        assert!(shop.revoke_order("Purchase", "good0").unwrap());
    }));
    let r = t.flush(Duration::from_secs(5)).unwrap();
    let sent: Vec<String> = transport.inner.requests()[1..]
        .iter()
        .flat_map(|(_, _, b)| b["data"].as_array().unwrap().iter().map(|e| e["custom_data"]["order_id"].as_str().unwrap().to_string()))
        .collect();
    assert!(!sent.contains(&"good0".to_string()), "the revoked order was sent again: {sent:?}");
    assert_eq!((r.sent, r.failed), (2, 1));
}

#[test]
fn an_outbox_made_before_the_in_flight_column_is_opened_and_kept() {
    let dir = tempdir::Dir::new("migrate");
    let path = dir.path("outbox.sqlite3");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE controls_history (id INTEGER PRIMARY KEY AUTOINCREMENT, pixel_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
             actor TEXT NOT NULL, set_data_controls INTEGER, set_mode TEXT, legal_ack INTEGER NOT NULL, discarded INTEGER NOT NULL,
             data_controls INTEGER NOT NULL, mode TEXT NOT NULL);
             INSERT INTO controls_history(pixel_id, at_ms, actor, set_data_controls, set_mode, legal_ack, discarded, data_controls, mode)
             VALUES ('1234567890', 1000, 'bob', 1, NULL, 1, 0, 1, 'pixel_and_server');",
        )
        .unwrap();
    }
    let t = tracker_on(&dir, Arc::new(Scripted::default()));
    let c = t.controls().unwrap();
    assert_eq!((c["changed_by"].as_str(), c["history"][0]["in_flight"].as_i64()), (Some("bob"), Some(0)));
    t.set_controls("alice", Some(false), None, false).unwrap();
    assert_eq!(t.controls().unwrap()["history"].as_array().unwrap().len(), 2);
    // A second handle on the migrated file finds the column there.
    assert_eq!(tracker_on(&dir, Arc::new(Scripted::default())).controls().unwrap()["changed_by"], "alice");
}

#[test]
fn one_consent_answer_names_at_most_a_thousand_events() {
    let dir = tempdir::Dir::new("consent-cap");
    let t = tracker_on(&dir, Arc::new(Scripted::default()));
    let ids: Vec<String> = (0..1001).map(|i| format!("id-{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let e = t.set_consent(&refs, "granted").unwrap_err();
    assert_eq!((e.code(), e.field_name()), (convtrack_core::ErrorCode::TooLarge, Some("event_ids")));
    assert_eq!(t.set_consent(&refs[..1000], "denied").unwrap(), 0);
}
