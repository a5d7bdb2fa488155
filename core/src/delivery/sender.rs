//! The sender (docs/spec.md §9): drains the queues of one outbox into the Graph
//! API. One loop serves every queue (a [`Lane`]): claim due items, send them in
//! one request, read the answer ([`classify`]), then settle, back off with
//! jitter, split a batch Meta rejects as invalid until the bad item is alone,
//! or pause on a bad token. At-least-once: a re-send after a crash carries the
//! same ids, so Meta keeps one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::delivery::catalog_queue::CatalogLane;
use crate::delivery::controls::ControlState;
use crate::delivery::events::EventLane;
use crate::delivery::graph::{classify, retry_delay_ms, Outcome};
use crate::delivery::outbox::Outbox;
use crate::delivery::transport::Transport;
use crate::error::Result;
use crate::hash::sha256_hex;
use crate::settings::Settings;

/// What a flush did with one queue (for catalog updates, the `catalog` part of [`FlushReport`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaneReport {
    pub requests: u64,
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    /// Items dead-lettered unsent because they grew too old for Meta (events only).
    pub expired: u64,
    /// Items still queued after the flush.
    pub remaining: i64,
    /// Why this queue is paused, if it is.
    pub paused: Option<String>,
}

/// What a flush did with catalog updates.
pub type CatalogReport = LaneReport;

impl LaneReport {
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests, "sent": self.sent, "retried": self.retried,
            "failed": self.failed, "remaining": self.remaining, "paused": self.paused,
        })
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
    pub catalog: CatalogReport,
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

/// What Meta took from one 2xx answer.
pub(crate) struct Settled {
    pub(crate) sent: u64,
    /// Items Meta refused one by one (now dead letters).
    pub(crate) refused: u64,
    pub(crate) fbtrace_id: Option<String>,
}

/// One queue the sender drains into one Graph edge: the outbox's events, the
/// catalog's item changes, or one prepared event a task-queue worker got from
/// its broker. The lane knows its rows and its request; the sender owns the
/// loop and what an answer means.
pub(crate) trait Lane {
    type Item;
    const NAMES: LaneNames;

    fn url(&self) -> String;
    fn body(&self, items: &[Self::Item]) -> String;
    fn attempts(item: &Self::Item) -> i64;
    /// Most items per request.
    fn batch_limit(&self) -> usize;
    /// Dead-letters what can no longer be sent; returns how many.
    fn expire(&self, _now_ms: i64) -> Result<u64> {
        Ok(0)
    }
    /// Leases up to `limit` due items for `lease_ms`.
    fn claim(&self, now_ms: i64, limit: usize, lease_ms: i64) -> Result<Vec<Self::Item>>;
    /// The items of a batch being split that may still be sent: a switch-off, a revoke
    /// or another sender may have taken some while the earlier half was on the wire.
    fn still_due(&self, items: Vec<Self::Item>) -> Result<Vec<Self::Item>> {
        Ok(items)
    }
    /// How many items are queued, and when a waiting flush should look again: when the
    /// next retry falls due, or soon while another sender holds a lease (see [`IN_FLIGHT_POLL_MS`]).
    fn due(&self, now_ms: i64) -> Result<(i64, Option<i64>)>;
    /// A 2xx answer: settles what Meta took (and what it refused item by item), or
    /// `None` when the answer does not show that Meta took the batch.
    fn settle(&self, items: &[Self::Item], body: &str) -> Result<Option<Settled>>;
    /// A transient failure: retry at `next_ms`.
    fn reschedule(&self, items: &[Self::Item], next_ms: i64, why: &str) -> Result<()>;
    /// Gives the leases back without counting an attempt (paused).
    fn release(&self, items: &[Self::Item]) -> Result<()>;
    fn dead_letter(&self, items: &[Self::Item], reason: &str, code: Option<i64>, subcode: Option<i64>, now_ms: i64) -> Result<()>;
}

