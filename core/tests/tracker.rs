//! Behaviour across modules, from the shop developer's side: an order in, the
//! pixel snippet and the Conversions API event out.

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convtrack_core::build::TooOld;
use convtrack_core::hash::sha256_hex;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{event_id, ErrorCode, Settings, Tracker};
use convtrack_core::{BlockReason, ServerDecision};
use serde_json::{json, Value};

const NOW: i64 = 1_732_790_000;
const PIXEL: &str = "1234567890";

fn tracker(extra: Value) -> Tracker {
    let mut s = json!({"pixel_id": PIXEL, "access_token": "EAAB-SENTINEL-TOKEN", "data_controls": true});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    Tracker::new(Settings::from_value(&s).unwrap())
}

fn purchase() -> Value {
    json!({
        "event_name": "Purchase",
        "event_time": NOW - 120,
        "order_id": "1001",
        "event_source_url": "https://shop.example/checkout/thanks",
        "currency": "eur",
        "value": "59.90",
        "items": [
            {"id": "SKU-1", "quantity": 2, "price": "19.95", "title": "</script><script>alert(1)</script>"},
            {"id": "SKU-2", "quantity": 1, "price": 20, "title": "Mug"},
            {"id": "SKU-1", "quantity": 1, "price": "19.95"}
        ],
        "customer": {
            "email": ["  Sentinel.Person@Example.COM ", "sentinel.person@example.com", "other@example.org"],
            "phone": "020 7183 8750",
            "first_name": "Sentinel",
            "last_name": "Person",
            "country": "GB",
            "external_id": "cust-42",
            "city": ""
        },
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 Sentinel", "fbp": "fb.1.1732780000000.1098115397", "fbclid": "IwAR2xyz"},
        "consent": {"marketing": "granted"}
    })
}

fn build(t: &Tracker, event: &Value) -> convtrack_core::Result<convtrack_core::BuildResult> {
    t.build_json(&event.to_string(), &BuildOptions { now: Some(NOW), ..Default::default() })
}

#[test]
fn golden_event_ids() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/event_ids.json");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = data["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    for v in vectors {
        let got = event_id(v["pixel_id"].as_str().unwrap(), v["event_name"].as_str().unwrap(), v["order_id"].as_str().unwrap());
        assert_eq!(got, v["event_id"].as_str().unwrap(), "{v}");
    }
}

#[test]
fn purchase_payload_is_exactly_what_meta_expects() {
    let r = build(&tracker(json!({})), &purchase()).unwrap();
    assert_eq!(r.server.as_str(), "send");
    assert_eq!(r.event_id, event_id(PIXEL, "Purchase", "1001"));
    let p = r.payload.unwrap().to_value();
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["event_name", "event_time", "event_id", "action_source", "event_source_url", "user_data", "custom_data"]);
    assert_eq!(p["event_time"], NOW - 120, "the order's time, not the send time");
    assert_eq!(p["action_source"], "website");

    let ud = &p["user_data"];
    // Multi-valued fields are arrays of digests, de-duplicated in first-seen order.
    assert_eq!(ud["em"], json!([sha256_hex("sentinel.person@example.com"), sha256_hex("other@example.org")]));
    // The national UK number is completed with the country calling code (docs/spec.md §4 deviation).
    assert_eq!(ud["ph"], json!([sha256_hex("442071838750")]));
    assert_eq!(ud["fn"], json!([sha256_hex("sentinel")]));
    assert_eq!(ud["country"], json!([sha256_hex("gb")]));
    assert_eq!(ud["external_id"], json!([sha256_hex("cust-42")]));
    assert!(ud.get("ct").is_none(), "an empty value is dropped, never hashed");
    for (k, v) in ud.as_object().unwrap() {
        if let Some(list) = v.as_array() {
            for d in list {
                let d = d.as_str().unwrap();
                assert!(d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{k}");
            }
        }
    }
    // Never hashed, sent as given.
    assert_eq!(ud["client_ip_address"], "203.0.113.7");
    assert_eq!(ud["client_user_agent"], "Mozilla/5.0 Sentinel");
    assert_eq!(ud["fbp"], "fb.1.1732780000000.1098115397");
    assert_eq!(ud["fbc"], format!("fb.1.{}.IwAR2xyz", (NOW - 120) * 1000));

    let cd = &p["custom_data"];
    assert_eq!(cd["value"], 59.9);
    assert_eq!(cd["currency"], "EUR");
    assert_eq!(cd["content_ids"], json!(["SKU-1", "SKU-2"]));
    assert_eq!(cd["contents"][0], json!({"id": "SKU-1", "quantity": 2, "item_price": 19.95}));
    assert_eq!(cd["content_type"], "product");
    assert_eq!(cd["order_id"], "1001");
    assert_eq!(cd["num_items"], 4);

    // No raw personal data and no token anywhere in the output.
    let all = format!("{}{}", p, r.pixel_html);
    for raw in ["Sentinel.Person", "sentinel.person@", "7183", "SENTINEL-TOKEN", "cust-42"] {
        assert!(!all.contains(raw), "{raw} leaked");
    }
}

