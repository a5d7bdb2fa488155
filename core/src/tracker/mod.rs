//! `Tracker`: the entry point. `build` is pure (no I/O): validate → gate →
//! normalize/hash → event id → pixel snippet and Conversions API payload.

mod catalog;
mod controls;
mod degraded;

pub use catalog::CatalogChange;
pub use controls::ids_from_json;

use serde_json::Value;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::build::consent::BlockReason;
use crate::build::consent::ServerDecision;
use crate::build::{self, event_id};
use crate::delivery::background::Background;
use crate::delivery::outbox::{Accepted, NewEvent, Outbox};
use crate::delivery::sender::{FlushReport, Sender};
use crate::delivery::transport::{Transport, UreqTransport};
use crate::error::{json_syntax, Error, ErrorCode, Result};
use crate::event::EventInput;
use crate::settings::Settings;

pub use crate::build::{BuildOptions, BuildResult, QueueOutcome, ResultField};

/// Most event ids one [`Tracker::set_consent`] call answers.
pub const MAX_CONSENT_IDS: usize = 1000;

/// How often the task-queue hand-off also expires what is too old and drops unanswered
/// holds (the thread sender does it on every flush; a Celery web process never flushes).
const HANDOFF_EXPIRY_EVERY_MS: i64 = 60_000;

/// The tracker for one merchant (one pixel). Cheap to share across threads.
#[derive(Clone, Debug)]
pub struct Tracker {
    /// The settings given; the merchant's recorded controls apply on top ([`Tracker::live`]).
    settings: Arc<Settings>,
    live: Arc<controls::Live>,
    delivery: Option<Arc<Delivery>>,
    /// Summary of the last feed export (also persisted in the outbox, if any).
    catalog_last_export: Arc<Mutex<Option<Value>>>,
}

/// The durable half: outbox, sender and (optionally) its background thread.
pub(crate) struct Delivery {
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) sender: Arc<Sender>,
    background: Mutex<Option<Background>>,
    /// When [`Tracker::claim_handoff`] last expired old events and holds (ms, 0: never).
    handoff_expired_at: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").field("outbox", &self.outbox).finish_non_exhaustive()
    }
}

impl Tracker {
    /// A tracker for `build` only (pure; no outbox, no network).
    pub fn new(settings: Settings) -> Tracker {
        Tracker::assemble(settings, None)
    }

    /// A tracker that can also `track`: opens the outbox at `outbox_path` (if set) and,
    /// with `sender = "thread"`, starts the background sender.
    pub fn open(settings: Settings) -> Result<Tracker> {
        let timeout = Duration::from_millis(settings.request_timeout_ms);
        let proxy = settings.effective_proxy();
        let transport = UreqTransport::new(timeout, proxy.as_ref().map(|(p, _)| p)).map_err(|why| Error::setting("proxy", why))?;
        Tracker::open_with_transport(settings, Arc::new(transport))
    }

    /// As [`Tracker::open`], with a given transport (tests inject faults this way).
    pub fn open_with_transport(settings: Settings, transport: Arc<dyn Transport>) -> Result<Tracker> {
        let Some(path) = settings.outbox_path.clone() else {
            return Ok(Tracker::new(settings));
        };
        let outbox = Arc::new(Outbox::open(&path, &settings.pixel_id)?);
        let sender = Arc::new(Sender::new(settings.clone(), Arc::clone(&outbox), transport));
        // The thread runs when something may leave the shop, which needs a token: events
        // (data controls on, now or after the merchant turns them on) or catalog updates.
        let background = if settings.sender == crate::settings::SenderMode::Thread && settings.access_token.is_some() {
            let interval = Duration::from_millis(settings.flush_interval_ms);
            Some(
                Background::start(Arc::clone(&sender), interval)
                    .map_err(|e| Error::general(ErrorCode::Internal, format!("cannot start the sender thread: {}", e.kind())))?,
            )
        } else {
            None
        };
        let delivery = Delivery { outbox, sender, background: Mutex::new(background), handoff_expired_at: Default::default() };
        Ok(Tracker::assemble(settings, Some(Arc::new(delivery))))
    }