/// How often a waiting flush looks again while another sender (the background thread, a
/// second process) holds items in flight: a flush that returns while they are on the wire
/// would report them as still queued, so it waits for their answer instead of for the
/// lease to run out.
pub(crate) const IN_FLIGHT_POLL_MS: i64 = 20;

/// The SQL expression for [`Lane::due`]'s second value over a queue table with
/// `next_attempt_at` and `claimed_until` (`?2` is now, `?3` is [`IN_FLIGHT_POLL_MS`]).
pub(crate) const NEXT_WAKE_SQL: &str = "MIN(CASE WHEN claimed_until > ?2 THEN ?2 + ?3 ELSE next_attempt_at END)";

/// The names a lane records and logs under.
pub(crate) struct LaneNames {
    /// Outbox meta key of this queue's pause.
    pub(crate) pause_key: &'static str,
    /// Counter of the requests made for this queue.
    pub(crate) requests: &'static str,
    /// Dead-letter reason when Meta rejects an item as invalid.
    pub(crate) invalid: &'static str,
    /// What log lines call one item.
    pub(crate) noun: &'static str,
    /// What log lines call a pause of this queue.
    pub(crate) paused: &'static str,
}

/// What one request of [`Sender::send`] led to (for a split batch, its first request).
pub(crate) struct Attempt {
    pub(crate) outcome: Outcome,
    /// For a retry: the backoff chosen.
    pub(crate) retry_in_ms: Option<i64>,
}

