//! The outbox's events as a [`Lane`] of the sender: batches of Conversions API
//! events to `/{pixel_id}/events`, each with the match keys it carried counted
//! (the local proxy for Event Match Quality).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::delivery::controls::ControlState;
use crate::delivery::outbox::{Claimed, Outbox};
use crate::delivery::sender::{Lane, LaneNames, Settled};
use crate::error::Result;
use crate::event::MAX_AGE_SECONDS;
use crate::settings::Settings;

/// Events are expired this long before Meta would reject them.
pub const EXPIRY_MARGIN_SECONDS: i64 = 3600;

/// Unix seconds before which an event can no longer be sent, at `now_ms`.
pub(crate) fn expiry_cutoff(now_ms: i64) -> i64 {
    now_ms / 1000 - MAX_AGE_SECONDS + EXPIRY_MARGIN_SECONDS
}

/// The events request body: the event objects as they were stored, the test
/// code when one is set, and who sent them.
pub(crate) fn request_body<'a>(settings: &Settings, payloads: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut body = String::with_capacity(64 + payloads.clone().map(|p| p.len() + 1).sum::<usize>());
    body.push_str("{\"data\":[");
    for (i, p) in payloads.enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(p);
    }
    body.push(']');
    if let Some(code) = &settings.test_event_code {
        body.push_str(",\"test_event_code\":");
        body.push_str(&Value::from(code.as_str()).to_string());
    }
    body.push_str(&format!(",\"partner_agent\":\"convtrack-{}\"}}", crate::VERSION));
    body
}

/// Whether an answer body says Meta received the events, and its trace id.
pub(crate) fn received(body: &str) -> Option<Option<String>> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("events_received")?;
    Some(v.get("fbtrace_id").and_then(Value::as_str).map(str::to_owned))
}

/// Which match keys the sent events carried.
pub(crate) fn coverage<'a>(payloads: impl Iterator<Item = &'a str>) -> BTreeMap<&'static str, i64> {
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

/// Events, queued or prepared, are counted, paused and logged alike.
pub(crate) const EVENTS: LaneNames =
    LaneNames { pause_key: "paused", requests: "requests", invalid: "invalid_event", noun: "event", paused: "delivery" };

/// The queued events of one outbox.
pub(crate) struct EventLane<'a> {
    outbox: &'a Outbox,
    settings: &'a Settings,
}

impl<'a> EventLane<'a> {
    pub(crate) fn new(outbox: &'a Outbox, settings: &'a Settings) -> EventLane<'a> {
        EventLane { outbox, settings }
    }
}

fn ids(rows: &[Claimed]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

impl Lane for EventLane<'_> {
    type Item = Claimed;
    const NAMES: LaneNames = EVENTS;

    fn url(&self) -> String {
        self.settings.events_url()
    }

    fn body(&self, rows: &[Claimed]) -> String {
        request_body(self.settings, rows.iter().map(|r| r.payload.as_str()))
    }

    fn attempts(row: &Claimed) -> i64 {
        row.attempts
    }

    fn batch_limit(&self) -> usize {
        self.settings.batch_size
    }

    /// Also prunes old ledger entries and dead letters.
    fn expire(&self, now_ms: i64) -> Result<u64> {
        let expired = self.outbox.expire(expiry_cutoff(now_ms), now_ms)?;
        if expired > 0 {
            log::warn!("convtrack: {expired} event(s) expired undelivered (older than Meta accepts)");
        }
        Ok(expired as u64)
    }

    fn claim(&self, now_ms: i64, limit: usize, lease_ms: i64) -> Result<Vec<Claimed>> {
        self.outbox.claim(now_ms, limit, lease_ms)
    }

    /// Nothing while the merchant's controls send no events (the switch-off discarded
    /// the rows); else the rows still queued.
    fn still_due(&self, rows: Vec<Claimed>) -> Result<Vec<Claimed>> {
        if !self.outbox.controls(&ControlState::from_settings(self.settings))?.sends_events() {
            return Ok(Vec::new());
        }
        let queued = self.outbox.still_queued(&ids(&rows))?;
        Ok(rows.into_iter().filter(|r| queued.contains(&r.id)).collect())
    }

    fn due(&self, now_ms: i64) -> Result<(i64, Option<i64>)> {
        self.outbox.next_wake(now_ms)
    }

    fn settle(&self, rows: &[Claimed], body: &str) -> Result<Option<Settled>> {
        let Some(fbtrace_id) = received(body) else { return Ok(None) };
        self.outbox.mark_sent(&ids(rows), &coverage(rows.iter().map(|r| r.payload.as_str())))?;
        Ok(Some(Settled { sent: rows.len() as u64, refused: 0, fbtrace_id }))
    }

    fn reschedule(&self, rows: &[Claimed], next_ms: i64, why: &str) -> Result<()> {
        self.outbox.reschedule(&ids(rows), next_ms, why)
    }

    fn release(&self, rows: &[Claimed]) -> Result<()> {
        self.outbox.release(&ids(rows))
    }

    fn dead_letter(&self, rows: &[Claimed], reason: &str, code: Option<i64>, subcode: Option<i64>, now_ms: i64) -> Result<()> {
        self.outbox.dead_letter(&ids(rows), reason, code, subcode, now_ms)
    }
}
