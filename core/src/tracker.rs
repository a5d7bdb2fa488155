//! `Tracker`: the entry point. `build` is pure (no I/O): validate → gate →
//! normalize/hash → event id → pixel snippet and Conversions API payload.

use serde_json::{Map, Value};

use crate::capi;
use crate::consent::{self, PixelConsent, ServerDecision};
use crate::dedup;
use crate::error::{json_syntax, Error, ErrorCode, Result};
use crate::input::{self, EventInput};
use crate::pixel::{self, PixelEvent, PixelOptions};
use crate::settings::Settings;

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
}

impl BuildOptions {
    /// Parses `{"now": N, "nonce": "...", "script_src": "..."}`; every key optional.
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
            let path = format!("options.{key}");
            match (key.as_str(), val) {
                (_, Value::Null) => {}
                ("now", Value::Number(n)) => {
                    o.now = Some(n.as_i64().ok_or_else(|| Error::wrong_type(&path, "whole Unix seconds"))?)
                }
                ("nonce", Value::String(s)) => o.nonce = Some(s.clone()),
                ("script_src", Value::String(s)) => o.script_src = Some(s.clone()),
                ("now", _) => return Err(Error::wrong_type(&path, "whole Unix seconds")),
                ("nonce" | "script_src", _) => return Err(Error::wrong_type(&path, "a string")),
                _ => return Err(Error::field(ErrorCode::UnknownField, &path, "is not a known option")),
            }
        }
        Ok(o)
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
    /// The Conversions API event object; `None` when blocked.
    pub payload: Option<Value>,
    /// Whether Limited Data Use applies.
    pub ldu: bool,
}

impl BuildResult {
    /// The stable JSON shape shared by C, PHP and Python (schema version 1).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("schema".into(), Value::from(1));
        m.insert("event_id".into(), Value::from(self.event_id.as_str()));
        m.insert("event_name".into(), Value::from(self.event_name.as_str()));
        m.insert("event_time".into(), Value::from(self.event_time));
        m.insert("server".into(), Value::from(self.server.as_str()));
        m.insert("reason".into(), self.server.reason().map(|r| Value::from(r.as_str())).unwrap_or(Value::Null));
        m.insert("pixel".into(), Value::from(self.pixel.as_str()));
        m.insert("ldu".into(), Value::from(self.ldu));
        m.insert("pixel_html".into(), Value::from(self.pixel_html.as_str()));
        m.insert("payload".into(), self.payload.clone().unwrap_or(Value::Null));
        Value::Object(m)
    }
}

/// The tracker for one merchant (one pixel). Cheap to share across threads.
#[derive(Clone, Debug)]
pub struct Tracker {
    settings: Settings,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Tracker {
    /// A tracker with validated settings.
    pub fn new(settings: Settings) -> Tracker {
        Tracker { settings }
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
        let now = options.now.unwrap_or_else(unix_now);
        let event_time = input.event_time.unwrap_or(now);
        input::check_event_time(event_time, now)?;

        let event_id = self.event_id_for(input)?;
        let decision = consent::decide(&self.settings, &input.consent);

        let payload = match decision.server {
            ServerDecision::Send => {
                // Meta rejects website events without these, and one bad event rejects a whole batch.
                if input.event_source_url.is_none() {
                    return Err(Error::field(ErrorCode::MissingField, "event_source_url", "is required for server events"));
                }
                if input.browser.user_agent.is_none() {
                    return Err(Error::field(ErrorCode::MissingField, "browser.user_agent", "is required for server events"));
                }
                Some(capi::event_payload(input, &event_id, event_time, &self.settings, &decision))
            }
            ServerDecision::Blocked(_) => None,
        };

        let params = capi::custom_data(input, true);
        let pixel_event = PixelEvent {
            event_name: &input.event_name,
            standard: input.is_standard(),
            params: &params,
            event_id: &event_id,
        };
        let pixel_html = pixel::render(
            &self.settings.pixel_id,
            decision.pixel,
            decision.ldu,
            std::slice::from_ref(&pixel_event),
            &PixelOptions { nonce: options.nonce.as_deref(), script_src: options.script_src.as_deref() },
        )?;

        Ok(BuildResult {
            event_id,
            event_name: input.event_name.clone(),
            event_time,
            pixel_html,
            pixel: decision.pixel,
            server: decision.server,
            payload,
            ldu: decision.ldu.is_some(),
        })
    }

    /// The event id: derived from the order id when there is one, else the caller's, else random.
    fn event_id_for(&self, input: &EventInput) -> Result<String> {
        match (&input.order_id, &input.event_id) {
            (Some(order), given) => {
                let derived = dedup::event_id(&self.settings.pixel_id, &input.event_name, order);
                if given.as_ref().is_some_and(|g| *g != derived) {
                    return Err(Error::invalid(
                        "event_id",
                        "differs from the id derived from order_id; omit it so pixel and server agree",
                    ));
                }
                Ok(derived)
            }
            (None, Some(given)) => Ok(given.clone()),
            (None, None) => Ok(dedup::random_event_id()),
        }
    }
}
