//! The merchant's live controls on the tracker (docs/spec.md §12): `set_controls`,
//! `controls`, the dead letters the dashboard lists, retries and discards, and the
//! settings in force (the file's settings with the recorded controls on top).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::delivery::controls::{controls_json, ControlChange, ControlState, HISTORY_LIMIT};
use crate::error::{Error, ErrorCode, Result};
use crate::settings::{Mode, Settings};
use crate::tracker::Tracker;

/// How long a process uses the controls it last read before it reads them again:
/// a change made elsewhere reaches its next `track` within this time. (Turning
/// data controls off is seen at once by every `track`: the outbox refuses the event
/// in the same transaction.)
const REFRESH: Duration = Duration::from_millis(500);

/// The settings in force in this process, and when the controls were last read.
#[derive(Debug)]
pub(crate) struct Live {
    state: Mutex<(Option<Instant>, Arc<Settings>)>,
}

impl Live {
    pub(crate) fn new(settings: &Arc<Settings>) -> Live {
        Live { state: Mutex::new((None, Arc::clone(settings))) }
    }
}

/// `base` with the recorded controls on top.
fn apply(base: &Settings, state: &ControlState) -> Settings {
    let mut s = base.clone();
    s.data_controls = state.data_controls;
    s.mode = state.mode;
    s
}

impl Tracker {
    /// The settings in force: the merchant's recorded controls (re-read at most every
    /// [`REFRESH`]) over the settings given. A tracker without an outbox has only its settings.
    pub(crate) fn live(&self) -> Arc<Settings> {
        let Some(d) = self.delivery.as_deref() else { return Arc::clone(&self.settings) };
        let mut guard = match self.live.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.0.is_some_and(|at| at.elapsed() < REFRESH) {
            return Arc::clone(&guard.1);
        }
        match d.outbox.controls(&ControlState::from_settings(&self.settings)) {
            Ok(state) if state.data_controls != guard.1.data_controls || state.mode != guard.1.mode => {
                guard.1 = Arc::new(apply(&self.settings, &state));
            }
            Ok(_) => {}
            // The last state read stays in force; `track` reports the storage error itself.
            Err(e) => log::warn!("convtrack: cannot read the merchant's controls: {e}"),
        }
        guard.0 = Some(Instant::now());
        Arc::clone(&guard.1)
    }

    /// Makes the next [`Tracker::live`] read the controls again.
    pub(crate) fn forget_live(&self) {
        if let Ok(mut guard) = self.live.state.lock() {
            guard.0 = None;
        }
    }

    /// Records a change of the merchant's controls, made by `actor` (a name for the
    /// audit trail), and returns the new [`Tracker::controls`]. Turning data controls
    /// on needs `legal_ack` (an error naming `legal_ack` otherwise) and an access
    /// token. Turning them off (or switching to `catalog_only`) discards the server
    /// events still queued: counted under `discarded`, never sent. Every process on
    /// the same outbox follows within about a second, with no restart.
    pub fn set_controls(&self, actor: &str, data_controls: Option<bool>, mode: Option<Mode>, legal_ack: bool) -> Result<Value> {
        let d = self.delivery("set_controls")?;
        let change = ControlChange { actor, data_controls, mode, legal_ack };
        change.check(&self.settings)?;
        let (state, discarded) = d.outbox.set_controls(&change, &ControlState::from_settings(&self.settings), crate::clock::now_ms())?;
        if discarded.queued > 0 {
            log::info!("convtrack: data controls stop server events; {} queued event(s) discarded, never sent", discarded.queued);
        }
        if discarded.in_flight > 0 {
            log::info!(
                "convtrack: {} event(s) were already in a request to Meta when server events stopped; they are not recalled",
                discarded.in_flight
            );
        }
        log::info!(
            "convtrack: controls changed: data_controls={} mode={} (legal review acknowledged: {legal_ack})",
            state.data_controls,
            state.mode.as_str()
        );
        self.forget_live();
        self.controls()
    }

    /// [`Tracker::set_controls`] with the mode as text (the faces' form).
    pub fn set_controls_str(&self, actor: &str, data_controls: Option<bool>, mode: Option<&str>, legal_ack: bool) -> Result<Value> {
        let mode = mode.map(crate::delivery::controls::parse_mode).transpose()?;
        self.set_controls(actor, data_controls, mode, legal_ack)
    }

