//! Conversions API payload (SPEC §8): the server copy of an event.

use serde_json::{json, Map, Value};

use crate::consent::Decision;
use crate::hash;
use crate::catalog::ContentIdField;
use crate::input::EventInput;
use crate::normalize::{self, Field};
use crate::settings::{Settings, CUSTOMER_FIELDS};

/// Hashed customer data: per Meta key, de-duplicated digests in first-seen order.
pub fn hashed_user_data(input: &EventInput, settings: &Settings) -> Vec<(Field, Vec<String>)> {
    let country = phone_country(input, settings);
    let mut out = Vec::new();
    for &field in CUSTOMER_FIELDS {
        if !settings.allows(field) {
            continue;
        }
        let raw = input.customer.get(field);
        if raw.is_empty() {
            continue;
        }
        let mut digests: Vec<String> = Vec::with_capacity(raw.len());
        for value in raw {
            if let Some(d) = hash::hash_field(field, value, country.as_deref()) {
                if !digests.contains(&d) {
                    digests.push(d);
                }
            }
        }
        if !digests.is_empty() {
            out.push((field, digests));
        }
    }
    out
}

/// The country used to complete national phone numbers: the customer's, else the merchant default.
fn phone_country(input: &EventInput, settings: &Settings) -> Option<String> {
    input
        .customer
        .get(Field::Country)
        .iter()
        .find_map(|c| normalize::country_code(c))
        .or_else(|| settings.default_country.clone())
}

/// `fbc` from a click id when the browser had no `_fbc` cookie: `fb.1.<ms>.<fbclid>`
/// (the fbclid is kept exactly as received).
pub fn fbc_from_fbclid(fbclid: &str, event_time: i64) -> String {
    format!("fb.1.{}.{}", event_time.saturating_mul(1000), fbclid)
}

/// The Conversions API event object.
pub fn event_payload(
    input: &EventInput,
    event_id: &str,
    event_time: i64,
    settings: &Settings,
    decision: &Decision,
) -> Value {
    let mut user_data = Map::new();
    for (field, digests) in hashed_user_data(input, settings) {
        user_data.insert(field.meta_key().to_string(), Value::from(digests));
    }
    let b = &input.browser;
    if let Some(ip) = &b.ip {
        user_data.insert("client_ip_address".into(), Value::from(ip.as_str()));
    }
    if let Some(ua) = &b.user_agent {
        user_data.insert("client_user_agent".into(), Value::from(ua.as_str()));
    }
    let fbc = b.fbc.clone().or_else(|| b.fbclid.as_deref().map(|id| fbc_from_fbclid(id, event_time)));
    if let Some(fbc) = fbc {
        user_data.insert("fbc".into(), Value::from(fbc));
    }
    if let Some(fbp) = &b.fbp {
        user_data.insert("fbp".into(), Value::from(fbp.as_str()));
    }

    let mut event = Map::new();
    event.insert("event_name".into(), Value::from(input.event_name.as_str()));
    event.insert("event_time".into(), Value::from(event_time));
    event.insert("event_id".into(), Value::from(event_id));
    event.insert("action_source".into(), Value::from("website"));
    if let Some(url) = &input.event_source_url {
        event.insert("event_source_url".into(), Value::from(url.as_str()));
    }
    event.insert("user_data".into(), Value::Object(user_data));
    let custom = custom_data(input, false, settings.content_id);
    if !custom.is_empty() {
        event.insert("custom_data".into(), Value::Object(custom));
    }
    if let Some(ldu) = decision.ldu {
        event.insert("data_processing_options".into(), json!(["LDU"]));
        event.insert("data_processing_options_country".into(), Value::from(ldu.country));
        event.insert("data_processing_options_state".into(), Value::from(ldu.state));
    }
    Value::Object(event)
}

