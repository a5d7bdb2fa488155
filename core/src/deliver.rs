//! Delivery (docs/spec.md §9): batches from the outbox to the Conversions API, with
//! error classification, exponential backoff with jitter, batch splitting to
//! isolate a rejected event, a pause on a bad token, and expiry of events that
//! can no longer be accepted. At-least-once: a re-send after a crash carries
//! the same `event_id`, so Meta keeps one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::error::Result;
use crate::hash::sha256_hex;
use crate::input::MAX_AGE_SECONDS;
use crate::outbox::{Claimed, Outbox};
use crate::settings::Settings;
use crate::transport::{HttpReply, Transport, TransportError};

/// Events are expired this long before Meta would reject them.
pub const EXPIRY_MARGIN_SECONDS: i64 = 3600;

/// Graph error codes that are worth retrying (docs/spec.md §9).
pub fn is_retryable_code(code: i64) -> bool {
    matches!(code, 1 | 2 | 4 | 17 | 32 | 341 | 368 | 613) || (80000..=80014).contains(&code)
}

/// What one request's answer means for its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Meta accepted the batch.
    Sent { fbtrace_id: Option<String> },
    /// Try again later (network, timeout, 5xx, 429, transient Graph errors).
    Retry { code: Option<i64>, why: String, fbtrace_id: Option<String> },
    /// Meta rejected the batch as invalid (code 100): split it, dead-letter a single bad event.
    Invalid { code: i64, subcode: Option<i64>, fbtrace_id: Option<String> },
    /// Stop sending until the merchant fixes the token or permissions (190, 10, 200–299).
    Pause { code: i64, why: &'static str, fbtrace_id: Option<String> },
}

/// Classifies an answer (or its absence).
pub fn classify(result: &std::result::Result<HttpReply, TransportError>) -> Outcome {
    let reply = match result {
        Err(e) => return Outcome::Retry { code: None, why: format!("network: {}", e.kind), fbtrace_id: None },
        Ok(r) => r,
    };
    // A redirect is never followed (see `UreqTransport::new`) and never counts as
    // delivery, whatever its body says: the events stay queued and are retried.
    if (300..400).contains(&reply.status) {
        return Outcome::Retry { code: None, why: format!("http {}: redirect not followed", reply.status), fbtrace_id: None };
    }
    let body: Option<Value> = serde_json::from_str(&reply.body).ok();
    let fbtrace = |v: &Value| v.get("fbtrace_id").and_then(Value::as_str).map(str::to_owned);
    if (200..300).contains(&reply.status) {
        return match &body {
            Some(b) if b.get("events_received").is_some() => Outcome::Sent { fbtrace_id: fbtrace(b) },
            // Unknown whether Meta kept it: send again (the event id makes that harmless).
            _ => Outcome::Retry { code: None, why: format!("http {}: malformed response", reply.status), fbtrace_id: None },
        };
    }
    let error = body.as_ref().and_then(|b| b.get("error"));
    let Some(error) = error else {
        return Outcome::Retry { code: None, why: format!("http {}", reply.status), fbtrace_id: None };
    };
    let code = error.get("code").and_then(Value::as_i64);
    let subcode = error.get("error_subcode").and_then(Value::as_i64);
    let transient = error.get("is_transient").and_then(Value::as_bool).unwrap_or(false);
    let trace = fbtrace(error);
    match code {
        Some(190) => Outcome::Pause { code: 190, why: "invalid_token", fbtrace_id: trace },
        Some(c) if c == 10 || (200..=299).contains(&c) => Outcome::Pause { code: c, why: "permission", fbtrace_id: trace },
        Some(c) if transient || is_retryable_code(c) => {
            Outcome::Retry { code: Some(c), why: format!("http {}: graph error {c}", reply.status), fbtrace_id: trace }
        }
        Some(100) => Outcome::Invalid { code: 100, subcode, fbtrace_id: trace },
        _ if transient || reply.status >= 500 || reply.status == 429 => {
            Outcome::Retry { code, why: format!("http {}", reply.status), fbtrace_id: trace }
        }
        // Unknown errors are retried with backoff; expiry bounds them.
        _ => Outcome::Retry { code, why: format!("http {}: unclassified graph error", reply.status), fbtrace_id: trace },
    }
}