#[test]
fn pixel_and_server_share_the_event_id() {
    let r = build(&tracker(json!({})), &purchase()).unwrap();
    assert!(r.pixel_html.contains(&format!("{{\"eventID\":\"{}\"}}", r.event_id)));
    assert_eq!(r.payload.unwrap().to_value()["event_id"], r.event_id);
    // Same order, another process, another time: same id.
    let again = build(&tracker(json!({})), &json!({"event_name": "Purchase", "order_id": 1001, "currency": "EUR", "value": 1})).unwrap();
    assert_eq!(again.event_id, r.event_id);
}

#[test]
fn default_settings_send_nothing_server_side() {
    let t = Tracker::new(Settings::new(PIXEL).unwrap());
    let r = build(&t, &purchase()).unwrap();
    assert_eq!(r.server.as_str(), "blocked");
    assert_eq!(r.server.reason().unwrap().as_str(), "data_controls_off");
    assert!(r.payload.is_none());
    assert!(r.pixel_html.contains("fbq('track',\"Purchase\""), "the pixel still tracks");
    assert!(!r.pixel_html.contains("Sentinel"));
}

#[test]
fn denied_consent_blocks_server_and_revokes_pixel() {
    let mut e = purchase();
    e["consent"]["marketing"] = json!("denied");
    let r = build(&tracker(json!({})), &e).unwrap();
    assert_eq!(r.server.reason().unwrap().as_str(), "consent_denied");
    assert!(r.payload.is_none());
    assert!(r.pixel_html.contains("fbq('consent','revoke')"));
    e["consent"] = json!(null);
    assert_eq!(build(&tracker(json!({})), &e).unwrap().server.reason().unwrap().as_str(), "consent_unknown");
    assert_eq!(build(&tracker(json!({"unknown_consent": "grant"})), &e).unwrap().server.as_str(), "send");
}

#[test]
fn catalog_only_has_no_pixel_and_no_server_event() {
    let r = build(&tracker(json!({"mode": "catalog_only"})), &purchase()).unwrap();
    assert_eq!(r.server.reason().unwrap().as_str(), "catalog_only");
    assert_eq!(r.pixel_html, "");
    assert!(r.payload.is_none());
}

#[test]
fn ldu_options_in_payload_and_snippet() {
    let mut e = purchase();
    e["consent"]["ldu"] = json!(true);
    let r = build(&tracker(json!({})), &e).unwrap();
    let p = r.payload.unwrap().to_value();
    assert_eq!(p["data_processing_options"], json!(["LDU"]));
    assert_eq!(p["data_processing_options_country"], 0);
    assert_eq!(p["data_processing_options_state"], 0);
    assert!(r.pixel_html.contains("fbq('dataProcessingOptions',['LDU'],0,0)"));
    let ca = build(&tracker(json!({"ldu": {"country": 1, "state": 1000}})), &purchase()).unwrap();
    assert_eq!(ca.payload.unwrap().to_value()["data_processing_options_state"], 1000);
}

