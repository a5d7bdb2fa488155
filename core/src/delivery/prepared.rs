//! The task-queue worker's unit of work (`sender = "celery"`): one prepared
//! Conversions API event that came from a broker, not from this outbox, sent
//! once through the sender's loop; the answer says what the worker does next.

use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::delivery::controls::ControlState;
use crate::delivery::events::{coverage, expiry_cutoff, received, request_body, EVENTS};
use crate::delivery::graph::Outcome;
use crate::delivery::outbox::Outbox;
use crate::delivery::sender::{Lane, LaneNames, LaneReport, Sender, Settled};
use crate::error::Result;
use crate::settings::Settings;

/// How long a task-queue worker waits before trying a paused event again (the merchant
/// must fix the token or permissions first; a replaced token resumes at the next try).
pub const PAUSE_RETRY_MS: i64 = 15 * 60 * 1000;

/// Largest prepared event a worker accepts from a broker (Meta's own limit per event is far lower).
pub const MAX_PREPARED_BYTES: usize = 1 << 20;

/// What one single-shot delivery of a prepared event did (the Celery worker's unit of work).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShotReport {
    /// `sent`, `retry`, `invalid`, `paused`, `expired`, or `discarded` (the merchant
    /// turned data controls off after the event was handed to the broker).
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

/// One prepared event as a [`Lane`]: its only item is the number of earlier
/// attempts (for the backoff); a retry is the worker's to schedule, so nothing
/// is rescheduled or released here. Counters, the last error, a pause and dead
/// letters go to this (the worker's) outbox.
struct PreparedLane<'a> {
    outbox: &'a Outbox,
    settings: &'a Settings,
    payload: &'a str,
    event: &'a Prepared,
}

impl Lane for PreparedLane<'_> {
    type Item = i64;
    const NAMES: LaneNames = EVENTS;

    fn url(&self) -> String {
        self.settings.events_url()
    }

    fn body(&self, _: &[i64]) -> String {
        request_body(self.settings, std::iter::once(self.payload))
    }

    fn attempts(attempts: &i64) -> i64 {
        *attempts
    }

    fn batch_limit(&self) -> usize {
        1
    }

    fn claim(&self, _: i64, _: usize, _: i64) -> Result<Vec<i64>> {
        Ok(Vec::new())
    }

    fn due(&self, _: i64) -> Result<(i64, Option<i64>)> {
        Ok((0, None))
    }

    fn settle(&self, _: &[i64], body: &str) -> Result<Option<Settled>> {
        let Some(fbtrace_id) = received(body) else { return Ok(None) };
        self.outbox.count("sent", 1)?;
        for (field, n) in coverage(std::iter::once(self.payload)) {
            self.outbox.count(&format!("coverage.{field}"), n)?;
        }
        Ok(Some(Settled { sent: 1, refused: 0, fbtrace_id }))
    }

    fn reschedule(&self, _: &[i64], _: i64, _: &str) -> Result<()> {
        self.outbox.count("retried", 1)
    }

    fn release(&self, _: &[i64]) -> Result<()> {
        Ok(())
    }

    fn dead_letter(&self, _: &[i64], reason: &str, code: Option<i64>, subcode: Option<i64>, now_ms: i64) -> Result<()> {
        let e = self.event;
        self.outbox.dead_letter_payload(&e.event_name, &e.event_id, e.event_time, self.payload, reason, code, subcode, now_ms)
    }
}

impl Sender {
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
        let controls = self.outbox().controls(&ControlState::from_settings(self.settings()))?;
        if !controls.sends_events() {
            // Recorded by the merchant: what was handed off before the switch-off is
            // discarded like what was still queued. (Off only in this worker's settings is
            // a configuration error the caller reports instead; see `Tracker::send_prepared`.)
            self.outbox().count(&format!("discarded.{}", controls.stop_reason()), 1)?;
            shot.outcome = "discarded";
            shot.reason = Some(controls.stop_reason().into());
            return Ok(shot);
        }
        if let Some(pause) = self.paused()? {
            shot.outcome = "paused";
            shot.retry_in_ms = Some(PAUSE_RETRY_MS);
            shot.code = pause.get("code").and_then(Value::as_i64);
            shot.reason = pause.get("reason").and_then(Value::as_str).map(str::to_owned);
            return Ok(shot);
        }
        let now = now_ms();
        if p.event_time < expiry_cutoff(now) {
            self.outbox().dead_letter_payload(&p.event_name, &p.event_id, p.event_time, payload, "expired", None, None, now)?;
            log::warn!("convtrack: 1 event expired undelivered (older than Meta accepts)");
            shot.outcome = "expired";
            shot.reason = Some("expired".into());
            return Ok(shot);
        }
        let lane = PreparedLane { outbox: self.outbox(), settings: self.settings(), payload, event: &p };
        let attempt = self.send(&lane, vec![i64::from(attempts)], &mut LaneReport::default())?;
        shot.requests = 1;
        shot = match attempt.outcome {
            Outcome::Sent { fbtrace_id } => ShotReport { fbtrace_id, ..shot },
            Outcome::Retry { code, why, fbtrace_id } => {
                ShotReport { outcome: "retry", retry_in_ms: attempt.retry_in_ms, code, reason: Some(why), fbtrace_id, ..shot }
            }
            Outcome::Invalid { code, subcode, fbtrace_id } => {
                ShotReport { outcome: "invalid", code: Some(code), subcode, reason: Some("invalid_event".into()), fbtrace_id, ..shot }
            }
            Outcome::Pause { code, why, fbtrace_id } => ShotReport {
                outcome: "paused",
                retry_in_ms: Some(PAUSE_RETRY_MS),
                code: Some(code),
                reason: Some(why.to_string()),
                fbtrace_id,
                ..shot
            },
        };
        Ok(shot)
    }
}
