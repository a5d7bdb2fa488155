//! `Tracker`: the entry point. `build` is pure (no I/O): validate → gate →
//! normalize/hash → event id → pixel snippet and Conversions API payload.

use serde_json::{Map, Value};

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::capi;
use crate::consent::{self, PixelConsent, ServerDecision};
use crate::dedup;
use crate::deliver::{Background, FlushReport, Sender};
use crate::error::{json_syntax, Error, ErrorCode, Result};
use crate::input::{self, EventInput};
use crate::outbox::{NewEvent, Outbox};
use crate::pixel::{self, PixelEvent, PixelOptions};
use crate::settings::Settings;
use crate::transport::{Transport, UreqTransport};

/// Per-call options of `build`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// "Now" in Unix seconds (default: the system clock). Fixes `event_time` when absent
    /// and is the reference for the 7-day and future checks.
    pub now: Option<i64>,
    /// CSP nonce for the pixel's `<script>` element.
    pub nonce: Option<String>,
    /// Where the page loads `fbevents.js` from (default: Meta's CDN).
    pub script_src: Option<String>,
    /// Build only the server copy: no pixel snippet (`pixel_html` is empty). For
    /// events no page will render: a payment provider's webhook, a renewal, a
    /// back-office order. The payload and event id are the same as a full build's.
    pub server_only: bool,
}

impl BuildOptions {
    /// Parses `{"now": N, "nonce": "...", "script_src": "...", "server_only": false}`;
    /// every key optional.
    pub fn from_json(text: &str) -> Result<BuildOptions> {
        let v: Value = serde_json::from_str(text).map_err(|e| json_syntax("options", &e))?;
        BuildOptions::from_value(&v)
    }

    /// Same, from a JSON value (`null` = defaults).
    pub fn from_value(v: &Value) -> Result<BuildOptions> {
        let m = match v {
            Value::Null => return Ok(BuildOptions::default()),
            Value::Object(m) => m,
            _ => return Err(Error::wrong_type("options", "an object")),
        };
        let mut o = BuildOptions::default();
        for (key, val) in m {
            let path = crate::error::key_path("options.", key);
            match (key.as_str(), val) {
                (_, Value::Null) => {}
                ("now", Value::Number(n)) => o.now = Some(n.as_i64().ok_or_else(|| Error::wrong_type(&path, "whole Unix seconds"))?),
                ("nonce", Value::String(s)) => o.nonce = Some(s.clone()),
                ("script_src", Value::String(s)) => o.script_src = Some(s.clone()),
                ("server_only", Value::Bool(b)) => o.server_only = *b,
                ("now", _) => return Err(Error::wrong_type(&path, "whole Unix seconds")),
                ("server_only", _) => return Err(Error::wrong_type(&path, "true or false")),
                ("nonce" | "script_src", _) => return Err(Error::wrong_type(&path, "a string")),
                _ => return Err(Error::field(ErrorCode::UnknownField, &path, "is not a known option")),
            }
        }
        Ok(o)
    }

    /// "Now" for this call: the option, checked to lie between 1970 and the end of
    /// year 9999 (so that no time arithmetic can overflow), or the system clock.
    pub fn now(&self) -> Result<i64> {
        /// 9999-12-31T23:59:59Z.
        const LAST: i64 = 253_402_300_799;
        match self.now {
            None => Ok(unix_now()),
            Some(n) if (0..=LAST).contains(&n) => Ok(n),
            Some(_) => Err(Error::field(ErrorCode::InvalidArgument, "now", "must be Unix seconds between 1970 and 9999")),
        }
    }
}

/// What `build` returns for one event.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildResult {
    pub event_id: String,
    pub event_name: String,
    pub event_time: i64,
    /// The snippet for the page (empty in catalog-only mode).
    pub pixel_html: String,
    pub pixel: PixelConsent,
    /// `send` or `blocked` (with a reason).
    pub server: ServerDecision,
    /// The Conversions API event object (JSON text); `None` when blocked.
    pub payload: Option<crate::capi::Payload>,
    /// Whether Limited Data Use applies.
    pub ldu: bool,
    /// What `track` did with the server copy (`None` for `build`).
    pub queue: Option<QueueOutcome>,
}

