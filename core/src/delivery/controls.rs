//! The merchant's live controls (docs/spec.md §12): `data_controls` and `mode`,
//! recorded in the outbox file next to the queue so that every process and every
//! face that opens the same outbox shares one state. The settings' values are
//! only the starting state, used until a change has been recorded.
//!
//! The history is append-only (SQLite triggers refuse UPDATE and DELETE on it):
//! it is the audit trail of who turned receipt data on or off, and whether they
//! acknowledged the legal review.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde_json::{json, Value};

use crate::delivery::outbox::{incr, Outbox};
use crate::error::{Error, ErrorCode, Result};
use crate::settings::{Mode, Settings};

/// Most characters of the `actor` recorded with a change.
pub const ACTOR_MAX_CHARS: usize = 200;
/// Most history entries `controls()` returns.
pub const HISTORY_LIMIT: usize = 100;

/// The state in force: from the last recorded change, or the settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlState {
    pub data_controls: bool,
    pub mode: Mode,
    /// The recorded change this state comes from (`None`: the settings).
    pub changed: Option<Changed>,
}

/// Who made the change in force, when, and whether data controls were turned on
/// with the legal review acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    pub at_ms: i64,
    pub actor: String,
    /// The acknowledgement recorded when data controls were last turned on.
    pub legal_ack: bool,
}

impl ControlState {
    /// The starting state of `settings`.
    pub fn from_settings(settings: &Settings) -> ControlState {
        ControlState { data_controls: settings.data_controls, mode: settings.mode, changed: None }
    }

    /// Whether server events may be queued and sent in this state.
    pub fn sends_events(&self) -> bool {
        self.data_controls && self.mode == Mode::PixelAndServer
    }

    /// Why server events are not sent in this state (a counter and log name).
    pub(crate) fn stop_reason(&self) -> &'static str {
        if self.mode == Mode::CatalogOnly {
            "catalog_only"
        } else {
            "data_controls_off"
        }
    }
}

/// One change asked for by the merchant.
#[derive(Clone, Debug)]
pub struct ControlChange<'a> {
    pub actor: &'a str,
    pub data_controls: Option<bool>,
    pub mode: Option<Mode>,
    pub legal_ack: bool,
}

impl ControlChange<'_> {
    /// Checks the change against the settings: an actor, something to change, the
    /// acknowledgement and a token to turn data controls on.
    pub fn check(&self, settings: &Settings) -> Result<()> {
        let actor = self.actor.trim();
        if actor.is_empty() {
            return Err(Error::field(ErrorCode::InvalidArgument, "actor", "must name who makes the change"));
        }
        if actor.chars().count() > ACTOR_MAX_CHARS || hides_text(actor) {
            return Err(Error::field(
                ErrorCode::InvalidArgument,
                "actor",
                format!("must be at most {ACTOR_MAX_CHARS} characters, without control, format or line-separator characters"),
            ));
        }
        if self.data_controls.is_none() && self.mode.is_none() {
            return Err(Error::field(ErrorCode::InvalidArgument, "data_controls", "or mode must be given: there is nothing to change"));
        }
        if self.data_controls == Some(true) {
            if !self.legal_ack {
                return Err(Error::field(
                    ErrorCode::InvalidArgument,
                    "legal_ack",
                    "must be true to turn data controls on: receipt data (hashed customer details) will be sent to Meta, which may need a legal review",
                ));
            }
            if settings.access_token.is_none() {
                return Err(Error::setting("access_token", "is required to turn data controls on (server events need it)"));
            }
        }
        Ok(())
    }
}

/// What a switch-off removed from the queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Discarded {
    /// Queued or held events, never sent.
    pub queued: u64,
    /// Events a sender had already put in a request to Meta: not recalled.
    pub in_flight: u64,
}

/// Whether `s` holds a character that changes how the audit trail reads rather than
/// what it says: controls (NUL, newlines, escapes), format characters (bidi overrides
/// such as U+202E, zero-width characters) and line or paragraph separators.
fn hides_text(s: &str) -> bool {
    static HIDING: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    match HIDING.get_or_init(|| regex::Regex::new(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]").ok()) {
        Some(re) => re.is_match(s),
        // The pattern is a constant; should it ever fail to compile, refuse all but plain ASCII.
        None => !s.bytes().all(|b| (0x20..0x7f).contains(&b)),
    }
}

/// Parses a mode given to `set_controls` (an error names `mode`).
pub fn parse_mode(s: &str) -> Result<Mode> {
    match s {
        "pixel_and_server" => Ok(Mode::PixelAndServer),
        "catalog_only" => Ok(Mode::CatalogOnly),
        _ => Err(Error::field(ErrorCode::InvalidArgument, "mode", "must be \"pixel_and_server\" or \"catalog_only\"")),
    }
}

fn mode_of(s: &str) -> Mode {
    // Only this module writes the column, from a parsed `Mode`.
    if s == Mode::CatalogOnly.as_str() {
        Mode::CatalogOnly
    } else {
        Mode::PixelAndServer
    }
}

/// The last recorded state of `pixel`, read on `c` (inside or outside a transaction).
pub(crate) fn recorded(c: &rusqlite::Connection, pixel: &str) -> rusqlite::Result<Option<ControlState>> {
    c.prepare_cached(
        "SELECT data_controls, mode, at_ms, actor,
                (SELECT legal_ack FROM controls_history h WHERE h.pixel_id = ?1 AND h.set_data_controls = 1 ORDER BY id DESC LIMIT 1)
         FROM controls_history WHERE pixel_id = ?1 ORDER BY id DESC LIMIT 1",
    )?
    .query_row(params![pixel], |r| {
        Ok(ControlState {
            data_controls: r.get(0)?,
            mode: mode_of(&r.get::<_, String>(1)?),
            changed: Some(Changed { at_ms: r.get(2)?, actor: r.get(3)?, legal_ack: r.get::<_, Option<bool>>(4)?.unwrap_or(false) }),
        })
    })
    .optional()
}

