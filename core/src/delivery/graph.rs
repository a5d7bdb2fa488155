//! What Meta's answer means (docs/spec.md §9): the Graph API's error classes, and
//! the backoff before a retry. Pure: no clock but the jitter's randomness.

use serde_json::Value;

use crate::delivery::transport::{HttpReply, TransportError};
use crate::settings::Settings;

/// Graph error codes that are worth retrying (docs/spec.md §9).
pub fn is_retryable_code(code: i64) -> bool {
    matches!(code, 1 | 2 | 4 | 17 | 32 | 341 | 368 | 613) || (80000..=80014).contains(&code)
}

/// What one request's answer means for its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Meta accepted the batch.
    Sent { fbtrace_id: Option<String> },
    /// Try again later (network, timeout, 5xx, 429, transient Graph errors).
    Retry { code: Option<i64>, why: String, fbtrace_id: Option<String> },
    /// Meta rejected the batch as invalid (code 100): split it, dead-letter a single bad event.
    Invalid { code: i64, subcode: Option<i64>, fbtrace_id: Option<String> },
    /// Stop sending until the merchant fixes the token or permissions (190, 10, 200–299).
    Pause { code: i64, why: &'static str, fbtrace_id: Option<String> },
}

/// Classifies an answer (or its absence).
pub fn classify(result: &std::result::Result<HttpReply, TransportError>) -> Outcome {
    let reply = match result {
        Err(e) => return Outcome::Retry { code: None, why: format!("network: {}", e.kind), fbtrace_id: None },
        Ok(r) => r,
    };
    // A redirect is never followed (see `UreqTransport::new`) and never counts as
    // delivery, whatever its body says: the events stay queued and are retried.
    if (300..400).contains(&reply.status) {
        return Outcome::Retry { code: None, why: format!("http {}: redirect not followed", reply.status), fbtrace_id: None };
    }
    let body: Option<Value> = serde_json::from_str(&reply.body).ok();
    let fbtrace = |v: &Value| v.get("fbtrace_id").and_then(Value::as_str).map(str::to_owned);
    if (200..300).contains(&reply.status) {
        return match &body {
            Some(b) if b.get("events_received").is_some() => Outcome::Sent { fbtrace_id: fbtrace(b) },
            // Unknown whether Meta kept it: send again (the event id makes that harmless).
            _ => Outcome::Retry { code: None, why: format!("http {}: malformed response", reply.status), fbtrace_id: None },
        };
    }
    let error = body.as_ref().and_then(|b| b.get("error"));
    let Some(error) = error else {
        return Outcome::Retry { code: None, why: format!("http {}", reply.status), fbtrace_id: None };
    };
    let code = error.get("code").and_then(Value::as_i64);
    let subcode = error.get("error_subcode").and_then(Value::as_i64);
    let transient = error.get("is_transient").and_then(Value::as_bool).unwrap_or(false);
    let trace = fbtrace(error);
    match code {
        Some(190) => Outcome::Pause { code: 190, why: "invalid_token", fbtrace_id: trace },
        Some(c) if c == 10 || (200..=299).contains(&c) => Outcome::Pause { code: c, why: "permission", fbtrace_id: trace },
        Some(c) if transient || is_retryable_code(c) => {
            Outcome::Retry { code: Some(c), why: format!("http {}: graph error {c}", reply.status), fbtrace_id: trace }
        }
        Some(100) => Outcome::Invalid { code: 100, subcode, fbtrace_id: trace },
        _ if transient || reply.status >= 500 || reply.status == 429 => {
            Outcome::Retry { code, why: format!("http {}", reply.status), fbtrace_id: trace }
        }
        // Unknown errors are retried with backoff; expiry bounds them.
        _ => Outcome::Retry { code, why: format!("http {}: unclassified graph error", reply.status), fbtrace_id: trace },
    }
}

/// Exponential backoff with jitter after `attempts` failed attempts, capped at `retry_max_ms`.
pub(crate) fn retry_delay_ms(settings: &Settings, attempts: i64) -> i64 {
    let attempts = attempts.clamp(0, 30) as i32;
    let base = settings.retry_base_ms as f64 * 2f64.powi(attempts);
    ((base.min(settings.retry_max_ms as f64) * jitter_factor()) as i64).max(1)
}

fn jitter_factor() -> f64 {
    let mut b = [0u8; 2];
    if getrandom::getrandom(&mut b).is_err() {
        return 1.0;
    }
    0.75 + f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(status: u16, body: &str) -> std::result::Result<HttpReply, TransportError> {
        Ok(HttpReply { status, body: body.to_string() })
    }
    fn graph(status: u16, code: i64, transient: bool) -> std::result::Result<HttpReply, TransportError> {
        reply(status, &json!({"error": {"code": code, "is_transient": transient, "fbtrace_id": "T"}}).to_string())
    }

    #[test]
    fn a_redirect_is_never_delivery() {
        for status in [301, 302, 303, 307, 308] {
            assert!(matches!(classify(&reply(status, "")), Outcome::Retry { .. }), "{status}");
            assert!(matches!(classify(&reply(status, r#"{"events_received": 1}"#)), Outcome::Retry { .. }), "{status}");
            assert!(matches!(classify(&graph(status, 100, false)), Outcome::Retry { .. }), "{status}");
        }
    }

    #[test]
    fn classification_follows_the_spec() {
        assert!(matches!(classify(&reply(200, r#"{"events_received":1}"#)), Outcome::Sent { .. }));
        assert!(matches!(classify(&reply(200, "<html>")), Outcome::Retry { .. }));
        assert!(matches!(classify(&Err(TransportError { kind: "timeout" })), Outcome::Retry { .. }));
        assert!(matches!(classify(&reply(503, "")), Outcome::Retry { .. }));
        assert!(matches!(classify(&reply(429, "")), Outcome::Retry { .. }));
        for code in [1, 2, 4, 17, 32, 341, 368, 613, 80000, 80014] {
            assert!(matches!(classify(&graph(400, code, false)), Outcome::Retry { .. }), "{code}");
        }
        assert!(matches!(classify(&graph(400, 100, false)), Outcome::Invalid { code: 100, .. }));
        assert!(matches!(classify(&graph(400, 100, true)), Outcome::Retry { .. }), "is_transient wins");
        assert!(matches!(classify(&graph(401, 190, false)), Outcome::Pause { code: 190, .. }));
        assert!(matches!(classify(&graph(403, 10, false)), Outcome::Pause { .. }));
        assert!(matches!(classify(&graph(403, 200, false)), Outcome::Pause { .. }));
        assert!(matches!(classify(&graph(403, 299, false)), Outcome::Pause { .. }));
    }
}
