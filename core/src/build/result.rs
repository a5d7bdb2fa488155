//! What a build is asked for ([`BuildOptions`]) and what it gives ([`BuildResult`]).

use serde_json::{Map, Value};

use crate::build::consent::{PixelConsent, ServerDecision};
use crate::error::{json_syntax, Error, ErrorCode, Result};

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
    /// What an event older than Meta's 7 days gets: an `EventTimeError` (the default),
    /// or its pixel with the server copy skipped (`blocked`, reason `too_old`). The
    /// shop-facing helpers ask for the second, so an old order's thank-you page renders.
    pub too_old: TooOld,
}

/// See [`BuildOptions::too_old`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TooOld {
    #[default]
    Error,
    SkipServer,
}

impl TooOld {
    /// `"error"` or `"skip_server"`; anything else is an error naming `field`.
    pub fn parse(field: &str, s: &str) -> Result<TooOld> {
        match s {
            "error" => Ok(TooOld::Error),
            "skip_server" => Ok(TooOld::SkipServer),
            _ => Err(Error::field(ErrorCode::InvalidArgument, field, "must be \"error\" or \"skip_server\"")),
        }
    }
}

impl BuildOptions {
    /// Parses `{"now": N, "nonce": "...", "script_src": "...", "server_only": false,
    /// "too_old": "error"}`;
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
                ("too_old", Value::String(s)) => o.too_old = TooOld::parse(&path, s)?,
                ("now", _) => return Err(Error::wrong_type(&path, "whole Unix seconds")),
                ("server_only", _) => return Err(Error::wrong_type(&path, "true or false")),
                ("nonce" | "script_src" | "too_old", _) => return Err(Error::wrong_type(&path, "a string")),
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
            None => Ok(crate::clock::unix_now()),
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
    pub payload: Option<crate::build::payload::Payload>,
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
    /// Stored durably, not sent until the shopper grants consent (`set_consent`).
    Held,
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
            (Some(QueueOutcome::Held), _) => "held",
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
        m.insert("payload".into(), self.payload.as_ref().map(crate::build::payload::Payload::to_value).unwrap_or(Value::Null));
        Value::Object(m)
    }

    /// [`BuildResult::to_json`] as text, with the payload copied in as written (not re-parsed).
    pub fn to_json_string(&self) -> String {
        let payload = self.payload.as_ref().map_or("null", crate::build::payload::Payload::as_str);
        let mut o = String::with_capacity(self.pixel_html.len() + payload.len() + 256);
        o.push('{');
        for (i, (key, field)) in self.fields().into_iter().enumerate() {
            crate::build::json_writer::push_key(&mut o, key, i == 0);
            match field {
                ResultField::Int(v) => crate::build::json_writer::push_int(&mut o, v),
                ResultField::Str(s) => crate::build::json_writer::push_str(&mut o, s, false),
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