/// `custom_data` (server) or the pixel's parameters (`for_pixel`): the same
/// commerce fields, so both copies describe the same order. Content ids follow
/// `content_id` (the setting that also decides feed ids); callers check first
/// with [`EventInput::check_content_ids`] (an item without the mapped field keeps its `id`).
pub fn custom_data(input: &EventInput, for_pixel: bool, content_id: ContentIdField) -> Map<String, Value> {
    let mut c = Map::new();
    if let Some(v) = input.value {
        c.insert("value".into(), json_number(v));
    }
    if let Some(cur) = &input.currency {
        c.insert("currency".into(), Value::from(cur.as_str()));
    }
    if !input.items.is_empty() {
        let mut ids: Vec<&str> = Vec::with_capacity(input.items.len());
        for (i, item) in input.items.iter().enumerate() {
            let id = item.content_id(content_id, i).unwrap_or(&item.id);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        c.insert("content_ids".into(), Value::from(ids));
        let contents: Vec<Value> = input
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut o = Map::new();
                o.insert("id".into(), Value::from(item.content_id(content_id, i).unwrap_or(&item.id)));
                o.insert("quantity".into(), Value::from(item.quantity));
                if let Some(p) = item.price {
                    o.insert("item_price".into(), json_number(p));
                }
                if for_pixel {
                    if let Some(t) = &item.title {
                        o.insert("title".into(), Value::from(t.as_str()));
                    }
                    if let Some(cat) = &item.category {
                        o.insert("category".into(), Value::from(cat.as_str()));
                    }
                }
                Value::Object(o)
            })
            .collect();
        c.insert("contents".into(), Value::from(contents));
        c.insert("content_type".into(), Value::from("product"));
        let num: u64 = input.items.iter().map(|i| u64::from(i.quantity)).sum();
        c.insert("num_items".into(), Value::from(num));
    }
    if !for_pixel {
        if let Some(order) = &input.order_id {
            c.insert("order_id".into(), Value::from(order.as_str()));
        }
    }
    c
}

/// Money as a JSON number (validated finite earlier; a non-finite value becomes 0, never NaN).
fn json_number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map(Value::Number).unwrap_or_else(|| Value::from(0))
}

/// The request body for `POST {endpoint}/{version}/{pixel}/events`.
/// The access token is not in it: the transport sends it as an `Authorization` header.
pub fn request_body(events: Vec<Value>, settings: &Settings) -> Value {
    let mut body = Map::new();
    body.insert("data".into(), Value::from(events));
    if let Some(code) = &settings.test_event_code {
        body.insert("test_event_code".into(), Value::from(code.as_str()));
    }
    body.insert("partner_agent".into(), Value::from(format!("convtrack-{}", crate::VERSION)));
    Value::Object(body)
}

#[cfg(test)]
mod content_id_tests {
    use crate::error::ErrorCode;
    use crate::{Settings, Tracker};

    const EVENT: &str = r#"{"event_name":"Purchase","event_time":1732790000,"order_id":"9","currency":"EUR","value":"5",
        "event_source_url":"https://shop.example/","browser":{"user_agent":"UA"},"consent":{"marketing":"granted"},
        "items":[{"id":"10","sku":"MUG-1","variant_id":"10-blue","quantity":2,"price":"2.5"}]}"#;

    fn tracker(content_id: &str) -> Tracker {
        let s = format!(r#"{{"pixel_id":"123","access_token":"tok","data_controls":true,"content_id":"{content_id}"}}"#);
        Tracker::new(Settings::from_json(&s).unwrap())
    }

    #[test]
    fn payload_and_pixel_use_the_mapped_id() {
        for (mapping, want) in [("id", "10"), ("sku", "MUG-1"), ("variant_id", "10-blue")] {
            let r = tracker(mapping).build_json_at(EVENT, 1732790000).unwrap();
            let payload = r.payload.unwrap();
            assert_eq!(payload["custom_data"]["content_ids"], serde_json::json!([want]), "{mapping}");
            assert_eq!(payload["custom_data"]["contents"][0]["id"], want);
            assert!(r.pixel_html.contains(&format!("\"content_ids\":[\"{want}\"]")), "{mapping}");
        }
    }

    #[test]
    fn missing_mapped_field_names_the_item_field() {
        let ev = EVENT.replace(r#""sku":"MUG-1","#, "");
        let e = tracker("sku").build_json_at(&ev, 1732790000).unwrap_err();
        assert_eq!((e.code(), e.field_name()), (ErrorCode::MissingField, Some("items[0].sku")));
        let e = Settings::from_json(r#"{"pixel_id":"1","content_id":"ean"}"#).unwrap_err();
        assert_eq!(e.field_name(), Some("content_id"));
    }
}