    fn assemble(settings: Settings, delivery: Option<Arc<Delivery>>) -> Tracker {
        let settings = Arc::new(settings);
        let live = Arc::new(controls::Live::new(&settings));
        Tracker { settings, live, delivery, catalog_last_export: Arc::default() }
    }

    /// Wakes the background sender (if this process runs one) to flush now.
    pub(crate) fn wake_sender(&self) {
        if let Some(d) = &self.delivery {
            if let Ok(guard) = d.background.lock() {
                if let Some(bg) = guard.as_ref() {
                    bg.signal.wake();
                }
            }
        }
    }

    pub(crate) fn delivery(&self, what: &str) -> Result<&Delivery> {
        self.delivery
            .as_deref()
            .ok_or_else(|| Error::field(ErrorCode::NotConfigured, "outbox_path", format!("is required by {what} (a file on local disk)")))
    }

    /// `build` plus a durable enqueue of the server copy. The checkout thread does no
    /// network I/O: the sender delivers later. Returns `server` = `queued`, `duplicate` or `blocked`.
    pub fn track(&self, input: &EventInput, options: &BuildOptions) -> Result<BuildResult> {
        let delivery = self.delivery("track")?;
        let settings = self.live();
        let mut result = build::build(&settings, input, options)?;
        match (&result.payload, result.server) {
            (Some(payload), ServerDecision::Send | ServerDecision::Hold) => {
                let now = crate::clock::now_ms();
                let hold_until = (result.server == ServerDecision::Hold).then(|| now + settings.hold_ttl as i64 * 1000);
                let event = NewEvent {
                    event_name: &result.event_name,
                    event_id: &result.event_id,
                    event_time: result.event_time,
                    payload: payload.as_str(),
                };
                let accepted = delivery.outbox.accept(&event, now, hold_until)?;
                if accepted == Accepted::Stopped {
                    // The merchant stopped server events in another process since this one last looked.
                    self.forget_live();
                    let stopped_by_mode = self.live().mode == crate::settings::Mode::CatalogOnly;
                    result.server =
                        ServerDecision::Blocked(if stopped_by_mode { BlockReason::CatalogOnly } else { BlockReason::DataControlsOff });
                    result.payload = None;
                    return Ok(result);
                }
                let queued = accepted == Accepted::Queued;
                result.queue = Some(match accepted {
                    Accepted::Queued => QueueOutcome::Queued,
                    Accepted::Held => QueueOutcome::Held,
                    _ => QueueOutcome::Duplicate,
                });
                if queued {
                    if let Ok(guard) = delivery.background.lock() {
                        if let Some(bg) = guard.as_ref() {
                            let n = bg.signal.accepted.fetch_add(1, Ordering::Relaxed) + 1;
                            if n >= settings.batch_size {
                                bg.signal.wake();
                            }
                        }
                    }
                }
            }
            (_, ServerDecision::Blocked(reason)) => {
                delivery.outbox.count(&format!("blocked.{}", reason.as_str()), 1)?;
            }
            (None, ServerDecision::Send | ServerDecision::Hold) => {
                return Err(Error::general(ErrorCode::Internal, "send decision without a payload"));
            }
        }
        Ok(result)
    }

    /// `track` from JSON text.
    pub fn track_json(&self, event_json: &str, options: &BuildOptions) -> Result<BuildResult> {
        self.track(&EventInput::from_json(event_json)?, options)
    }

    /// Delivers queued events now, waiting at most `timeout` (retries that fall due
    /// within it are waited for). For shared-nothing runtimes, cron jobs and tests.
    pub fn flush(&self, timeout: Duration) -> Result<FlushReport> {
        // With data controls off no event is sent (queued ones wait); catalog updates still go.
        self.delivery("flush")?.sender.flush(timeout, true)
    }