    /// The controls in force and their history (newest first): `data_controls`,
    /// `mode`, `legal_ack`, `changed_at` (Unix seconds), `changed_by`, `source`
    /// (`settings` until a change is recorded, then `outbox`) and `history`.
    pub fn controls(&self) -> Result<Value> {
        let Some(d) = self.delivery.as_deref() else {
            return Ok(controls_json(&ControlState::from_settings(&self.settings), Vec::new()));
        };
        let state = d.outbox.controls(&ControlState::from_settings(&self.settings))?;
        Ok(controls_json(&state, d.outbox.controls_history(HISTORY_LIMIT)?))
    }

    /// The dead letters, newest first (at most `limit`); never their payload.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<Value>> {
        self.delivery("dead_letters")?.outbox.dead_letters(limit)
    }

    /// Queues dead letters again (`None`: all), due now; those too old for Meta stay.
    /// Refused while the controls send no server events. Returns how many were queued.
    pub fn retry_dead_letters(&self, ids: Option<&[i64]>) -> Result<u64> {
        let d = self.delivery("retry_dead_letters")?;
        let now = crate::clock::now_ms();
        let defaults = ControlState::from_settings(&self.settings);
        let Some(n) = d.outbox.retry_dead_letters(ids, crate::delivery::events::expiry_cutoff(now), now, &defaults)? else {
            return Err(Error::field(ErrorCode::NotConfigured, "data_controls", "is off: dead letters cannot be sent again"));
        };
        if n > 0 {
            self.wake_sender();
        }
        Ok(n)
    }

    /// Deletes dead letters (`None`: all) for good. Returns how many.
    pub fn discard_dead_letters(&self, ids: Option<&[i64]>) -> Result<u64> {
        self.delivery("discard_dead_letters")?.outbox.discard_dead_letters(ids)
    }
}

impl Tracker {
    /// [`Tracker::set_controls`] from JSON text, the C and PHP form:
    /// `{"actor": "...", "data_controls": true|false|null, "mode": "..."|null, "legal_ack": false}`.
    pub fn set_controls_json(&self, request: &str) -> Result<Value> {
        let v: Value = serde_json::from_str(request).map_err(|e| crate::error::json_syntax("request", &e))?;
        let m = v.as_object().ok_or_else(|| Error::wrong_type("request", "an object"))?;
        let (mut actor, mut data_controls, mut mode, mut legal_ack) = (None, None, None, false);
        for (key, val) in m {
            match (key.as_str(), val) {
                (_, Value::Null) => {}
                ("actor", Value::String(s)) => actor = Some(s.as_str()),
                ("data_controls", Value::Bool(b)) => data_controls = Some(*b),
                ("mode", Value::String(s)) => mode = Some(s.as_str()),
                ("legal_ack", Value::Bool(b)) => legal_ack = *b,
                ("actor" | "mode", _) => return Err(Error::wrong_type(key, "a string")),
                ("data_controls" | "legal_ack", _) => return Err(Error::wrong_type(key, "true or false")),
                _ => return Err(Error::field(ErrorCode::UnknownField, crate::error::key_path("", key), "is not a known key")),
            }
        }
        let actor = actor.ok_or_else(|| Error::field(ErrorCode::MissingField, "actor", "is required: who makes the change"))?;
        self.set_controls_str(actor, data_controls, mode, legal_ack)
    }
}

/// Dead-letter ids from JSON text (`[1, 2]`), the C and PHP form; `None` text means all.
pub fn ids_from_json(text: Option<&str>) -> Result<Option<Vec<i64>>> {
    let Some(text) = text else { return Ok(None) };
    let v: Value = serde_json::from_str(text).map_err(|e| crate::error::json_syntax("ids", &e))?;
    let list = v.as_array().ok_or_else(|| Error::wrong_type("ids", "a JSON array of dead-letter ids"))?;
    list.iter()
        .enumerate()
        .map(|(i, id)| id.as_i64().ok_or_else(|| Error::wrong_type(format!("ids[{i}]"), "a whole number")))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