#[test]
fn allowed_fields_remove_customer_data_before_hashing() {
    let r = build(&tracker(json!({"allowed_fields": ["email"]})), &purchase()).unwrap();
    let ud = &r.payload.unwrap().to_value()["user_data"];
    assert!(ud.get("em").is_some());
    for k in ["ph", "fn", "ln", "country", "external_id"] {
        assert!(ud.get(k).is_none(), "{k} must be removed");
    }
    assert!(ud.get("client_ip_address").is_some(), "browser context is not customer data");
}

#[test]
fn default_country_completes_phone_numbers() {
    let mut e = purchase();
    e["customer"] = json!({"phone": "030 12345678"});
    let de = build(&tracker(json!({"default_country": "DE"})), &e).unwrap();
    assert_eq!(de.payload.unwrap().to_value()["user_data"]["ph"], json!([sha256_hex("493012345678")]));
    let none = build(&tracker(json!({})), &e).unwrap();
    assert_eq!(
        none.payload.unwrap().to_value()["user_data"]["ph"],
        json!([sha256_hex("3012345678")]),
        "without a country: as the reference"
    );
}

#[test]
fn postcodes_follow_the_customers_country_or_the_default() {
    let zp = |t: &Tracker, customer: Value| {
        let mut e = purchase();
        e["customer"] = customer;
        build(t, &e).unwrap().payload.unwrap().to_value()["user_data"]["zp"].clone()
    };
    let plain = tracker(json!({}));
    let us = tracker(json!({"default_country": "US"}));
    // Spaces go whatever the country (docs/spec.md §4, second deviation).
    assert_eq!(zp(&plain, json!({"zip": "SW1A 1AA", "country": "GB"})), json!([sha256_hex("sw1a1aa")]));
    assert_eq!(zp(&plain, json!({"zip": "SW1A\u{A0}1AA"})), json!([sha256_hex("sw1a1aa")]));
    // The customer's country US: the first five digits.
    assert_eq!(zp(&plain, json!({"zip": "94025 1234", "country": "US"})), json!([sha256_hex("94025")]));
    assert_eq!(zp(&plain, json!({"zip": ["94025-1234", "94025 1234", "94025"], "country": "United States"})), json!([sha256_hex("94025")]));
    // No customer country: the merchant default decides.
    assert_eq!(zp(&us, json!({"zip": "94025 1234"})), json!([sha256_hex("94025")]));
    assert_eq!(zp(&us, json!({"zip": "SW1A 1AA", "country": "GB"})), json!([sha256_hex("sw1a1aa")]), "the customer's country wins");
    assert_eq!(zp(&us, json!({"zip": "94025 1234", "country": "GB"})), json!([sha256_hex("940251234")]));
    // No country at all: the generic rule.
    assert_eq!(zp(&plain, json!({"zip": "94025 1234"})), json!([sha256_hex("940251234")]));
}

#[test]
fn upper_case_digests_are_sent_lowercased_once() {
    let sha = "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3";
    let mut e = purchase();
    e["customer"] = json!({"email": [sha, sha.to_ascii_lowercase(), format!(" {sha} ")], "zip": sha, "country": "US"});
    let ud = build(&tracker(json!({})), &e).unwrap().payload.unwrap().to_value()["user_data"].clone();
    assert_eq!(ud["em"], json!([sha.to_ascii_lowercase()]));
    assert_eq!(ud["zp"], json!([sha.to_ascii_lowercase()]));
}

