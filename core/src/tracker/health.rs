//! The merchant's checks (docs/spec.md §14): is the token valid and can it see
//! the pixel (`check_online`), and one synthetic event for Events Manager's
//! "Test events" tab (`send_test_event`). Both go straight to Meta through a
//! transport built from the settings (no redirects, https except loopback, the
//! proxy): they work on a build-only tracker (no outbox) as well, and never
//! touch the queue. Network and HTTP failures are answers, not errors; only a
//! missing setting is an error.

use std::time::Duration;

use serde_json::Value;

use crate::delivery::health::{classify_check, classify_test_event, pixel_url, test_event_body};
use crate::delivery::transport::{Transport, UreqTransport};
use crate::error::{Error, ErrorCode, Result};
use crate::settings::is_test_event_code;
use crate::tracker::Tracker;

impl Tracker {
    /// `GET {endpoint}/{api_version}/{pixel_id}?fields=id,name` with the access token:
    /// `{"ok", "status", "pixel": {"id", "name"} | null, "error"}`. Needs `access_token`
    /// (`NotConfigured` naming it); never fails for network or HTTP errors.
    pub fn check_online(&self) -> Result<Value> {
        let token = self.token_for("check_online")?;
        let answer = self.direct_transport()?.get(&pixel_url(self.settings()), token);
        Ok(classify_check(&answer))
    }

    /// Sends one synthetic `PageView` (no customer data) with `test_event_code` = `code`
    /// or the setting, directly (not through the queue), whatever the data controls say:
    /// `{"ok", "status", "event_id", "test_event_code", "error"}`.
    pub fn send_test_event(&self, code: Option<&str>) -> Result<Value> {
        let code = match code.filter(|c| !c.is_empty()) {
            Some(c) if !is_test_event_code(c) => {
                return Err(Error::field(ErrorCode::InvalidValue, "test_event_code", "must be letters, digits, '_' or '-', at most 64"))
            }
            Some(c) => c.to_string(),
            None => self.settings().test_event_code.clone().ok_or_else(|| {
                Error::field(ErrorCode::NotConfigured, "test_event_code", "is required by send_test_event (pass one or set it)")
            })?,
        };
        let token = self.token_for("send_test_event")?;
        let event_id = format!("test-{}", crate::build::event_id::random_event_id());
        let body = test_event_body(self.settings(), &event_id, crate::clock::now_ms() / 1000, &code);
        let answer = self.direct_transport()?.post_json(&self.settings().events_url(), token, &body);
        Ok(classify_test_event(&answer, &event_id, &code))
    }

    fn token_for(&self, what: &str) -> Result<&str> {
        let token = self.settings().access_token.as_ref().map(|t| t.expose()).filter(|t| !t.is_empty());
        token.ok_or_else(|| Error::field(ErrorCode::NotConfigured, "access_token", format!("is required by {what}")))
    }

    /// A transport for one direct request, under the same rules as the sender's.
    fn direct_transport(&self) -> Result<UreqTransport> {
        let settings = self.settings();
        let proxy = settings.effective_proxy();
        UreqTransport::new(Duration::from_millis(settings.request_timeout_ms), proxy.as_ref().map(|(p, _)| p))
            .map_err(|why| Error::setting("proxy", why))
    }
}
