//! Live catalog updates against a scripted transport (fault injection behind the
//! `Transport` trait). The end-to-end run over real HTTP against the sandbox's
//! items_batch endpoint lives in tests/python/test_catalog_updates.py.

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convtrack_core::delivery::transport::{HttpReply, Transport, TransportError};
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{ErrorCode, Settings, Tracker};
use serde_json::{json, Value};

#[derive(Default)]
struct Scripted {
    replies: Mutex<VecDeque<Result<HttpReply, TransportError>>>,
    seen: Mutex<Vec<(String, Value)>>,
}

impl Transport for Scripted {
    fn post_json(&self, url: &str, _token: &str, body: &str) -> Result<HttpReply, TransportError> {
        let parsed: Value = serde_json::from_str(body).unwrap();
        self.seen.lock().unwrap().push((url.to_string(), parsed.clone()));
        if let Some(r) = self.replies.lock().unwrap().pop_front() {
            return r;
        }
        // Accept, refusing items whose title is "refuse me" like Meta's per-item validation.
        let status: Vec<Value> = parsed["requests"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter(|r| r["data"]["title"] == "refuse me")
                    .map(|r| json!({"retailer_id": r["data"]["id"], "errors": [{"message": "bad"}], "warnings": []}))
                    .collect()
            })
            .unwrap_or_default();
        let body = if url.ends_with("/events") {
            json!({"events_received": parsed["data"].as_array().map_or(0, Vec::len)})
        } else {
            json!({"handles": ["H1"], "validation_status": status})
        };
        Ok(HttpReply { status: 200, body: body.to_string() })
    }
}

impl Scripted {
    fn push(&self, r: Result<HttpReply, TransportError>) {
        self.replies.lock().unwrap().push_back(r);
    }
    fn seen(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

fn setup(dir: &tempfile::TempDir, extra: Value) -> (Tracker, Arc<Scripted>) {
    let mut s = json!({
        "pixel_id": "1234567890", "access_token": "EAAB-TOKEN", "catalog_id": "555",
        "outbox_path": dir.path().join("o.sqlite3").to_str().unwrap(),
        "retry_base_ms": 5, "retry_max_ms": 20, "endpoint": "http://127.0.0.1:9"
    });
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    let transport = Arc::new(Scripted::default());
    let t = Tracker::open_with_transport(Settings::from_value(&s).unwrap(), transport.clone()).unwrap();
    (t, transport)
}

fn product(id: &str, title: &str) -> Value {
    json!({
        "id": id, "sku": format!("SKU-{id}"), "title": title, "description": "A mug.", "availability": "in_stock",
        "price": "12.99", "currency": "EUR", "link": format!("https://shop.example/{id}"),
        "image_link": format!("https://shop.example/{id}.jpg"), "brand": "Acme"
    })
}

#[test]
fn ten_edits_send_one_update_with_meta_fields_to_items_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (t, tr) = setup(&dir, json!({}));
    for i in 0..10 {
        let c = t.catalog_update(&product("p1", &format!("Mug v{i}"))).unwrap();
        assert_eq!(c.coalesced, i > 0);
    }
    t.catalog_delete("p2").unwrap();
    let r = t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.catalog.requests, r.catalog.sent, r.catalog.remaining), (1, 2, 0));
    let seen = tr.seen();
    assert_eq!(seen.len(), 1, "data controls are off: no event request, one catalog request");
    let (url, body) = &seen[0];
    assert_eq!(url, "http://127.0.0.1:9/v27.0/555/items_batch");
    assert_eq!(body["item_type"], "PRODUCT_ITEM");
    let reqs = body["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["method"], "UPDATE");
    assert_eq!(reqs[0]["data"]["title"], "Mug v9");
    assert_eq!(reqs[0]["data"]["price"], "12.99 EUR");
    assert_eq!(reqs[0]["data"]["availability"], "in stock");
    assert_eq!(reqs[1], json!({"method": "DELETE", "data": {"id": "p2"}}));
    let st = t.status().unwrap();
    assert_eq!(st["catalog_updates"]["counters"]["coalesced"], 9);
    assert_eq!(st["catalog_updates"]["last_update"]["items"], 2);
}

#[test]
fn the_content_id_setting_names_the_catalog_item() {
    let dir = tempfile::tempdir().unwrap();
    let (t, tr) = setup(&dir, json!({"content_id": "sku"}));
    assert_eq!(t.catalog_update(&product("p1", "Mug")).unwrap().retailer_id, "SKU-p1");
    t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(tr.seen()[0].1["requests"][0]["data"]["id"], "SKU-p1");
}