#[test]
fn event_ids_for_events_without_orders() {
    let t = tracker(json!({}));
    let mut e = json!({"event_name": "AddToCart", "event_id": "page-abc-123", "event_source_url": "https://shop.example/p",
                       "browser": {"user_agent": "UA"}, "consent": {"marketing": "granted"}});
    let r = build(&t, &e).unwrap();
    assert_eq!(r.event_id, "page-abc-123");
    e.as_object_mut().unwrap().remove("event_id");
    let a = build(&t, &e).unwrap().event_id;
    let b = build(&t, &e).unwrap().event_id;
    assert!(a.starts_with("ctr-") && a != b);
    // A caller id that contradicts the order's derived id would break dedup: refuse it.
    let mut p = purchase();
    p["event_id"] = json!("something-else");
    let err = build(&t, &p).unwrap_err();
    assert_eq!((err.code(), err.field_name()), (ErrorCode::InvalidValue, Some("event_id")));
}

#[test]
fn custom_events_use_track_custom() {
    let r =
        build(&tracker(json!({})), &json!({"event_name": "Order Shipped", "order_id": "9", "consent": {"marketing": "denied"}})).unwrap();
    assert!(r.pixel_html.contains("fbq('trackCustom',\"Order Shipped\""));
}

#[test]
fn server_events_need_user_agent_and_url() {
    let t = tracker(json!({}));
    let mut e = purchase();
    e["browser"].as_object_mut().unwrap().remove("user_agent");
    assert_eq!(build(&t, &e).unwrap_err().field_name(), Some("browser.user_agent"));
    let mut e = purchase();
    e.as_object_mut().unwrap().remove("event_source_url");
    assert_eq!(build(&t, &e).unwrap_err().field_name(), Some("event_source_url"));
}

#[test]
fn event_time_window() {
    let t = tracker(json!({}));
    let mut e = purchase();
    e["event_time"] = json!(NOW - 8 * 86400);
    assert_eq!(build(&t, &e).unwrap_err().code(), ErrorCode::EventTimeOutOfRange);
    e["event_time"] = json!(NOW + 3600);
    assert_eq!(build(&t, &e).unwrap_err().code(), ErrorCode::EventTimeOutOfRange);
    e.as_object_mut().unwrap().remove("event_time");
    assert_eq!(build(&t, &e).unwrap().event_time, NOW);
}

