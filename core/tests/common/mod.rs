//! What several integration tests share.

use serde_json::json;

/// A Purchase that passes the gate (data controls on, consent granted), as JSON text.
pub fn order(id: &str) -> String {
    json!({
        "event_name": "Purchase", "order_id": id, "currency": "EUR", "value": "10.00",
        "event_source_url": "https://shop.example/thanks",
        "customer": {"email": "sentinel.person@example.com"},
        "browser": {"user_agent": "UA", "ip": "203.0.113.7"},
        "consent": {"marketing": "granted"}
    })
    .to_string()
}
