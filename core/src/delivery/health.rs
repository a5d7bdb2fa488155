//! The merchant's two "is it wired up?" actions (docs/spec.md §14): the token and
//! pixel health check (`GET /{version}/{pixel_id}?fields=id,name`) and one
//! synthetic test event for Events Manager's "Test events" tab. Pure: the
//! request URL and body, and what Meta's answer means in plain words. The
//! messages never carry Meta's own text (it could echo a request), the token
//! or customer data.

use serde_json::{json, Value};

use crate::delivery::events::request_body;
use crate::delivery::graph::{classify, Outcome};
use crate::delivery::transport::{HttpReply, TransportError};
use crate::settings::Settings;

/// The user agent of the test event (it carries no customer data, only this).
pub const TEST_EVENT_USER_AGENT: &str = "convtrack test event";
/// The page of the test event when the settings name no `shop_url`.
pub const TEST_EVENT_DEFAULT_URL: &str = "https://convtrack.invalid/test";

/// The health check's request: `{endpoint}/{api_version}/{pixel_id}?fields=id,name`.
pub fn pixel_url(settings: &Settings) -> String {
    format!("{}/{}/{}?fields=id,name", settings.endpoint, settings.api_version, settings.pixel_id)
}

/// What one answer means, as the face shows it:
/// `{"ok", "status", "pixel": {"id", "name"} | null, "error": str | null}`.
pub fn classify_check(result: &Result<HttpReply, TransportError>) -> Value {
    let (status, error) = match result {
        Err(e) => (None, format!("cannot reach Meta ({})", e.kind)),
        Ok(reply) => match pixel_of(reply) {
            Ok(pixel) => return json!({"ok": true, "status": reply.status, "pixel": pixel, "error": null}),
            Err(why) => (Some(reply.status), why),
        },
    };
    json!({"ok": false, "status": status, "pixel": null, "error": error})
}

/// The pixel Meta described, or why the answer is a failure.
fn pixel_of(reply: &HttpReply) -> Result<Value, String> {
    let status = reply.status;
    if (300..400).contains(&status) {
        return Err(format!("the endpoint answered with a redirect (HTTP {status}), which is never followed: check the endpoint setting"));
    }
    let body: Option<Value> = serde_json::from_str(&reply.body).ok();
    if (200..300).contains(&status) {
        let text = |k: &str| body.as_ref().and_then(|b| b.get(k)).and_then(Value::as_str).map(str::to_owned);
        return match (text("id"), text("name")) {
            (Some(id), Some(name)) => Ok(json!({"id": id, "name": name})),
            _ => Err(format!("Meta answered HTTP {status} without the pixel's id and name: is the endpoint the Graph API?")),
        };
    }
    Err(describe_error(status, body.as_ref().and_then(|b| b.get("error"))))
}

/// A Graph error body (or its absence) in plain words.
fn describe_error(status: u16, error: Option<&Value>) -> String {
    let int = |k: &str| error.and_then(|e| e.get(k)).and_then(Value::as_i64);
    match (int("code"), int("error_subcode")) {
        (Some(190), _) => "the access token is invalid or expired".to_string(),
        (Some(100), Some(33)) => "the pixel id is unknown or this token cannot see it".to_string(),
        (Some(c), _) if c == 10 || (200..=299).contains(&c) => {
            format!("the access token lacks a permission this pixel needs (Graph error {c})")
        }
        (Some(c), _) => format!("Meta answered HTTP {status} with Graph error {c}"),
        (None, _) => format!("Meta answered HTTP {status}"),
    }
}

/// The test event's request body: one `PageView` with only the fields Meta requires
/// (no customer data: `user_data` holds just a fixed user agent), `test_event_code`
/// and the partner agent.
pub fn test_event_body(settings: &Settings, event_id: &str, now_s: i64, code: &str) -> String {
    let url = settings.shop_url.as_deref().unwrap_or(TEST_EVENT_DEFAULT_URL);
    let event = json!({
        "event_name": "PageView",
        "event_time": now_s,
        "event_id": event_id,
        "action_source": "website",
        "event_source_url": url,
        "user_data": {"client_user_agent": TEST_EVENT_USER_AGENT},
    })
    .to_string();
    let mut with_code = settings.clone();
    with_code.test_event_code = Some(code.to_string());
    request_body(&with_code, std::iter::once(event.as_str()))
}