/// What a flush did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    pub requests: u64,
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub expired: u64,
    /// Events still queued after the flush.
    pub remaining: i64,
    /// Why delivery is paused, if it is.
    pub paused: Option<String>,
    /// Live catalog updates sent in the same flush.
    pub catalog: crate::catalog_sync::CatalogReport,
}

impl FlushReport {
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests, "sent": self.sent, "retried": self.retried, "failed": self.failed,
            "expired": self.expired, "remaining": self.remaining, "paused": self.paused,
            "catalog": self.catalog.to_json(),
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn jitter_factor() -> f64 {
    let mut b = [0u8; 2];
    if getrandom::getrandom(&mut b).is_err() {
        return 1.0;
    }
    0.75 + f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) * 0.5
}

/// Nothing is due: sleeps until the next retry falls due when that is before `deadline`
/// and returns `true` (look again), else returns `false` (the flush is over).
pub(crate) fn wait_for_next_due(depth: i64, next_attempt_at_ms: Option<i64>, now: i64, deadline: Instant) -> bool {
    match next_attempt_at_ms {
        Some(next) if depth > 0 => {
            let wait = Duration::from_millis((next - now).max(5) as u64);
            if Instant::now() + wait > deadline {
                return false;
            }
            std::thread::sleep(wait);
            true
        }
        _ => false,
    }
}

/// Exponential backoff with jitter after `attempts` failed attempts, capped at `retry_max_ms`.
pub(crate) fn retry_delay_ms(settings: &Settings, attempts: i64) -> i64 {
    let attempts = attempts.clamp(0, 30) as i32;
    let base = settings.retry_base_ms as f64 * 2f64.powi(attempts);
    ((base.min(settings.retry_max_ms as f64) * jitter_factor()) as i64).max(1)
}

/// A fingerprint of the token (for "was the paused token replaced?"): not the token.
fn token_fingerprint(token: &str) -> String {
    sha256_hex(&format!("convtrack.token.v1:{token}"))[..16].to_string()
}

/// Sends what the outbox holds for one pixel.
pub struct Sender {
    settings: Settings,
    outbox: Arc<Outbox>,
    transport: Arc<dyn Transport>,
}

impl Sender {
    /// Dead-letters events past Meta's window and prunes old ledger entries and
    /// dead letters; returns "now" in milliseconds.
    fn expire(&self, report: &mut FlushReport) -> Result<i64> {
        let now = now_ms();
        let cutoff = now / 1000 - MAX_AGE_SECONDS + EXPIRY_MARGIN_SECONDS;
        let expired = self.outbox.expire(cutoff, now)?;
        if expired > 0 {
            log::warn!("convtrack: {expired} event(s) expired undelivered (older than Meta accepts)");
            report.expired += expired as u64;
        }
        Ok(now)
    }

    pub fn new(settings: Settings, outbox: Arc<Outbox>, transport: Arc<dyn Transport>) -> Sender {
        Sender { settings, outbox, transport }
    }

    fn token(&self) -> &str {
        self.settings.access_token.as_ref().map(|t| t.expose()).unwrap_or("")
    }

    pub(crate) fn lease_ms(&self) -> i64 {
        2 * self.settings.request_timeout_ms as i64 + 1000
    }

    /// The current pause, cleared when the token has been replaced since.
    pub fn paused(&self) -> Result<Option<Value>> {
        self.pause_state("paused")
    }

    /// The pause recorded under `key` (`paused` for events, `catalog.paused` for catalog updates).
    pub(crate) fn pause_state(&self, key: &str) -> Result<Option<Value>> {
        let Some(raw) = self.outbox.meta(key)? else { return Ok(None) };
        let pause: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
        let fp = token_fingerprint(self.token());
        if pause.get("token_fp").and_then(Value::as_str) != Some(fp.as_str()) {
            log::info!("convtrack: access token changed since delivery was paused; resuming");
            self.outbox.set_meta(key, None)?;
            return Ok(None);
        }
        Ok(Some(pause))
    }

    /// Records a pause under `key` until the token is replaced or `resume` is called.
    pub(crate) fn pause(&self, key: &str, code: i64, why: &str) -> Result<()> {
        let pause = json!({"reason": why, "code": code, "since_ms": now_ms(), "token_fp": token_fingerprint(self.token())});
        self.outbox.set_meta(key, Some(&pause.to_string()))
    }

