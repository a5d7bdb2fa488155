//! Requests a shop integration served without tracking (docs/spec.md §12: "a log line and
//! a counter in the shop integrations"), counted in the outbox so that every process on it
//! (each gunicorn worker, each php-fpm child) adds to one figure the dashboard shows.

use crate::error::{Error, ErrorCode, Result};
use crate::tracker::Tracker;

/// The longest reason token: a short code (`invalid_value`, `consent`), not a message.
pub const MAX_REASON: usize = 64;

/// The counter prefix: `degraded.<reason>` in the outbox, `status()["counters"]["degraded"]`.
pub(crate) const PREFIX: &str = "degraded.";

impl Tracker {
    /// Counts one request the shop integration served without tracking, as
    /// `degraded.<reason>` in the outbox's counters shared by every process on it
    /// (`status()["counters"]["degraded"][reason]`). `reason` is a short token of
    /// `a-z` and `_` (1 to 64 bytes), e.g. the error code name: it is checked so that no
    /// value (personal data, a token) can become a counter name, and an invalid one is
    /// an error naming `reason`, without its value. Without an outbox this is a no-op
    /// (`Ok`): the integration keeps its own per-process count then.
    pub fn count_degraded(&self, reason: &str) -> Result<()> {
        if reason.is_empty() || reason.len() > MAX_REASON || !reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::field(ErrorCode::InvalidArgument, "reason", "must be 1 to 64 characters of a-z and _"));
        }
        match self.delivery.as_deref() {
            Some(d) => d.outbox.count(&format!("{PREFIX}{reason}"), 1),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::error::ErrorCode;
    use crate::settings::Settings;
    use crate::tracker::Tracker;

    struct Dir(std::path::PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("convtrack-unit-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        fn outbox(&self) -> String {
            self.0.join("outbox.sqlite3").to_string_lossy().into_owned()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn open(outbox: Option<&str>) -> Tracker {
        let mut settings = json!({"pixel_id": "1234567890", "sender": "manual"});
        if let Some(path) = outbox {
            settings["outbox_path"] = json!(path);
        }
        Tracker::open(Settings::from_value(&settings).unwrap()).unwrap()
    }

    fn degraded(t: &Tracker) -> serde_json::Value {
        t.status().unwrap()["counters"]["degraded"].clone()
    }

    #[test]
    fn two_handles_on_one_outbox_add_to_one_count() {
        let dir = Dir::new("degraded-shared");
        let (a, b) = (open(Some(&dir.outbox())), open(Some(&dir.outbox())));
        assert_eq!(degraded(&a), json!({}));
        a.count_degraded("invalid_value").unwrap();
        b.count_degraded("invalid_value").unwrap();
        b.count_degraded("consent").unwrap();
        for t in [&a, &b] {
            assert_eq!(degraded(t), json!({"invalid_value": 2, "consent": 1}));
        }
        // The other counters do not move.
        assert_eq!(a.status().unwrap()["counters"]["accepted"], json!(0));
    }

    #[test]
    fn a_reason_that_is_not_a_short_token_is_refused_without_its_value() {
        let dir = Dir::new("degraded-refused");
        let t = open(Some(&dir.outbox()));
        let long = "a".repeat(65);
        for bad in ["", "Invalid", "invalid value", "degraded.x", "sentinel@example.com", "x:y", "é", long.as_str()] {
            let err = t.count_degraded(bad).unwrap_err();
            assert_eq!((err.code(), err.field_name()), (ErrorCode::InvalidArgument, Some("reason")));
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "the error echoes the reason");
            }
        }
        t.count_degraded(&"a".repeat(64)).unwrap();
        assert_eq!(degraded(&t).as_object().unwrap().len(), 1);
    }

    #[test]
    fn without_an_outbox_it_is_a_no_op_but_still_checks_the_reason() {
        let t = open(None);
        t.count_degraded("storage").unwrap();
        assert_eq!(t.count_degraded("Storage").unwrap_err().field_name(), Some("reason"));
        assert_eq!(t.status().unwrap()["counters"], json!({}));
    }
}