/// What the answer to a test event means:
/// `{"ok", "status", "event_id", "test_event_code", "error"}`.
pub fn classify_test_event(result: &Result<HttpReply, TransportError>, event_id: &str, code: &str) -> Value {
    let status = result.as_ref().ok().map(|r| r.status);
    let error = match classify(result) {
        Outcome::Sent { .. } => None,
        Outcome::Retry { code: None, why, .. } if status.is_none() => {
            Some(format!("cannot reach Meta ({})", why.trim_start_matches("network: ")))
        }
        _ => {
            let reply = result.as_ref().ok();
            let body: Option<Value> = reply.and_then(|r| serde_json::from_str(&r.body).ok());
            let status = status.unwrap_or(0);
            Some(if (300..400).contains(&status) {
                format!("the endpoint answered with a redirect (HTTP {status}), which is never followed: check the endpoint setting")
            } else if (200..300).contains(&status) {
                format!("Meta answered HTTP {status} without confirming the event")
            } else {
                match body.as_ref().and_then(|b| b.get("error")) {
                    Some(e)
                        if e.get("code").and_then(Value::as_i64) == Some(100)
                            && e.get("error_subcode").and_then(Value::as_i64) != Some(33) =>
                    {
                        let sub = e.get("error_subcode").and_then(Value::as_i64).map(|s| format!(", subcode {s}")).unwrap_or_default();
                        format!("Meta refused the test event as invalid (Graph error 100{sub})")
                    }
                    e => describe_error(status, e),
                }
            })
        }
    };
    json!({"ok": error.is_none(), "status": status, "event_id": event_id, "test_event_code": code, "error": error})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Result<HttpReply, TransportError> {
        Ok(HttpReply { status, body: body.to_string() })
    }
    fn graph(status: u16, code: i64, subcode: Option<i64>) -> Result<HttpReply, TransportError> {
        reply(
            status,
            &json!({"error": {"message": "m", "type": "OAuthException", "code": code, "error_subcode": subcode, "fbtrace_id": "T"}})
                .to_string(),
        )
    }
    fn error_of(v: &Value) -> &str {
        v["error"].as_str().unwrap_or("")
    }

    #[test]
    fn a_pixel_answer_is_ok() {
        let v = classify_check(&reply(200, r#"{"id": "123", "name": "Shop pixel"}"#));
        assert_eq!(v, json!({"ok": true, "status": 200, "pixel": {"id": "123", "name": "Shop pixel"}, "error": null}));
    }

    #[test]
    fn every_failure_is_named() {
        let cases: Vec<(Result<HttpReply, TransportError>, Option<u16>, &str)> = vec![
            (graph(400, 190, Some(467)), Some(400), "the access token is invalid or expired"),
            (graph(401, 190, None), Some(401), "the access token is invalid or expired"),
            (graph(400, 100, Some(33)), Some(400), "the pixel id is unknown or this token cannot see it"),
            (graph(403, 10, None), Some(403), "the access token lacks a permission this pixel needs (Graph error 10)"),
            (graph(403, 200, None), Some(403), "the access token lacks a permission this pixel needs (Graph error 200)"),
            (graph(500, 2, None), Some(500), "Meta answered HTTP 500 with Graph error 2"),
            (reply(404, "<html>not found</html>"), Some(404), "Meta answered HTTP 404"),
            (reply(200, "{}"), Some(200), "Meta answered HTTP 200 without the pixel's id and name: is the endpoint the Graph API?"),
            (Err(TransportError { kind: "connect" }), None, "cannot reach Meta (connect)"),
            (Err(TransportError { kind: "timeout" }), None, "cannot reach Meta (timeout)"),
        ];
        for (answer, status, message) in cases {
            let v = classify_check(&answer);
            assert_eq!(v["ok"], json!(false), "{message}");
            assert_eq!(v["status"], json!(status), "{message}");
            assert_eq!(v["pixel"], Value::Null);
            assert_eq!(error_of(&v), message);
        }
    }

    #[test]
    fn a_redirect_is_a_failure_even_with_a_pixel_body() {
        for status in [301, 302, 307, 308] {
            let v = classify_check(&reply(status, r#"{"id": "1", "name": "n"}"#));
            assert_eq!(v["ok"], json!(false));
            assert!(error_of(&v).contains("redirect"), "{v}");
            let t = classify_test_event(&reply(status, r#"{"events_received": 1}"#), "test-1", "TEST1");
            assert_eq!(t["ok"], json!(false));
            assert!(error_of(&t).contains("redirect"), "{t}");
        }
    }

    #[test]
    fn the_test_event_carries_no_customer_data() {
        let settings = Settings::from_json(r#"{"pixel_id": "123"}"#).unwrap();
        let body: Value = serde_json::from_str(&test_event_body(&settings, "test-abc", 1_800_000_000, "TEST42")).unwrap();
        assert_eq!(body["test_event_code"], "TEST42");
        let event = &body["data"][0];
        assert_eq!(event["event_name"], "PageView");
        assert_eq!(event["event_id"], "test-abc");
        assert_eq!(event["event_source_url"], TEST_EVENT_DEFAULT_URL);
        assert_eq!(event["user_data"], json!({"client_user_agent": TEST_EVENT_USER_AGENT}));
        assert!(event.get("custom_data").is_none());
        let shop = Settings::from_json(r#"{"pixel_id": "123", "shop_url": "https://shop.example/"}"#).unwrap();
        let body: Value = serde_json::from_str(&test_event_body(&shop, "test-abc", 1, "T")).unwrap();
        assert_eq!(body["data"][0]["event_source_url"], "https://shop.example/");
    }

    #[test]
    fn test_event_answers() {
        let ok = classify_test_event(&reply(200, r#"{"events_received": 1, "fbtrace_id": "x"}"#), "test-1", "C");
        assert_eq!(ok, json!({"ok": true, "status": 200, "event_id": "test-1", "test_event_code": "C", "error": null}));
        let bad = classify_test_event(&graph(401, 190, Some(467)), "test-1", "C");
        assert_eq!(error_of(&bad), "the access token is invalid or expired");
        let invalid = classify_test_event(&graph(400, 100, Some(2804009)), "test-1", "C");
        assert_eq!(error_of(&invalid), "Meta refused the test event as invalid (Graph error 100, subcode 2804009)");
        let down = classify_test_event(&Err(TransportError { kind: "connect" }), "test-1", "C");
        assert_eq!(down["status"], Value::Null);
        assert_eq!(error_of(&down), "cannot reach Meta (connect)");
    }
}