/// Whether the last recorded state of `pixel` sends server events (`None`: nothing
/// recorded, the settings decide). The checkout's question, asked inside its write
/// transaction: one indexed row.
pub(crate) fn recorded_sends(c: &rusqlite::Connection, pixel: &str) -> rusqlite::Result<Option<(bool, &'static str)>> {
    c.prepare_cached("SELECT data_controls, mode FROM controls_history WHERE pixel_id = ?1 ORDER BY id DESC LIMIT 1")?
        .query_row(params![pixel], |r| {
            let state = ControlState { data_controls: r.get(0)?, mode: mode_of(&r.get::<_, String>(1)?), changed: None };
            Ok((state.sends_events(), state.stop_reason()))
        })
        .optional()
}

impl Outbox {
    /// The state in force: the last recorded change, else `defaults` (the settings').
    pub fn controls(&self, defaults: &ControlState) -> Result<ControlState> {
        self.with(|c| recorded(c, self.pixel_id())).map(|r| r.unwrap_or_else(|| defaults.clone()))
    }

    /// Records `change` (checked by the caller) on top of the state in force, in one
    /// transaction. When the new state sends no server events, the events still
    /// queued are discarded (counted, never sent). Returns the new state and what
    /// was discarded.
    pub fn set_controls(&self, change: &ControlChange<'_>, defaults: &ControlState, now_ms: i64) -> Result<(ControlState, Discarded)> {
        let pixel = self.pixel_id();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let before = recorded(&tx, pixel)?.unwrap_or_else(|| defaults.clone());
            let mut after = ControlState {
                data_controls: change.data_controls.unwrap_or(before.data_controls),
                mode: change.mode.unwrap_or(before.mode),
                changed: None,
            };
            let (mut discarded, mut in_flight) = (0u64, 0u64);
            if !after.sends_events() {
                // A sender holds these in a request already on its way to Meta: they are
                // not recalled (and not counted as never sent), but removed so that a
                // failed request is not retried.
                in_flight =
                    tx.execute("DELETE FROM outbox WHERE pixel_id = ?1 AND claimed_until > ?2", params![pixel, now_ms])? as u64;
                discarded = (tx.execute("DELETE FROM outbox WHERE pixel_id = ?1", params![pixel])?
                    + tx.execute("DELETE FROM held WHERE pixel_id = ?1", params![pixel])?) as u64;
                if discarded > 0 {
                    incr(&tx, pixel, &format!("discarded.{}", after.stop_reason()), discarded as i64)?;
                }
                if in_flight > 0 {
                    incr(&tx, pixel, &format!("discarded_in_flight.{}", after.stop_reason()), in_flight as i64)?;
                }
            }
            tx.execute(
                "INSERT INTO controls_history(pixel_id, at_ms, actor, set_data_controls, set_mode, legal_ack, discarded, data_controls, mode, in_flight)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    pixel,
                    now_ms,
                    change.actor.trim(),
                    change.data_controls,
                    change.mode.map(Mode::as_str),
                    change.legal_ack,
                    discarded as i64,
                    after.data_controls,
                    after.mode.as_str(),
                    in_flight as i64
                ],
            )?;
            after.changed = recorded(&tx, pixel)?.and_then(|s| s.changed);
            tx.commit()?;
            Ok((after, Discarded { queued: discarded, in_flight }))
        })
    }

    /// The recorded changes, newest first (at most `limit`).
    pub fn controls_history(&self, limit: usize) -> Result<Vec<Value>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT at_ms, actor, set_data_controls, set_mode, legal_ack, discarded, in_flight FROM controls_history
                 WHERE pixel_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![self.pixel_id(), limit as i64], |r| {
                Ok(json!({
                    "at": r.get::<_, i64>(0)? / 1000,
                    "actor": r.get::<_, String>(1)?,
                    "data_controls": r.get::<_, Option<bool>>(2)?,
                    "mode": r.get::<_, Option<String>>(3)?,
                    "legal_ack": r.get::<_, bool>(4)?,
                    "discarded": r.get::<_, i64>(5)?,
                    "in_flight": r.get::<_, i64>(6)?,
                }))
            })?;
            rows.collect()
        })
    }
}

/// The controls document (`controls()` and `status()["controls"]`): the state in
/// force and the history. Never the token.
pub fn controls_json(state: &ControlState, history: Vec<Value>) -> Value {
    json!({
        "data_controls": state.data_controls,
        "mode": state.mode.as_str(),
        "legal_ack": state.changed.as_ref().is_some_and(|c| c.legal_ack && state.data_controls),
        "changed_at": state.changed.as_ref().map(|c| c.at_ms / 1000),
        "changed_by": state.changed.as_ref().map(|c| c.actor.as_str()),
        "source": if state.changed.is_some() { "outbox" } else { "settings" },
        "history": history,
    })
}

#[cfg(test)]
mod tests {
    use super::hides_text;

    #[test]
    fn an_actor_cannot_disguise_what_the_audit_trail_says() {
        for bad in
            ["ali\u{0}ce", "alice\nbob", "\u{202e}ecila", "al\u{200b}ice", "alice\u{2028}", "alice\u{2029}", "\u{feff}alice", "a\u{1b}[31m"]
        {
            assert!(hides_text(bad), "{bad:?}");
        }
        for good in ["alice", "Zoë Dupont", "admin@shop.example", "王小明", "O'Brien (staff)"] {
            assert!(!hides_text(good), "{good:?}");
        }
    }
}