#[test]
fn an_old_order_can_still_get_its_pixel_with_the_server_copy_skipped() {
    let t = tracker(json!({}));
    let mut e = purchase();
    e["event_time"] = json!(NOW - 8 * 86400);
    let skip = BuildOptions { now: Some(NOW), too_old: TooOld::SkipServer, ..Default::default() };
    let r = t.build_json(&e.to_string(), &skip).unwrap();
    assert_eq!(r.server, ServerDecision::Blocked(BlockReason::TooOld));
    assert!(r.payload.is_none());
    assert!(r.pixel_html.contains("fbq('track',\"Purchase\""), "{}", r.pixel_html);
    assert!(r.pixel_html.contains(&r.event_id));
    let page = t.page_snippet_json(&format!("[{e}]"), &skip).unwrap();
    assert!(page.contains(&r.event_id));
    // A future time is still an error: the option is about old orders only.
    e["event_time"] = json!(NOW + 3600);
    assert_eq!(t.build_json(&e.to_string(), &skip).unwrap_err().code(), ErrorCode::EventTimeOutOfRange);
    // A recent order is unaffected by the option.
    let r = t.build_json(&purchase().to_string(), &skip).unwrap();
    assert_eq!(r.server, ServerDecision::Send);
    assert_eq!(BuildOptions::from_json(r#"{"too_old": "skip_server"}"#).unwrap().too_old, TooOld::SkipServer);
    assert_eq!(BuildOptions::from_json(r#"{"too_old": "later"}"#).unwrap_err().field_name(), Some("options.too_old"));
}

#[test]
fn request_body_carries_test_code_but_never_the_token() {
    let t = tracker(json!({"test_event_code": "TEST123"}));
    let r = build(&t, &purchase()).unwrap();
    let body = convtrack_core::build::payload::request_body(vec![r.payload.unwrap().to_value()], t.settings());
    assert_eq!(body["test_event_code"], "TEST123");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert!(!body.to_string().contains("SENTINEL-TOKEN"));
    assert!(!t.settings().events_url().contains("SENTINEL"));
}

#[test]
fn errors_never_echo_values() {
    let t = tracker(json!({}));
    let cases = [
        json!({"event_name": "Purchase", "order_id": "1", "currency": "EUR", "value": "sentinel@example.com"}),
        json!({"event_name": "Lead", "customer": {"email": {"sentinel@example.com": 1}}}),
        json!({"event_name": "Lead", "browser": {"ip": "sentinel@example.com"}}),
        json!({"event_name": "Lead", "customer": {"emial": "sentinel@example.com"}}),
    ];
    for c in cases {
        let e = build(&t, &c).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("sentinel@"), "{e}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

        #[test]
        fn build_never_panics_on_arbitrary_strings(s in ".{0,200}") {
            let t = tracker(json!({}));
            let _ = t.build_json(&s, &BuildOptions { now: Some(NOW), ..Default::default() });
            let mut e = purchase();
            e["customer"]["email"] = json!(s.clone());
            e["customer"]["phone"] = json!(s.clone());
            e["items"][0]["title"] = json!(s.clone());
            if let Ok(r) = build(&t, &e) {
                prop_assert_eq!(r.pixel_html.matches("</script>").count(), 1);
            }
        }

        #[test]
        fn event_ids_are_stable_and_well_formed(order in "[^\\x00-\\x1f]{1,60}") {
            let a = event_id(PIXEL, "Purchase", &order);
            prop_assert_eq!(&a, &event_id(PIXEL, "Purchase", &order));
            prop_assert!(a.len() == 36 && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        }
    }
}

#[test]
fn page_snippet_renders_several_events_under_one_base_code() {
    use convtrack_core::tracker::BuildOptions;
    let t = Tracker::new(Settings::from_json(r#"{"pixel_id": "1234567890"}"#).unwrap());
    let now = 1_732_790_000;
    let opts = BuildOptions { now: Some(now), nonce: Some("n0nce".into()), ..BuildOptions::default() };
    let events = format!(
        r#"[{{"event_name": "Purchase", "event_time": {now}, "order_id": "1001", "currency": "EUR", "value": "5.00",
             "items": [{{"id": "SKU-1", "title": "</script><script>alert(1)</script>"}}], "consent": {{"marketing": "granted"}}}},
            {{"event_name": "Subscribe", "event_time": {now}, "order_id": "1001", "consent": {{"marketing": "granted"}}}}]"#
    );
    let html = t.page_snippet_json(&events, &opts).unwrap();
    let single = t.build_json(&serde_json::from_str::<serde_json::Value>(&events).unwrap()[0].to_string(), &opts).unwrap();
    assert_eq!(html.matches("<script").count(), 1, "one script element, hostile title stays data");
    assert_eq!(html.matches("fbq('init'").count(), 1);
    assert_eq!(html.matches("fbq('track','PageView')").count(), 1);
    assert!(html.contains(&format!("{{\"eventID\":\"{}\"}}", single.event_id)), "same id as build");
    assert!(html.contains("fbq('track',\"Subscribe\""));
    assert!(html.contains("<script nonce=\"n0nce\">"));

    // The strictest consent wins: one denied event revokes the page.
    let mixed = format!(
        r#"[{{"event_name": "ViewContent", "event_time": {now}, "consent": {{"marketing": "granted"}}}},
            {{"event_name": "Lead", "event_time": {now}, "consent": {{"marketing": "denied"}}}}]"#
    );
    assert!(t.page_snippet_json(&mixed, &opts).unwrap().contains("fbq('consent','revoke')"));
    // No event: base code and page view under the default (unknown → deny) consent.
    let empty = t.page_snippet_json("[]", &opts).unwrap();
    assert!(empty.contains("fbq('track','PageView')") && empty.contains("fbq('consent','revoke')"));
    // Errors name the event.
    let bad = format!(r#"[{{"event_name": "Lead", "event_time": {now}}}, {{"event_name": "Purchase", "event_time": {now}}}]"#);
    let e = t.page_snippet_json(&bad, &opts).unwrap_err();
    assert!(e.field_name().unwrap().starts_with("events[1]."), "{e}");
    assert_eq!(t.page_snippet_json("{}", &opts).unwrap_err().field_name(), Some("events"));
}

#[test]
fn result_text_is_the_json_shape_with_the_payload_as_written() {
    let sent = build(&tracker(json!({})), &purchase()).unwrap();
    let blocked = build(&tracker(json!({"data_controls": false})), &purchase()).unwrap();
    for r in [sent, blocked] {
        // Byte for byte what serializing the Value shape writes (same key order, same escapes).
        assert_eq!(r.to_json_string(), r.to_json().to_string());
    }
}

#[test]
fn server_only_builds_the_same_server_copy_without_a_snippet() {
    let t = tracker(json!({}));
    let event = purchase().to_string();
    let full = t.build_json(&event, &BuildOptions { now: Some(NOW), ..Default::default() }).unwrap();
    let opts = BuildOptions::from_json(&format!(r#"{{"now": {NOW}, "server_only": true}}"#)).unwrap();
    let server = t.build_json(&event, &opts).unwrap();
    assert!(full.pixel_html.contains("fbq('track'") && server.pixel_html.is_empty());
    assert_eq!(server.payload.as_ref().map(|p| p.as_str()), full.payload.as_ref().map(|p| p.as_str()));
    assert_eq!((&server.event_id, server.server, server.pixel), (&full.event_id, full.server, full.pixel));
    // A blocked event: nothing at all to render or send.
    let denied = purchase().to_string().replace("\"granted\"", "\"denied\"");
    let blocked = t.build_json(&denied, &opts).unwrap();
    assert!(blocked.payload.is_none() && blocked.pixel_html.is_empty());
    // The option is typed, and a page snippet has no server copy to build.
    let e = BuildOptions::from_json(r#"{"server_only": "yes"}"#).unwrap_err();
    assert_eq!((e.code(), e.field_name()), (ErrorCode::WrongType, Some("options.server_only")));
    let e = t.page_snippet_json("[]", &opts).unwrap_err();
    assert_eq!((e.code(), e.field_name()), (ErrorCode::InvalidArgument, Some("options.server_only")));
}

#[test]
fn a_now_that_would_overflow_the_time_checks_is_a_typed_error() {
    // `now ± 7 days` wrapped in release builds and panicked in debug ones.
    let t = tracker(json!({}));
    let mut event = purchase();
    event.as_object_mut().unwrap().remove("event_time");
    for now in [i64::MAX, i64::MAX - 300, 9_223_372_036_854_775_507, i64::MIN, -1, 253_402_300_800] {
        let options = BuildOptions { now: Some(now), ..Default::default() };
        let e = t.build_json(&event.to_string(), &options).unwrap_err();
        assert_eq!((e.code(), e.field_name()), (ErrorCode::InvalidArgument, Some("now")), "{now}");
        let e = t.page_snippet(&[], &options).unwrap_err();
        assert_eq!(e.field_name(), Some("now"), "{now}");
        let json_options = BuildOptions::from_json(&format!(r#"{{"now": {now}}}"#)).unwrap();
        assert_eq!(t.build_json(&event.to_string(), &json_options).unwrap_err().field_name(), Some("now"));
    }
    let last = BuildOptions { now: Some(253_402_300_799), ..Default::default() };
    assert_eq!(t.build_json(&event.to_string(), &last).unwrap().event_time, 253_402_300_799);
}