    /// Clears a pause (after the merchant fixed permissions), for events and catalog updates.
    pub fn resume(&self) -> Result<()> {
        self.outbox.set_meta("paused", None)?;
        self.outbox.set_meta("catalog.paused", None)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub(crate) fn transport(&self) -> &dyn Transport {
        &*self.transport
    }

    pub(crate) fn token_text(&self) -> &str {
        self.token()
    }

    pub(crate) fn record_error(&self, code: Option<i64>, subcode: Option<i64>, why: &str, fbtrace_id: &Option<String>) -> Result<()> {
        let e = json!({"time_ms": now_ms(), "code": code, "subcode": subcode, "reason": why, "fbtrace_id": fbtrace_id});
        self.outbox.set_meta("last_error", Some(&e.to_string()))
    }

    /// Sends due events until none is due or `timeout` passes. With `wait_for_retries`,
    /// also waits for retries that fall due before the deadline.
    pub fn flush(&self, timeout: Duration, wait_for_retries: bool) -> Result<FlushReport> {
        let deadline = Instant::now() + timeout;
        let mut report = FlushReport::default();
        // Data controls off: the server sends no event (queued ones wait); catalog updates still go.
        // Expiry and the retention of dead letters apply while delivery is off or
        // paused too: data past its time must not stay on disk waiting for a resume.
        self.expire(&mut report)?;
        loop {
            if !self.settings.data_controls {
                break;
            }
            if let Some(p) = self.paused()? {
                report.paused = p.get("reason").and_then(Value::as_str).map(str::to_owned);
                break;
            }
            let now = self.expire(&mut report)?;
            let rows = self.outbox.claim(now, self.settings.batch_size, self.lease_ms())?;
            if rows.is_empty() {
                if wait_for_retries {
                    let stats = self.outbox.stats(now)?;
                    if wait_for_next_due(stats.depth, stats.next_attempt_at_ms, now, deadline) {
                        continue;
                    }
                }
                break;
            }
            self.send(rows, &mut report)?;
            if Instant::now() >= deadline {
                break;
            }
        }
        report.remaining = self.outbox.stats(now_ms())?.depth;
        if self.settings.catalog_id.is_some() {
            crate::catalog_sync::flush(self, deadline, wait_for_retries, &mut report.catalog)?;
        }
        Ok(report)
    }

    fn body(&self, rows: &[Claimed]) -> String {
        self.body_of(rows.iter().map(|r| r.payload.as_str()))
    }

    fn body_of<'a>(&self, payloads: impl Iterator<Item = &'a str> + Clone) -> String {
        let mut body = String::with_capacity(64 + payloads.clone().map(|p| p.len() + 1).sum::<usize>());
        body.push_str("{\"data\":[");
        for (i, p) in payloads.enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(p);
        }
        body.push(']');
        if let Some(code) = &self.settings.test_event_code {
            body.push_str(",\"test_event_code\":");
            body.push_str(&Value::from(code.as_str()).to_string());
        }
        body.push_str(&format!(",\"partner_agent\":\"convtrack-{}\"}}", crate::VERSION));
        body
    }

    /// Single shot (the Celery worker's unit of work): sends one prepared Conversions API
    /// event that is not in this outbox (it came from a broker), once, and says what to do
    /// next. `attempts` is how often it was tried before (for the backoff). Counters, the
    /// last error, a pause and dead letters are recorded in this (the worker's) outbox. A
    /// paused sender makes no request; an event older than Meta accepts is dead-lettered
    /// as expired without a request; a rejected event is dead-lettered (its hashed payload).
    pub fn send_prepared(&self, payload: &str, attempts: u32) -> Result<ShotReport> {
        let p = parse_prepared(payload)?;
        let mut shot = ShotReport {
            outcome: "sent",
            event_id: p.event_id.clone(),
            retry_in_ms: None,
            code: None,
            subcode: None,
            reason: None,
            fbtrace_id: None,
            requests: 0,
        };
        if let Some(pause) = self.paused()? {
            shot.outcome = "paused";
            shot.retry_in_ms = Some(PAUSE_RETRY_MS);
            shot.code = pause.get("code").and_then(Value::as_i64);
            shot.reason = pause.get("reason").and_then(Value::as_str).map(str::to_owned);
            return Ok(shot);
        }
        let now = now_ms();
        let cutoff = now / 1000 - MAX_AGE_SECONDS + EXPIRY_MARGIN_SECONDS;
        if p.event_time < cutoff {
            self.outbox.dead_letter_payload(&p.event_name, &p.event_id, p.event_time, payload, "expired", None, None, now)?;
            log::warn!("convtrack: 1 event expired undelivered (older than Meta accepts)");
            shot.outcome = "expired";
            shot.reason = Some("expired".into());
            return Ok(shot);
        }
        let result = self.transport.post_json(&self.settings.events_url(), self.token(), &self.body_of(std::iter::once(payload)));
        shot.requests = 1;
        self.outbox.count("requests", 1)?;
        match classify(&result) {
            Outcome::Sent { fbtrace_id } => {
                self.outbox.count("sent", 1)?;
                for (field, n) in coverage_of(std::iter::once(payload)) {
                    self.outbox.count(&format!("coverage.{field}"), n)?;
                }
                shot.fbtrace_id = fbtrace_id;
                log::debug!("convtrack: sent 1 event");
            }
            Outcome::Retry { code, why, fbtrace_id } => {
                let delay = retry_delay_ms(&self.settings, i64::from(attempts));
                self.outbox.count("retried", 1)?;
                self.record_error(code, None, &why, &fbtrace_id)?;
                log::warn!("convtrack: 1 event will be retried in {delay} ms ({why})");
                shot = ShotReport { outcome: "retry", retry_in_ms: Some(delay), code, reason: Some(why), fbtrace_id, ..shot };
            }
            Outcome::Invalid { code, subcode, fbtrace_id } => {
                self.record_error(Some(code), subcode, "invalid_event", &fbtrace_id)?;
                self.outbox.dead_letter_payload(
                    &p.event_name,
                    &p.event_id,
                    p.event_time,
                    payload,
                    "invalid_event",
                    Some(code),
                    subcode,
                    now_ms(),
                )?;
                log::warn!("convtrack: Meta rejected one event (code {code}, subcode {subcode:?}); moved to dead letters");
                shot =
                    ShotReport { outcome: "invalid", code: Some(code), subcode, reason: Some("invalid_event".into()), fbtrace_id, ..shot };
            }
            Outcome::Pause { code, why, fbtrace_id } => {
                self.record_error(Some(code), None, why, &fbtrace_id)?;
                let pause = json!({"reason": why, "code": code, "since_ms": now_ms(), "token_fp": token_fingerprint(self.token())});
                self.outbox.set_meta("paused", Some(&pause.to_string()))?;
                log::error!("convtrack: delivery paused: Meta answered code {code} ({why}); fix the access token or permissions");
                shot = ShotReport {
                    outcome: "paused",
                    retry_in_ms: Some(PAUSE_RETRY_MS),
                    code: Some(code),
                    reason: Some(why.to_string()),
                    fbtrace_id,
                    ..shot
                };
            }
        }
        Ok(shot)
    }

    /// Sends `rows` in one request; a rejected batch is split in halves until the bad event is alone.
    fn send(&self, rows: Vec<Claimed>, report: &mut FlushReport) -> Result<()> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let result = self.transport.post_json(&self.settings.events_url(), self.token(), &self.body(&rows));
        report.requests += 1;
        self.outbox.count("requests", 1)?;
        match classify(&result) {
            Outcome::Sent { .. } => {
                self.outbox.mark_sent(&ids, &coverage(&rows))?;
                report.sent += ids.len() as u64;
                log::debug!("convtrack: sent {} event(s)", ids.len());
            }
            Outcome::Retry { code, why, fbtrace_id } => {
                let delay = retry_delay_ms(&self.settings, rows.iter().map(|r| r.attempts).max().unwrap_or(0));
                self.outbox.reschedule(&ids, now_ms() + delay, &why)?;
                self.record_error(code, None, &why, &fbtrace_id)?;
                report.retried += ids.len() as u64;
                log::warn!("convtrack: {} event(s) will be retried in {delay} ms ({why})", ids.len());
            }
            Outcome::Invalid { code, subcode, fbtrace_id } => {
                self.record_error(Some(code), subcode, "invalid_event", &fbtrace_id)?;
                if rows.len() > 1 {
                    let mut rows = rows;
                    let second = rows.split_off(rows.len() / 2);
                    self.send(rows, report)?;
                    self.send(second, report)?;
                } else {
                    self.outbox.dead_letter(&ids, "invalid_event", Some(code), subcode, now_ms())?;
                    report.failed += 1;
                    log::warn!("convtrack: Meta rejected one event (code {code}, subcode {subcode:?}); moved to dead letters");
                }
            }
            Outcome::Pause { code, why, fbtrace_id } => {
                self.outbox.release(&ids)?;
                self.record_error(Some(code), None, why, &fbtrace_id)?;
                self.pause("paused", code, why)?;
                report.paused = Some(why.to_string());
                log::error!("convtrack: delivery paused: Meta answered code {code} ({why}); fix the access token or permissions");
            }
        }
        Ok(())
    }
}