    /// Task-queue hand-off (`sender = "celery"`), step 1: leases up to `limit` stored events
    /// to the caller for `lease_ms`, oldest first. The caller publishes each one and then
    /// calls [`Tracker::ack_handoff`]; if it crashes first, the lease runs out and the events
    /// are handed off again (same `event_id`, so Meta keeps one). Nothing is leased while
    /// data controls are off.
    pub fn claim_handoff(&self, limit: usize, lease_ms: i64) -> Result<Vec<crate::delivery::outbox::Claimed>> {
        let d = self.delivery("claim_handoff")?;
        let now = crate::clock::now_ms();
        let last = d.handoff_expired_at.load(Ordering::Relaxed);
        if now - last >= HANDOFF_EXPIRY_EVERY_MS
            && d.handoff_expired_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            // Unanswered holds are dropped and too-old events dead-lettered here too, not
            // only by a flush. Also while data controls are off: data past its time must
            // not wait on disk.
            d.outbox.expire(crate::delivery::events::expiry_cutoff(now), now)?;
        }
        if !controls_send(&self.live()) || limit == 0 {
            return Ok(Vec::new());
        }
        d.outbox.claim(now, limit.min(self.settings.batch_size.max(1)), lease_ms.max(1))
    }

    /// Hand-off step 2: the broker accepted these events; they leave the outbox.
    pub fn ack_handoff(&self, ids: &[i64]) -> Result<()> {
        self.delivery("ack_handoff")?.outbox.ack_handoff(ids)
    }

    /// Hand-off failed (broker down): the events stay queued and are handed off (or flushed) later.
    pub fn release_handoff(&self, ids: &[i64]) -> Result<()> {
        let d = self.delivery("release_handoff")?;
        if ids.is_empty() {
            return Ok(());
        }
        d.outbox.release(ids)?;
        d.outbox.count("handoff_failed", 1)
    }

    /// The worker side: sends one prepared event (from a broker) once; see
    /// [`Sender::send_prepared`]. Needs `outbox_path` (the worker's counters and dead letters).
    pub fn send_prepared(&self, payload: &str, attempts: u32) -> Result<crate::delivery::prepared::ShotReport> {
        let d = self.delivery("send_prepared")?;
        let state = d.outbox.controls(&crate::delivery::controls::ControlState::from_settings(&self.settings))?;
        if !state.sends_events() && state.changed.is_none() {
            return Err(Error::field(ErrorCode::NotConfigured, "data_controls", "is off on this worker: it sends nothing"));
        }
        d.sender.send_prepared(payload, attempts)
    }

    /// The shopper answered the consent banner: `granted` releases their held events
    /// (by event id) to the sender, `denied` drops them. Returns how many were
    /// released or dropped; ids not held (sent, expired, unknown) are skipped.
    pub fn set_consent(&self, event_ids: &[&str], marketing: &str) -> Result<u64> {
        let d = self.delivery("set_consent")?;
        let granted = match marketing {
            "granted" => true,
            "denied" => false,
            _ => return Err(Error::field(ErrorCode::InvalidArgument, "marketing", "must be \"granted\" or \"denied\"")),
        };
        // One answer covers one shopper's few held events; a huge list would hold the
        // outbox's write lock (and every checkout waiting on it) for one long transaction.
        if event_ids.len() > MAX_CONSENT_IDS {
            return Err(Error::field(ErrorCode::TooLarge, "event_ids", format!("holds more than {MAX_CONSENT_IDS} ids")));
        }
        if let Some(i) = event_ids.iter().position(|id| id.is_empty() || id.len() > 256) {
            return Err(Error::field(ErrorCode::InvalidArgument, format!("event_ids[{i}]"), "must be an event id from track"));
        }
        let n = d.outbox.answer_holds(event_ids, granted, crate::clock::now_ms())?;
        if granted && n > 0 {
            self.wake_sender();
        }
        Ok(n)
    }

    /// [`Tracker::set_consent`] from JSON text, the C and PHP form:
    /// `{"event_ids": ["..."], "marketing": "granted" | "denied"}`.
    pub fn set_consent_json(&self, request: &str) -> Result<u64> {
        let v: Value = serde_json::from_str(request).map_err(|e| json_syntax("request", &e))?;
        let ids =
            v.get("event_ids").and_then(Value::as_array).ok_or_else(|| Error::wrong_type("event_ids", "a JSON array of event ids"))?;
        let ids = ids
            .iter()
            .enumerate()
            .map(|(i, id)| id.as_str().ok_or_else(|| Error::wrong_type(format!("event_ids[{i}]"), "a string")))
            .collect::<Result<Vec<_>>>()?;
        let marketing =
            v.get("marketing").and_then(Value::as_str).ok_or_else(|| Error::wrong_type("marketing", "\"granted\" or \"denied\""))?;
        self.set_consent(&ids, marketing)
    }

    /// Drops a queued event whose consent was revoked. Returns whether one was queued.
    pub fn revoke(&self, event_name: &str, event_id: &str) -> Result<bool> {
        self.delivery("revoke")?.outbox.revoke(event_name, event_id)
    }

    /// Drops a queued order event (by order id) whose consent was revoked.
    pub fn revoke_order(&self, event_name: &str, order_id: &str) -> Result<bool> {
        let id = event_id::event_id_checked(&self.settings.pixel_id, event_name, order_id)?;
        self.revoke(event_name, &id)
    }

    /// Resumes delivery paused by a permission error (a replaced token resumes by itself).
    pub fn resume(&self) -> Result<()> {
        self.delivery("resume")?.sender.resume()
    }

    /// Stops the background sender (queued events stay in the outbox). Idempotent.
    pub fn close(&self) {
        if let Some(d) = &self.delivery {
            if let Ok(mut guard) = d.background.lock() {
                if let Some(mut bg) = guard.take() {
                    bg.stop();
                }
            }
        }
    }

    /// Status (docs/spec.md §10) as JSON.
    pub fn status(&self) -> Result<Value> {
        self.forget_live();
        let live = self.live();
        let mut doc = crate::delivery::status::status(&live, self.delivery.as_ref().map(|d| (&*d.outbox, &*d.sender)))?;
        if let Some(m) = doc.as_object_mut() {
            m.insert("controls".into(), self.controls()?);
            m.insert("catalog".into(), self.catalog_status()?);
        }
        // The shop integrations' requests without tracking, from every process on the outbox.
        if let (Some(d), Some(counters)) = (&self.delivery, doc.get_mut("counters").and_then(Value::as_object_mut)) {
            let degraded: serde_json::Map<String, Value> = d
                .outbox
                .counters()?
                .into_iter()
                .filter_map(|(k, v)| k.strip_prefix(degraded::PREFIX).map(|reason| (reason.to_string(), Value::from(v))))
                .collect();
            counters.insert("degraded".into(), Value::Object(degraded));
        }
        Ok(doc)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Builds an event from JSON text (see [`Tracker::build`]).
    pub fn build_json(&self, event_json: &str, options: &BuildOptions) -> Result<BuildResult> {
        self.build(&EventInput::from_json(event_json)?, options)
    }

    /// Builds an event from JSON text at a fixed "now" (tests, examples).
    pub fn build_json_at(&self, event_json: &str, now: i64) -> Result<BuildResult> {
        self.build_json(event_json, &BuildOptions { now: Some(now), ..BuildOptions::default() })
    }

    /// Validate → gate → normalize/hash → event id → snippet and payload, under the
    /// settings in force (the merchant's recorded controls, read at most every half
    /// second, when the tracker has an outbox). No network I/O.
    pub fn build(&self, input: &EventInput, options: &BuildOptions) -> Result<BuildResult> {
        build::build(&self.live(), input, options)
    }

    /// One pixel snippet for every event of one page (see [`build::page_snippet`]).
    pub fn page_snippet(&self, inputs: &[EventInput], options: &BuildOptions) -> Result<String> {
        build::page_snippet(&self.live(), inputs, options)
    }

    /// [`Tracker::page_snippet`] from a JSON array of events.
    pub fn page_snippet_json(&self, events_json: &str, options: &BuildOptions) -> Result<String> {
        let v: Value = serde_json::from_str(events_json).map_err(|e| json_syntax("events", &e))?;
        let list = v.as_array().ok_or_else(|| Error::wrong_type("events", "a JSON array of events"))?;
        let inputs = list
            .iter()
            .enumerate()
            .map(|(i, e)| EventInput::from_value(e).map_err(|err| err.within(&format!("events[{i}]."))))
            .collect::<Result<Vec<_>>>()?;
        self.page_snippet(&inputs, options)
    }
}

/// Whether `settings` (in force) let server events leave.
fn controls_send(settings: &Settings) -> bool {
    crate::delivery::controls::ControlState::from_settings(settings).sends_events()
}

mod health;