/// Nothing is due: sleeps until the next retry falls due when that is before `deadline`
/// and returns `true` (look again), else returns `false` (the flush is over).
fn wait_for_next_due(depth: i64, next_attempt_at_ms: Option<i64>, now: i64, deadline: Instant) -> bool {
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
    fn pause(&self, key: &str, code: i64, why: &str) -> Result<()> {
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

    fn record_error(&self, code: Option<i64>, subcode: Option<i64>, why: &str, fbtrace_id: &Option<String>) -> Result<()> {
        let e = json!({"time_ms": now_ms(), "code": code, "subcode": subcode, "reason": why, "fbtrace_id": fbtrace_id});
        self.outbox.set_meta("last_error", Some(&e.to_string()))
    }

    /// Sends due events, then due catalog changes, until none is due or `timeout`
    /// passes. With `wait_for_retries`, also waits for retries that fall due before
    /// the deadline.
    pub fn flush(&self, timeout: Duration, wait_for_retries: bool) -> Result<FlushReport> {
        let deadline = Instant::now() + timeout;
        let mut report = FlushReport::default();
        let events = EventLane::new(&self.outbox, &self.settings);
        // Expiry and the retention of dead letters apply while delivery is off or
        // paused too: data past its time must not stay on disk waiting for a resume.
        report.expired += events.expire(now_ms())?;
        // Data controls off (as recorded by the merchant, else as set): the server sends no
        // event; catalog updates still go.
        if self.outbox.controls(&ControlState::from_settings(&self.settings))?.sends_events() {
            let mut lane = LaneReport::default();
            self.drain(&events, deadline, wait_for_retries, &mut lane)?;
            report.requests = lane.requests;
            report.sent = lane.sent;
            report.retried = lane.retried;
            report.failed = lane.failed;
            report.expired += lane.expired;
            report.paused = lane.paused;
        }
        report.remaining = events.due(now_ms())?.0;
        if let Some(catalog) = CatalogLane::new(&self.outbox, &self.settings) {
            self.drain(&catalog, deadline, wait_for_retries, &mut report.catalog)?;
            report.catalog.remaining = catalog.due(now_ms())?.0;
        }
        self.outbox.checkpoint()?;
        Ok(report)
    }

    /// Sends what `lane` has due until nothing is, the lane is paused, or `deadline` passes.
    fn drain<L: Lane>(&self, lane: &L, deadline: Instant, wait_for_retries: bool, report: &mut LaneReport) -> Result<()> {
        loop {
            if let Some(p) = self.pause_state(L::NAMES.pause_key)? {
                report.paused = p.get("reason").and_then(Value::as_str).map(str::to_owned);
                break;
            }
            let now = now_ms();
            report.expired += lane.expire(now)?;
            let items = lane.claim(now, lane.batch_limit(), self.lease_ms())?;
            if items.is_empty() {
                if wait_for_retries {
                    let (depth, next) = lane.due(now)?;
                    if wait_for_next_due(depth, next, now, deadline) {
                        continue;
                    }
                }
                break;
            }
            self.send(lane, items, report)?;
            if Instant::now() >= deadline {
                break;
            }
        }
        Ok(())
    }

    /// Sends `items` in one request and acts on the answer; a batch Meta rejects as
    /// invalid is split in halves until the bad item is alone.
    pub(crate) fn send<L: Lane>(&self, lane: &L, items: Vec<L::Item>, report: &mut LaneReport) -> Result<Attempt> {
        let result = self.transport.post_json(&lane.url(), self.token(), &lane.body(&items));
        report.requests += 1;
        self.outbox.count(L::NAMES.requests, 1)?;
        if let Ok(reply) = &result {
            if (200..300).contains(&reply.status) {
                if let Some(done) = lane.settle(&items, &reply.body)? {
                    report.sent += done.sent;
                    report.failed += done.refused;
                    log::debug!("convtrack: sent {} {}(s)", done.sent, L::NAMES.noun);
                    return Ok(Attempt { outcome: Outcome::Sent { fbtrace_id: done.fbtrace_id }, retry_in_ms: None });
                }
            }
        }
        let outcome = match classify(&result) {
            // A 2xx the lane cannot read as taken: whether Meta kept it is unknown, so it
            // is sent again (the ids make that harmless).
            Outcome::Sent { .. } => Outcome::Retry {
                code: None,
                why: format!("http {}: malformed response", result.as_ref().map_or(0, |r| r.status)),
                fbtrace_id: None,
            },
            other => other,
        };
        let mut retry_in_ms = None;
        match &outcome {
            Outcome::Sent { .. } => {}
            Outcome::Retry { code, why, fbtrace_id } => {
                let delay = retry_delay_ms(&self.settings, items.iter().map(L::attempts).max().unwrap_or(0));
                lane.reschedule(&items, now_ms() + delay, why)?;
                self.record_error(*code, None, why, fbtrace_id)?;
                report.retried += items.len() as u64;
                retry_in_ms = Some(delay);
                log::warn!("convtrack: {} {}(s) will be retried in {delay} ms ({why})", items.len(), L::NAMES.noun);
            }
            Outcome::Invalid { code, subcode, fbtrace_id } => {
                self.record_error(Some(*code), *subcode, L::NAMES.invalid, fbtrace_id)?;
                if items.len() > 1 {
                    let mut first = items;
                    let second = first.split_off(first.len() / 2);
                    for half in [first, second] {
                        let half = lane.still_due(half)?;
                        if !half.is_empty() {
                            self.send(lane, half, report)?;
                        }
                    }
                } else {
                    lane.dead_letter(&items, L::NAMES.invalid, Some(*code), *subcode, now_ms())?;
                    report.failed += 1;
                    log::warn!("convtrack: Meta rejected one {} (code {code}, subcode {subcode:?}); moved to dead letters", L::NAMES.noun);
                }
            }
            Outcome::Pause { code, why, fbtrace_id } => {
                lane.release(&items)?;
                self.record_error(Some(*code), None, why, fbtrace_id)?;
                self.pause(L::NAMES.pause_key, *code, why)?;
                report.paused = Some(why.to_string());
                log::error!(
                    "convtrack: {} paused: Meta answered code {code} ({why}); fix the access token or permissions",
                    L::NAMES.paused
                );
            }
        }
        Ok(Attempt { outcome, retry_in_ms })
    }
}