/// How long a task-queue worker waits before trying a paused event again (the merchant
/// must fix the token or permissions first; a replaced token resumes at the next try).
pub const PAUSE_RETRY_MS: i64 = 15 * 60 * 1000;

/// Largest prepared event a worker accepts from a broker (Meta's own limit per event is far lower).
pub const MAX_PREPARED_BYTES: usize = 1 << 20;

/// What one single-shot delivery of a prepared event did (the Celery worker's unit of work).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShotReport {
    /// `sent`, `retry`, `invalid`, `paused` or `expired`.
    pub outcome: &'static str,
    pub event_id: String,
    /// For `retry` and `paused`: when to try again.
    pub retry_in_ms: Option<i64>,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    /// Why (no personal data: a network error kind, an HTTP status, a Graph code).
    pub reason: Option<String>,
    pub fbtrace_id: Option<String>,
    /// Requests made (0 when paused or expired).
    pub requests: u64,
}

impl ShotReport {
    pub fn to_json(&self) -> Value {
        json!({
            "outcome": self.outcome, "event_id": self.event_id, "retry_in_ms": self.retry_in_ms,
            "code": self.code, "subcode": self.subcode, "reason": self.reason,
            "fbtrace_id": self.fbtrace_id, "requests": self.requests,
        })
    }
}