/// What `track` did with an event the gate let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    /// Stored durably; the sender will deliver it.
    Queued,
    /// The same event (name + id) was accepted before; nothing new was stored.
    Duplicate,
}

/// One top-level value of [`BuildResult`]'s JSON shape, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ResultField<'a> {
    Int(i64),
    Str(&'a str),
    Bool(bool),
    Null,
}

impl BuildResult {
    /// The top-level fields of the JSON shape (schema 1), in order, except
    /// `payload`: one list, so the bindings that build their own objects agree with C.
    pub fn fields(&self) -> [(&'static str, ResultField<'_>); 9] {
        use ResultField as F;
        let server = match (self.queue, self.server) {
            (Some(QueueOutcome::Queued), _) => "queued",
            (Some(QueueOutcome::Duplicate), _) => "duplicate",
            (None, s) => s.as_str(),
        };
        [
            ("schema", F::Int(1)),
            ("event_id", F::Str(&self.event_id)),
            ("event_name", F::Str(&self.event_name)),
            ("event_time", F::Int(self.event_time)),
            ("server", F::Str(server)),
            ("reason", self.server.reason().map_or(F::Null, |r| F::Str(r.as_str()))),
            ("pixel", F::Str(self.pixel.as_str())),
            ("ldu", F::Bool(self.ldu)),
            ("pixel_html", F::Str(&self.pixel_html)),
        ]
    }

    /// The stable JSON shape shared by C, PHP and Python (schema version 1).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (key, field) in self.fields() {
            let v = match field {
                ResultField::Int(i) => Value::from(i),
                ResultField::Str(s) => Value::from(s),
                ResultField::Bool(b) => Value::from(b),
                ResultField::Null => Value::Null,
            };
            m.insert(key.into(), v);
        }
        m.insert("payload".into(), self.payload.as_ref().map(crate::capi::Payload::to_value).unwrap_or(Value::Null));
        Value::Object(m)
    }

    /// [`BuildResult::to_json`] as text, with the payload copied in as written (not re-parsed).
    pub fn to_json_string(&self) -> String {
        let payload = self.payload.as_ref().map_or("null", crate::capi::Payload::as_str);
        let mut o = String::with_capacity(self.pixel_html.len() + payload.len() + 256);
        o.push('{');
        for (i, (key, field)) in self.fields().into_iter().enumerate() {
            crate::jsonw::push_key(&mut o, key, i == 0);
            match field {
                ResultField::Int(v) => crate::jsonw::push_int(&mut o, v),
                ResultField::Str(s) => crate::jsonw::push_str(&mut o, s, false),
                ResultField::Bool(b) => o.push_str(if b { "true" } else { "false" }),
                ResultField::Null => o.push_str("null"),
            }
        }
        o.push_str(",\"payload\":");
        o.push_str(payload);
        o.push('}');
        o
    }
}

/// The tracker for one merchant (one pixel). Cheap to share across threads.
#[derive(Clone, Debug)]
pub struct Tracker {
    settings: Settings,
    delivery: Option<Arc<Delivery>>,
    /// Summary of the last feed export (also persisted in the outbox, if any).
    catalog_last_export: Arc<Mutex<Option<Value>>>,
}

/// Outbox meta key of the last feed export summary.
const CATALOG_LAST_EXPORT: &str = "catalog.last_export";

/// The durable half: outbox, sender and (optionally) its background thread.
pub(crate) struct Delivery {
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) sender: Arc<Sender>,
    background: Mutex<Option<Background>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").field("outbox", &self.outbox).finish_non_exhaustive()
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