#[test]
fn retries_refusals_and_pauses_use_the_event_classes() {
    let dir = tempfile::tempdir().unwrap();
    let (t, tr) = setup(&dir, json!({}));
    t.catalog_update(&product("a", "Mug")).unwrap();
    t.catalog_update(&product("b", "refuse me")).unwrap();
    tr.push(Ok(HttpReply { status: 503, body: String::new() }));
    tr.push(Err(TransportError { kind: "timeout" }));
    let r = t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.catalog.sent, r.catalog.failed, r.catalog.remaining), (1, 1, 0), "{r:?}");
    assert!(r.catalog.retried >= 2);
    let st = t.status().unwrap();
    assert_eq!(st["catalog_updates"]["dead_letters"], 1);

    // A bad token pauses catalog updates (kept queued) until the token changes.
    t.catalog_update(&product("c", "Mug")).unwrap();
    tr.push(Ok(HttpReply { status: 401, body: json!({"error": {"code": 190, "message": "x", "fbtrace_id": "T"}}).to_string() }));
    let r = t.flush(Duration::from_secs(2)).unwrap();
    assert_eq!(r.catalog.paused.as_deref(), Some("invalid_token"));
    assert_eq!(r.catalog.remaining, 1);
    assert_eq!(t.status().unwrap()["catalog_updates"]["paused"]["reason"], "invalid_token");
    t.resume().unwrap();
    assert_eq!(t.flush(Duration::from_secs(2)).unwrap().catalog.sent, 1);
}

#[test]
fn catalog_only_mode_sends_catalog_updates_and_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let (t, tr) = setup(&dir, json!({"mode": "catalog_only", "data_controls": true}));
    let order = json!({
        "event_name": "Purchase", "order_id": "1", "currency": "EUR", "value": "1.00",
        "event_source_url": "https://shop.example/t", "browser": {"user_agent": "UA"},
        "consent": {"marketing": "granted"}
    });
    let res = t.track_json(&order.to_string(), &BuildOptions::default()).unwrap();
    assert_eq!(res.to_json()["server"], "blocked");
    assert_eq!(res.to_json()["reason"], "catalog_only");
    assert_eq!(res.pixel_html, "");
    t.catalog_update(&product("p1", "Mug")).unwrap();
    let r = t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.sent, r.catalog.sent), (0, 1));
    assert!(tr.seen().iter().all(|(url, _)| url.ends_with("/items_batch")));
}

#[test]
fn bad_products_and_missing_settings_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = setup(&dir, json!({}));
    let mut p = product("p1", "Mug");
    p["price"] = json!("NaN");
    assert_eq!(t.catalog_update(&p).unwrap_err().field_name(), Some("price"));
    assert_eq!(t.catalog_update_json("{").unwrap_err().code(), ErrorCode::InvalidJson);
    assert_eq!(t.catalog_delete("").unwrap_err().field_name(), Some("product_id"));
    assert_eq!(t.catalog_delete("a\u{0}b").unwrap_err().field_name(), Some("product_id"));

    let (no_catalog, _) = setup(&tempfile::tempdir().unwrap(), json!({"catalog_id": null}));
    let e = no_catalog.catalog_update(&product("p1", "Mug")).unwrap_err();
    assert_eq!((e.code(), e.field_name()), (ErrorCode::NotConfigured, Some("catalog_id")));
    let pure = Tracker::new(Settings::from_value(&json!({"pixel_id": "1", "catalog_id": "5", "access_token": "t"})).unwrap());
    assert_eq!(pure.catalog_delete("p1").unwrap_err().field_name(), Some("outbox_path"));
}

#[test]
fn shop_url_is_the_feed_channel_link_and_is_validated() {
    let t =
        Tracker::new(Settings::from_value(&json!({"pixel_id": "1", "catalog_name": "Main", "shop_url": "https://shop.example/"})).unwrap());
    let opts = t.export_options(convtrack_core::catalog::FeedFormat::Xml);
    let line = product("p1", "Mug").to_string();
    let (xml, report) = convtrack_core::catalog::export_feed_string(&line, &opts).unwrap();
    assert_eq!(report.written, 1);
    assert!(xml.contains("<title>Main</title>\n<link>https://shop.example/</link>"), "{xml}");
    for bad in ["javascript:alert(1)", "/relative", "ftp://x.example/"] {
        let e = Settings::from_value(&json!({"pixel_id": "1", "shop_url": bad})).unwrap_err();
        assert_eq!(e.field_name(), Some("shop_url"), "{bad}");
    }
}