/// The fields of a prepared event a worker needs, checked (the broker is not trusted).
struct Prepared {
    event_name: String,
    event_id: String,
    event_time: i64,
}

fn parse_prepared(payload: &str) -> Result<Prepared> {
    use crate::error::{Error, ErrorCode};
    if payload.len() > MAX_PREPARED_BYTES {
        return Err(Error::field(ErrorCode::TooLarge, "payload", format!("is larger than {MAX_PREPARED_BYTES} bytes")));
    }
    let v: Value = serde_json::from_str(payload).map_err(|e| crate::error::json_syntax("payload", &e))?;
    let Some(m) = v.as_object() else { return Err(Error::wrong_type("payload", "a JSON object (one prepared event)")) };
    let text = |k: &str| -> Result<String> {
        match m.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            None | Some(Value::Null) => Err(Error::field(ErrorCode::MissingField, format!("payload.{k}"), "is required")),
            Some(_) => Err(Error::wrong_type(format!("payload.{k}"), "a non-empty string")),
        }
    };
    let event_time = match m.get("event_time") {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| Error::wrong_type("payload.event_time", "whole Unix seconds"))?,
        None | Some(Value::Null) => return Err(Error::field(ErrorCode::MissingField, "payload.event_time", "is required")),
        Some(_) => return Err(Error::wrong_type("payload.event_time", "whole Unix seconds")),
    };
    if !m.get("user_data").is_some_and(Value::is_object) {
        return Err(Error::field(ErrorCode::MissingField, "payload.user_data", "is required (an object)"));
    }
    Ok(Prepared { event_name: text("event_name")?, event_id: text("event_id")?, event_time })
}

/// Which match keys the sent events carried (the local proxy for Event Match Quality).
fn coverage(rows: &[Claimed]) -> BTreeMap<&'static str, i64> {
    coverage_of(rows.iter().map(|r| r.payload.as_str()))
}

fn coverage_of<'a>(payloads: impl Iterator<Item = &'a str>) -> BTreeMap<&'static str, i64> {
    const KEYS: [(&str, &str); 5] = [("em", "em"), ("ph", "ph"), ("fbp", "fbp"), ("fbc", "fbc"), ("ip", "client_ip_address")];
    let mut out = BTreeMap::new();
    for p in payloads {
        let Ok(v) = serde_json::from_str::<Value>(p) else { continue };
        let Some(ud) = v.get("user_data") else { continue };
        for (name, key) in KEYS {
            if ud.get(key).is_some() {
                *out.entry(name).or_insert(0) += 1;
            }
        }
    }
    out
}