impl Tracker {
    /// A tracker for `build` only (pure; no outbox, no network).
    pub fn new(settings: Settings) -> Tracker {
        Tracker { settings, delivery: None, catalog_last_export: Arc::default() }
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
        // The thread runs when something may leave the shop: events (data controls on) or
        // live catalog updates (a catalog id and a token).
        let catalog_updates = settings.catalog_id.is_some() && settings.access_token.is_some();
        let background = if settings.sender == crate::settings::SenderMode::Thread && (settings.data_controls || catalog_updates) {
            let interval = Duration::from_millis(settings.flush_interval_ms);
            Some(
                Background::start(Arc::clone(&sender), interval)
                    .map_err(|e| Error::general(ErrorCode::Internal, format!("cannot start the sender thread: {}", e.kind())))?,
            )
        } else {
            None
        };
        let delivery = Delivery { outbox, sender, background: Mutex::new(background) };
        Ok(Tracker { settings, delivery: Some(Arc::new(delivery)), catalog_last_export: Arc::default() })
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
        let mut result = self.build(input, options)?;
        match (&result.payload, result.server) {
            (Some(payload), ServerDecision::Send) => {
                let event = NewEvent {
                    event_name: &result.event_name,
                    event_id: &result.event_id,
                    event_time: result.event_time,
                    payload: payload.as_str(),
                };
                let queued = delivery.outbox.accept(&event, crate::deliver::now_ms())?;
                result.queue = Some(if queued { QueueOutcome::Queued } else { QueueOutcome::Duplicate });
                if queued {
                    if let Ok(guard) = delivery.background.lock() {
                        if let Some(bg) = guard.as_ref() {
                            let n = bg.signal.accepted.fetch_add(1, Ordering::Relaxed) + 1;
                            if n >= self.settings.batch_size {
                                bg.signal.wake();
                            }
                        }
                    }
                }
            }
            (_, ServerDecision::Blocked(reason)) => {
                delivery.outbox.count(&format!("blocked.{}", reason.as_str()), 1)?;
            }
            (None, ServerDecision::Send) => {
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
    pub fn claim_handoff(&self, limit: usize, lease_ms: i64) -> Result<Vec<crate::outbox::Claimed>> {
        let d = self.delivery("claim_handoff")?;
        if !self.settings.data_controls || limit == 0 {
            return Ok(Vec::new());
        }
        d.outbox.claim(crate::deliver::now_ms(), limit.min(self.settings.batch_size.max(1)), lease_ms.max(1))
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
    pub fn send_prepared(&self, payload: &str, attempts: u32) -> Result<crate::deliver::ShotReport> {
        let d = self.delivery("send_prepared")?;
        if !self.settings.data_controls {
            return Err(Error::field(ErrorCode::NotConfigured, "data_controls", "is off on this worker: it sends nothing"));
        }
        d.sender.send_prepared(payload, attempts)
    }

    /// Drops a queued event whose consent was revoked. Returns whether one was queued.
    pub fn revoke(&self, event_name: &str, event_id: &str) -> Result<bool> {
        self.delivery("revoke")?.outbox.revoke(event_name, event_id)
    }

    /// Drops a queued order event (by order id) whose consent was revoked.
    pub fn revoke_order(&self, event_name: &str, order_id: &str) -> Result<bool> {
        let id = dedup::event_id_checked(&self.settings.pixel_id, event_name, order_id)?;
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
        let mut doc = crate::status::status(&self.settings, self.delivery.as_ref().map(|d| (&*d.outbox, &*d.sender)))?;
        if let Some(m) = doc.as_object_mut() {
            m.insert("catalog".into(), self.catalog_status()?);
        }
        Ok(doc)
    }

    /// The `catalog` section of `status()`: catalog id/name, the content id
    /// mapping and the last feed export (this process, else the outbox's record).
    pub fn catalog_status(&self) -> Result<Value> {
        let mut last = self.catalog_last_export.lock().ok().and_then(|g| g.clone());
        if last.is_none() {
            if let Some(d) = &self.delivery {
                last = d.outbox.meta(CATALOG_LAST_EXPORT)?.and_then(|s| serde_json::from_str(&s).ok());
            }
        }
        Ok(serde_json::json!({
            "catalog_id": self.settings.catalog_id,
            "catalog_name": self.settings.catalog_name,
            "content_id": self.settings.content_id.as_str(),
            "last_export": last,
        }))
    }

    /// Feed export options for this merchant: the `content_id` mapping and the catalog name as channel title.
    pub fn export_options(&self, format: crate::catalog::FeedFormat) -> crate::catalog::ExportOptions {
        let mut opts = crate::catalog::ExportOptions { format, content_id: self.settings.content_id, ..Default::default() };
        if let Some(name) = &self.settings.catalog_name {
            opts.channel_title = name.clone();
        }
        opts.channel_link = self.settings.shop_url.clone();
        opts
    }

    /// Exports a product feed (see [`crate::catalog::export_feed`]) with this
    /// merchant's `content_id` mapping, and records the result for `status()`
    /// (in memory and, with an outbox, durably).
    pub fn export_feed<R: std::io::BufRead, W: std::io::Write>(
        &self,
        input: R,
        output: W,
        opts: &crate::catalog::ExportOptions,
        hooks: &mut crate::catalog::ExportHooks<'_>,
    ) -> Result<crate::catalog::ExportReport> {
        self.export_records(&mut crate::catalog::Lines(input), output, opts, hooks)
    }

    /// [`Tracker::export_feed`] from any record source (e.g. parsed values from a binding).
    pub fn export_records<S: crate::catalog::RecordSource + ?Sized, W: std::io::Write>(
        &self,
        input: &mut S,
        output: W,
        opts: &crate::catalog::ExportOptions,
        hooks: &mut crate::catalog::ExportHooks<'_>,
    ) -> Result<crate::catalog::ExportReport> {
        let opts = crate::catalog::ExportOptions { content_id: self.settings.content_id, ..opts.clone() };
        let report = crate::catalog::export_records(input, output, &opts, hooks)?;
        self.record_export(&report)?;
        Ok(report)
    }

    /// Records an export summary for `status()`.
    pub fn record_export(&self, report: &crate::catalog::ExportReport) -> Result<()> {
        let summary = serde_json::json!({
            "format": report.format.as_str(),
            "read": report.read,
            "written": report.written,
            "skipped": report.skipped,
            "error_counts": report.error_counts,
            "finished_at": report.finished_at,
            "duration_ms": report.duration_ms,
        });
        if let Some(d) = &self.delivery {
            d.outbox.set_meta(CATALOG_LAST_EXPORT, Some(&summary.to_string()))?;
        }
        if let Ok(mut g) = self.catalog_last_export.lock() {
            *g = Some(summary);
        }
        Ok(())
    }

    /// Checks event items against a products file with this merchant's `content_id` mapping.
    pub fn check_catalog<E: std::io::BufRead, P: std::io::BufRead>(&self, events: E, products: P) -> Result<crate::catalog::CheckReport> {
        let opts = crate::catalog::CheckOptions { content_id: self.settings.content_id, ..Default::default() };
        crate::catalog::check_catalog(events, products, &opts)
    }

    /// [`Tracker::check_catalog`] from any record sources.
    pub fn check_records<E: crate::catalog::RecordSource + ?Sized, P: crate::catalog::RecordSource + ?Sized>(
        &self,
        events: &mut E,
        products: &mut P,
    ) -> Result<crate::catalog::CheckReport> {
        let opts = crate::catalog::CheckOptions { content_id: self.settings.content_id, ..Default::default() };
        crate::catalog::check_records(events, products, &opts)
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

    /// Pure: validate → gate → normalize/hash → event id → snippet and payload. No I/O.
    pub fn build(&self, input: &EventInput, options: &BuildOptions) -> Result<BuildResult> {
        let now = options.now()?;
        let event_time = input.event_time.unwrap_or(now);
        input::check_event_time(event_time, now)?;

        let event_id = self.event_id_for(input)?;
        input.check_content_ids(self.settings.content_id)?;
        let decision = consent::decide(&self.settings, &input.consent);

        if decision.server == ServerDecision::Send {
            // Meta rejects website events without these, and one bad event rejects a whole batch.
            if input.event_source_url.is_none() {
                return Err(Error::field(ErrorCode::MissingField, "event_source_url", "is required for server events"));
            }
            if input.browser.user_agent.is_none() {
                return Err(Error::field(ErrorCode::MissingField, "browser.user_agent", "is required for server events"));
            }
        }
        // The snippet is written up to this event's parameters; the parameters go
        // straight into it, in the same pass as the payload's custom_data.
        let standard = input.is_standard();
        let mut snippet = match options.server_only {
            true => None,
            false => pixel::begin(
                &self.settings.pixel_id,
                decision.pixel,
                decision.ldu,
                standard && input.event_name == "PageView",
                &PixelOptions { nonce: options.nonce.as_deref(), script_src: options.script_src.as_deref() },
                256 + input.items.len() * 160,
            )?,
        };
        if let Some(s) = snippet.as_mut() {
            pixel::push_event_start(s, &input.event_name, standard);
        }
        let payload = match decision.server {
            ServerDecision::Send => Some(capi::event_payload(input, &event_id, event_time, &self.settings, &decision, snippet.as_mut())),
            ServerDecision::Blocked(_) => {
                if let Some(s) = snippet.as_mut() {
                    capi::write_custom_data(s, input, true, self.settings.content_id);
                }
                None
            }
        };
        let pixel_html = match snippet {
            Some(mut s) => {
                pixel::push_event_end(&mut s, &event_id);
                pixel::finish(s, &self.settings.pixel_id, decision.pixel)
            }
            None => String::new(),
        };

        Ok(BuildResult {
            event_id,
            event_name: input.event_name.to_string(),
            event_time,
            pixel_html,
            pixel: decision.pixel,
            server: decision.server,
            payload,
            ldu: decision.ldu.is_some(),
            queue: None,
        })
    }

    /// One pixel snippet for every event of one page: the base code, `init` and the
    /// page view once, then one `track` call per event with its event id (the same
    /// ids `build`/`track` give). Pure, like `build`. The page follows the strictest
    /// consent among the events (off, then revoked, then track) and Limited Data Use
    /// if any event has it; with no event it is the base code and a page view under
    /// the merchant's default consent. Errors name the event: `events[1].order_id`.
    pub fn page_snippet(&self, inputs: &[EventInput], options: &BuildOptions) -> Result<String> {
        if options.server_only {
            return Err(Error::field(ErrorCode::InvalidArgument, "options.server_only", "does not apply to a page snippet"));
        }
        let now = options.now()?;
        let mut prepared = Vec::with_capacity(inputs.len());
        let (mut page, mut ldu) = match inputs.is_empty() {
            true => {
                let d = consent::decide(&self.settings, &input::Consent { marketing: input::Marketing::Unknown, ldu: None });
                (d.pixel, d.ldu)
            }
            false => (PixelConsent::Track, None),
        };
        for (i, input) in inputs.iter().enumerate() {
            let at = |e: Error| e.within(&format!("events[{i}]."));
            input::check_event_time(input.event_time.unwrap_or(now), now).map_err(at)?;
            let event_id = self.event_id_for(input).map_err(at)?;
            input.check_content_ids(self.settings.content_id).map_err(at)?;
            let decision = consent::decide(&self.settings, &input.consent);
            page = match (page, decision.pixel) {
                (PixelConsent::Off, _) | (_, PixelConsent::Off) => PixelConsent::Off,
                (PixelConsent::Revoked, _) | (_, PixelConsent::Revoked) => PixelConsent::Revoked,
                _ => PixelConsent::Track,
            };
            ldu = ldu.or(decision.ldu);
            prepared.push((event_id, capi::custom_data_json(input, true, self.settings.content_id)));
        }
        let events: Vec<PixelEvent<'_>> = inputs
            .iter()
            .zip(&prepared)
            .map(|(input, (event_id, params))| PixelEvent {
                event_name: &input.event_name,
                standard: input.is_standard(),
                params,
                event_id,
            })
            .collect();
        pixel::render(
            &self.settings.pixel_id,
            page,
            ldu,
            &events,
            &PixelOptions { nonce: options.nonce.as_deref(), script_src: options.script_src.as_deref() },
        )
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

    /// The event id: derived from the order id when there is one, else the caller's, else random.
    fn event_id_for(&self, input: &EventInput) -> Result<String> {
        match (&input.order_id, &input.event_id) {
            (Some(order), given) => {
                let derived = dedup::event_id(&self.settings.pixel_id, &input.event_name, order);
                if given.as_ref().is_some_and(|g| *g != derived) {
                    return Err(Error::invalid("event_id", "differs from the id derived from order_id; omit it so pixel and server agree"));
                }
                Ok(derived)
            }
            (None, Some(given)) => Ok(given.to_string()),
            (None, None) => Ok(dedup::random_event_id()),
        }
    }
}
