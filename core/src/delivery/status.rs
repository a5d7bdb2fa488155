//! `status()` (docs/spec.md §10): what the merchant's dashboard shows.

use serde_json::{json, Map, Value};

use crate::clock::now_ms;
use crate::delivery::outbox::Outbox;
use crate::delivery::sender::Sender;
use crate::error::Result;
use crate::settings::Settings;

/// The status document (schema 1). Never contains the token or personal data.
pub fn status(settings: &Settings, delivery: Option<(&Outbox, &Sender)>) -> Result<Value> {
    let mut doc = Map::new();
    doc.insert("schema".into(), Value::from(1));
    doc.insert("version".into(), Value::from(crate::VERSION));
    doc.insert("pixel_id".into(), Value::from(settings.pixel_id.as_str()));
    doc.insert("catalog_id".into(), json!(settings.catalog_id));
    doc.insert("catalog_name".into(), json!(settings.catalog_name));
    doc.insert("mode".into(), Value::from(settings.mode.as_str()));
    doc.insert("data_controls".into(), Value::from(settings.data_controls));
    doc.insert("test_event_code".into(), json!(settings.test_event_code));
    doc.insert("sender".into(), Value::from(settings.sender.as_str()));
    doc.insert("outbox_path".into(), json!(settings.outbox_path));

    let Some((outbox, sender)) = delivery else {
        doc.insert("queue".into(), Value::Null);
        doc.insert("paused".into(), Value::Null);
        doc.insert("counters".into(), json!({}));
        doc.insert("last_error".into(), Value::Null);
        doc.insert("coverage".into(), json!({}));
        doc.insert("catalog_updates".into(), Value::Null);
        return Ok(Value::Object(doc));
    };
    let now = now_ms();
    let q = outbox.stats(now)?;
    doc.insert(
        "queue".into(),
        json!({
            "depth": q.depth,
            "due": q.due,
            "oldest_age_s": q.oldest_enqueued_at_ms.map(|t| ((now - t).max(0)) as f64 / 1000.0),
            "dead_letters": q.dead_letters,
            "held": outbox.held()?,
        }),
    );
    let paused = sender.paused()?.map(|mut p| {
        if let Some(o) = p.as_object_mut() {
            o.remove("token_fp");
        }
        p
    });
    doc.insert("paused".into(), paused.unwrap_or(Value::Null));

    let raw = outbox.counters()?;
    let get = |k: &str| raw.get(k).copied().unwrap_or(0);
    let group = |prefix: &str| -> Value {
        let mut m = Map::new();
        for (k, v) in raw.range(prefix.to_string()..) {
            let Some(rest) = k.strip_prefix(prefix) else { break };
            m.insert(rest.to_string(), Value::from(*v));
        }
        Value::Object(m)
    };
    doc.insert(
        "counters".into(),
        json!({
            "accepted": get("accepted"),
            "duplicate": get("duplicate"),
            "blocked": group("blocked."),
            "sent": get("sent"),
            "retried": get("retried"),
            "failed": group("failed."),
            "expired": get("expired"),
            "revoked": get("revoked"),
            "discarded": group("discarded."),
            "discarded_in_flight": group("discarded_in_flight."),
            "hold": group("hold."),
            "dead_letters": group("dead_letters."),
            "requests": get("requests"),
            "handed_off": get("handed_off"),
            "handoff_failed": get("handoff_failed"),
        }),
    );
    let last_error = outbox.meta("last_error")?.and_then(|s| serde_json::from_str::<Value>(&s).ok());
    doc.insert("last_error".into(), last_error.unwrap_or(Value::Null));
    let sent = get("sent");
    let mut coverage = Map::new();
    for key in ["em", "ph", "fbp", "fbc", "ip"] {
        let n = get(&format!("coverage.{key}"));
        let share = if sent > 0 { n as f64 / sent as f64 } else { 0.0 };
        coverage.insert(key.into(), json!((share * 1000.0).round() / 1000.0));
    }
    doc.insert("coverage".into(), Value::Object(coverage));
    doc.insert("catalog_updates".into(), catalog_updates(settings, outbox, sender, &raw)?);
    Ok(Value::Object(doc))
}

/// Live catalog updates: queue, last update sent, pause, counters (`null` without a catalog id).
fn catalog_updates(settings: &Settings, outbox: &Outbox, sender: &Sender, raw: &std::collections::BTreeMap<String, i64>) -> Result<Value> {
    let Some(catalog_id) = settings.catalog_id.as_deref() else { return Ok(Value::Null) };
    let q = crate::delivery::catalog_queue::CatalogQueue::new(outbox, catalog_id).stats()?;
    let last = outbox.meta("catalog.last_update")?.and_then(|s| serde_json::from_str::<Value>(&s).ok());
    let paused = sender.pause_state("catalog.paused")?.map(|mut p| {
        if let Some(o) = p.as_object_mut() {
            o.remove("token_fp");
        }
        p
    });
    let get = |k: &str| raw.get(&format!("catalog.{k}")).copied().unwrap_or(0);
    Ok(json!({
        "depth": q.depth,
        "dead_letters": q.dead_letters,
        "last_update": last,
        "paused": paused,
        "counters": {
            "queued": get("queued"), "coalesced": get("coalesced"), "sent": get("sent"),
            "retried": get("retried"), "failed": get("failed"), "requests": get("requests"),
        },
    }))
}