/// Wakes the background sender.
#[derive(Default)]
pub(crate) struct Signal {
    pending: Mutex<bool>,
    cond: Condvar,
    stop: AtomicBool,
    /// Events accepted since the last flush, to flush early on a full batch.
    pub(crate) accepted: AtomicUsize,
}

impl Signal {
    pub(crate) fn wake(&self) {
        if let Ok(mut p) = self.pending.lock() {
            *p = true;
            self.cond.notify_one();
        }
    }
}

/// The background sender thread of a long-lived process.
pub(crate) struct Background {
    pub(crate) signal: Arc<Signal>,
    handle: Option<JoinHandle<()>>,
}

impl Background {
    pub(crate) fn start(sender: Arc<Sender>, interval: Duration) -> std::io::Result<Background> {
        let signal = Arc::new(Signal::default());
        let s = Arc::clone(&signal);
        let handle = std::thread::Builder::new().name("convtrack-sender".into()).spawn(move || loop {
            if s.stop.load(Ordering::Acquire) {
                break;
            }
            s.accepted.store(0, Ordering::Relaxed);
            if let Err(e) = sender.flush(Duration::from_secs(30), false) {
                log::error!("convtrack: background flush failed: {e}");
            }
            let Ok(guard) = s.pending.lock() else { break };
            let (mut guard, _) = match s.cond.wait_timeout_while(guard, interval, |p| !*p && !s.stop.load(Ordering::Acquire)) {
                Ok(r) => r,
                Err(_) => break,
            };
            *guard = false;
        })?;
        Ok(Background { signal, handle: Some(handle) })
    }

    /// Stops the thread after its current request; queued events stay in the outbox.
    pub(crate) fn stop(&mut self) {
        self.signal.stop.store(true, Ordering::Release);
        self.signal.wake();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> std::result::Result<HttpReply, TransportError> {
        Ok(HttpReply { status, body: body.to_string() })
    }
    fn graph(status: u16, code: i64, transient: bool) -> std::result::Result<HttpReply, TransportError> {
        reply(status, &json!({"error": {"code": code, "is_transient": transient, "fbtrace_id": "T"}}).to_string())
    }

    #[test]
    fn a_redirect_is_never_delivery() {
        for status in [301, 302, 303, 307, 308] {
            assert!(matches!(classify(&reply(status, "")), Outcome::Retry { .. }), "{status}");
            assert!(matches!(classify(&reply(status, r#"{"events_received": 1}"#)), Outcome::Retry { .. }), "{status}");
            assert!(matches!(classify(&graph(status, 100, false)), Outcome::Retry { .. }), "{status}");
        }
    }

    #[test]
    fn classification_follows_the_spec() {
        assert!(matches!(classify(&reply(200, r#"{"events_received":1}"#)), Outcome::Sent { .. }));
        assert!(matches!(classify(&reply(200, "<html>")), Outcome::Retry { .. }));
        assert!(matches!(classify(&Err(TransportError { kind: "timeout" })), Outcome::Retry { .. }));
        assert!(matches!(classify(&reply(503, "")), Outcome::Retry { .. }));
        assert!(matches!(classify(&reply(429, "")), Outcome::Retry { .. }));
        for code in [1, 2, 4, 17, 32, 341, 368, 613, 80000, 80014] {
            assert!(matches!(classify(&graph(400, code, false)), Outcome::Retry { .. }), "{code}");
        }
        assert!(matches!(classify(&graph(400, 100, false)), Outcome::Invalid { code: 100, .. }));
        assert!(matches!(classify(&graph(400, 100, true)), Outcome::Retry { .. }), "is_transient wins");
        assert!(matches!(classify(&graph(401, 190, false)), Outcome::Pause { code: 190, .. }));
        assert!(matches!(classify(&graph(403, 10, false)), Outcome::Pause { .. }));
        assert!(matches!(classify(&graph(403, 200, false)), Outcome::Pause { .. }));
        assert!(matches!(classify(&graph(403, 299, false)), Outcome::Pause { .. }));
    }
}
