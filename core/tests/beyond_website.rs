//! Issue 17 in the core: events beyond the website (`action_source`) and the
//! value fields of `custom_data`, from the shop developer's side.

// A failed unwrap here is a failed test, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convtrack_core::hash::sha256_hex;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{ErrorCode, Settings, Tracker};
use serde_json::{json, Value};

const NOW: i64 = 1_732_790_000;
const PIXEL: &str = "1234567890";

fn tracker() -> Tracker {
    let s = json!({"pixel_id": PIXEL, "access_token": "EAAB-SENTINEL-TOKEN", "data_controls": true});
    Tracker::new(Settings::from_value(&s).unwrap())
}

/// A till receipt: no browser, no page, a customer known by email.
fn receipt() -> Value {
    json!({
        "event_name": "Purchase",
        "event_time": NOW - 3600,
        "order_id": "POS-1",
        "action_source": "physical_store",
        "currency": "EUR",
        "value": "12.50",
        "customer": {"email": "Sentinel.Person@Example.com"},
        "consent": {"marketing": "granted"}
    })
}

fn build(t: &Tracker, event: &Value) -> convtrack_core::Result<convtrack_core::BuildResult> {
    t.build_json(&event.to_string(), &BuildOptions { now: Some(NOW), ..Default::default() })
}

fn with(mut event: Value, key: &str, value: Value) -> Value {
    event[key] = value;
    event
}

#[test]
fn a_store_receipt_needs_no_browser_and_renders_no_pixel() {
    let r = build(&tracker(), &receipt()).unwrap();
    assert_eq!(r.server.as_str(), "send");
    assert_eq!(r.pixel_html, "", "a receipt has no page");
    assert_eq!(r.pixel.as_str(), "off");
    let p = r.payload.unwrap().to_value();
    assert_eq!(p["action_source"], "physical_store");
    assert!(p.get("event_source_url").is_none());
    assert_eq!(p["user_data"]["em"], json!([sha256_hex("sentinel.person@example.com")]));
    assert!(p["user_data"].get("client_user_agent").is_none());
    assert_eq!(p["custom_data"]["order_id"], "POS-1");
}

#[test]
fn every_action_source_reaches_the_payload() {
    for source in ["website", "physical_store", "system_generated", "phone_call", "email", "chat", "app", "other"] {
        let mut e = with(receipt(), "action_source", json!(source));
        e["event_source_url"] = json!("https://shop.example/thanks");
        e["browser"] = json!({"user_agent": "Mozilla/5.0"});
        let r = build(&tracker(), &e).unwrap();
        assert_eq!(r.payload.unwrap().to_value()["action_source"], source);
        assert_eq!(r.pixel_html.is_empty(), source != "website", "{source}");
    }
    // Absent and null mean website, which still needs its browser block.
    let mut website = receipt();
    website.as_object_mut().unwrap().remove("action_source");
    for e in [website.clone(), with(website, "action_source", Value::Null)] {
        let err = build(&tracker(), &e).unwrap_err();
        assert_eq!((err.code(), err.field_name()), (ErrorCode::MissingField, Some("event_source_url")));
    }
}

#[test]
fn a_bad_action_source_is_a_typed_error_naming_it() {
    for bad in [json!("store"), json!("Website"), json!("SENTINEL</script>"), json!(1), json!(["website"]), json!("website\u{0}")] {
        let err = build(&tracker(), &with(receipt(), "action_source", bad.clone())).unwrap_err();
        assert_eq!(err.field_name(), Some("action_source"), "{bad}");
        assert!(matches!(err.code(), ErrorCode::InvalidValue | ErrorCode::WrongType), "{bad}");
        assert!(!err.to_string().contains("SENTINEL"));
    }
}

#[test]
fn a_store_event_without_usable_customer_data_is_refused_before_it_is_queued() {
    // Meta matches a store event on its customer fields only; an empty user_data
    // would be rejected together with its whole batch.
    for customer in [json!(null), json!({}), json!({"email": "not an address"})] {
        let err = build(&tracker(), &with(receipt(), "customer", customer.clone())).unwrap_err();
        assert_eq!((err.code(), err.field_name()), (ErrorCode::MissingField, Some("customer")), "{customer}");
    }
    // When nothing will be sent there is nothing to match: no error.
    let denied = with(with(receipt(), "customer", json!(null)), "consent", json!({"marketing": "denied"}));
    assert_eq!(build(&tracker(), &denied).unwrap().server.as_str(), "blocked");
}

#[test]
fn page_snippet_leaves_out_events_that_are_not_from_the_website() {
    let t = tracker();
    let web = json!({"event_name": "ViewContent", "event_id": "web-1", "event_source_url": "https://shop.example/p",
        "browser": {"user_agent": "UA"}, "consent": {"marketing": "granted"}});
    let html = t.page_snippet_json(&json!([receipt(), web]).to_string(), &BuildOptions { now: Some(NOW), ..Default::default() }).unwrap();
    assert!(html.contains("\"ViewContent\""), "{html}");
    assert!(!html.contains("\"Purchase\"") && !html.contains("POS-1"), "{html}");
    // Only store events: the page is the base code under the merchant's default (unknown → revoked).
    let only = t.page_snippet_json(&json!([receipt()]).to_string(), &BuildOptions { now: Some(NOW), ..Default::default() }).unwrap();
    let empty = t.page_snippet_json("[]", &BuildOptions { now: Some(NOW), ..Default::default() }).unwrap();
    assert_eq!(only, empty);
}

#[test]
fn value_fields_go_into_custom_data_as_numbers_and_never_into_the_page() {
    let mut e = receipt();
    e["action_source"] = json!("website");
    e["event_source_url"] = json!("https://shop.example/thanks");
    e["browser"] = json!({"user_agent": "UA"});
    e["net_revenue"] = json!("4.20");
    e["predicted_ltv"] = json!(310);
    e["delivery_category"] = json!("curbside");
    e["customer_segmentation"] = json!("existing_customer_to_business");
    let r = build(&tracker(), &e).unwrap();
    let cd = &r.payload.unwrap().to_value()["custom_data"];
    assert_eq!(cd["net_revenue"], json!(4.2));
    assert_eq!(cd["predicted_ltv"], json!(310.0));
    assert_eq!(cd["delivery_category"], "curbside");
    assert_eq!(cd["customer_segmentation"], "existing_customer_to_business");
    for key in ["net_revenue", "predicted_ltv", "delivery_category", "customer_segmentation"] {
        assert!(!r.pixel_html.contains(key), "{key} is the merchant's figure, not the page's");
    }
    // Without value, currency or items the value fields still make a custom_data.
    let mut bare = receipt();
    for k in ["value", "order_id"] {
        bare.as_object_mut().unwrap().remove(k);
    }
    bare["event_name"] = json!("Lead");
    bare["delivery_category"] = json!("in_store");
    let cd = build(&tracker(), &bare).unwrap().payload.unwrap().to_value()["custom_data"].clone();
    assert_eq!(cd, json!({"currency": "EUR", "delivery_category": "in_store"}));
}

#[test]
fn bad_value_fields_are_typed_errors_naming_the_field() {
    let cases = [
        ("net_revenue", json!("NaN"), ErrorCode::InvalidValue),
        ("net_revenue", json!("inf"), ErrorCode::InvalidValue),
        ("net_revenue", json!("-1"), ErrorCode::InvalidValue),
        ("net_revenue", json!("1e3"), ErrorCode::InvalidValue),
        ("net_revenue", json!(true), ErrorCode::WrongType),
        ("predicted_ltv", json!("SENTINEL"), ErrorCode::InvalidValue),
        ("predicted_ltv", json!(1e300), ErrorCode::InvalidValue),
        ("predicted_ltv", json!({}), ErrorCode::WrongType),
        ("delivery_category", json!("drone"), ErrorCode::InvalidValue),
        ("delivery_category", json!("IN_STORE"), ErrorCode::InvalidValue),
        ("delivery_category", json!(3), ErrorCode::WrongType),
        ("customer_segmentation", json!("new"), ErrorCode::InvalidValue),
        ("customer_segmentation", json!("SENTINEL</script>"), ErrorCode::InvalidValue),
        ("customer_segmentation", json!(["new_customer_to_business"]), ErrorCode::WrongType),
    ];
    for (key, bad, code) in cases {
        let err = build(&tracker(), &with(receipt(), key, bad.clone())).unwrap_err();
        assert_eq!((err.code(), err.field_name()), (code, Some(key)), "{key} = {bad}");
        assert!(!err.to_string().contains("SENTINEL"), "{err}");
    }
    // An amount needs its currency, as value does.
    let mut e = with(receipt(), "predicted_ltv", json!(100));
    for k in ["currency", "value"] {
        e.as_object_mut().unwrap().remove(k);
    }
    e["event_name"] = json!("Lead");
    let err = build(&tracker(), &e).unwrap_err();
    assert_eq!((err.code(), err.field_name()), (ErrorCode::MissingField, Some("currency")));
}

/// A checkout page request: the browser block's user agent decides crawler or not.
fn web_order(user_agent: &str) -> Value {
    let mut e = receipt();
    e["action_source"] = json!("website");
    e["event_source_url"] = json!("https://shop.example/thanks");
    e["browser"] = json!({"user_agent": user_agent});
    e
}

#[test]
fn a_crawler_gets_no_server_copy_and_the_reason_bot() {
    let bot = build(&tracker(), &web_order("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")).unwrap();
    assert_eq!((bot.server.as_str(), bot.server.reason().map(|r| r.as_str())), ("blocked", Some("bot")));
    assert!(bot.payload.is_none());
    assert!(bot.pixel_html.contains("fbq('init'"), "the page is the same for crawlers");
    let person = build(&tracker(), &web_order("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")).unwrap();
    assert_eq!(person.server.as_str(), "send");
    // The merchant's own token, in any case.
    let s = json!({"pixel_id": PIXEL, "access_token": "t", "data_controls": true, "bot_user_agents": ["Firefox/133"]});
    let t = Tracker::new(Settings::from_value(&s).unwrap());
    let r = build(&t, &web_order("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 FIREFOX/133.0")).unwrap();
    assert_eq!(r.server.reason().map(|r| r.as_str()), Some("bot"));
    // Spaces around a token (a settings file's "ShopMonitor ") are not part of it.
    let s = json!({"pixel_id": PIXEL, "access_token": "t", "data_controls": true, "bot_user_agents": [" ShopMonitor "]});
    let t = Tracker::new(Settings::from_value(&s).unwrap());
    assert_eq!(build(&t, &web_order("ShopMonitor/2.0")).unwrap().server.reason().map(|r| r.as_str()), Some("bot"));
}

#[test]
fn bad_bot_user_agents_name_the_setting() {
    for (bad, field) in [
        (json!("googlebot"), "bot_user_agents"),
        (json!([1]), "bot_user_agents[0]"),
        (json!(["ok-token", "ab"]), "bot_user_agents[1]"),
        (json!(["  x "]), "bot_user_agents[0]"),
        (json!(["a\u{0}bc"]), "bot_user_agents[0]"),
        (json!(["x".repeat(129)]), "bot_user_agents[0]"),
        (json!(vec!["abc"; 201]), "bot_user_agents"),
    ] {
        let s = json!({"pixel_id": PIXEL, "bot_user_agents": bad});
        let e = Settings::from_value(&s).unwrap_err();
        assert_eq!((e.code(), e.field_name()), (ErrorCode::InvalidSetting, Some(field)), "{bad}");
    }
    let s = Settings::from_value(&json!({"pixel_id": PIXEL, "bot_user_agents": ["ShopMonitor"]})).unwrap();
    assert_eq!(s.to_public_json()["bot_user_agents"], json!(["ShopMonitor"]));
}

fn am_tracker(on: bool, data_controls: bool) -> Tracker {
    let s = json!({"pixel_id": PIXEL, "access_token": "t", "data_controls": data_controls, "pixel_advanced_matching": on});
    Tracker::new(Settings::from_value(&s).unwrap())
}

/// The object of `fbq('init',"<pixel>",{...})`, if the snippet's init has one.
fn init_matching(html: &str) -> Option<Value> {
    let start = html.find("fbq('init',")?;
    let line = &html[start..html[start..].find('\n')? + start];
    let obj = line.find(",{").map(|i| &line[i + 1..line.len() - 2])?;
    Some(serde_json::from_str(obj).unwrap())
}

#[test]
fn advanced_matching_puts_the_server_copys_hashes_in_init_and_never_raw_values() {
    let mut e = web_order("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
    e["customer"] = json!({"email": ["Sentinel.Person@Example.com", "second@example.com"], "phone": "+44 20 7183 8750",
        "first_name": "</script><b>Sentinel", "last_name": "Person", "city": "London", "zip": "SW1A 1AA", "country": "GB",
        "external_id": "cust-42", "gender": "female", "date_of_birth": "1990-01-31", "state": "Greater London"});
    let r = build(&am_tracker(true, true), &e).unwrap();
    let m = init_matching(&r.pixel_html).expect("init carries the keys");
    let ud = &r.payload.unwrap().to_value()["user_data"];
    let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["em", "ph", "fn", "ln", "ct", "zp", "country", "external_id", "ge", "db"] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    for (k, v) in m.as_object().unwrap() {
        assert_eq!(v, &ud[k][0], "{k}: the pixel's hash is the server copy's first");
    }
    let lower = r.pixel_html.to_lowercase();
    for raw in ["sentinel", "person", "london", "sw1a", "cust-42", "female", "1990", "7183"] {
        assert!(!lower.contains(raw), "raw {raw} in the page");
    }
    assert_eq!(r.pixel_html.matches("</script>").count(), 1);
}

#[test]
fn advanced_matching_only_when_the_server_copy_may_carry_user_data() {
    let e = web_order("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
    assert!(init_matching(&build(&am_tracker(false, true), &e).unwrap().pixel_html).is_none(), "off by default");
    assert!(init_matching(&build(&am_tracker(true, false), &e).unwrap().pixel_html).is_none(), "data controls off");
    for consent in ["denied", "unknown"] {
        let denied = with(e.clone(), "consent", json!({"marketing": consent}));
        assert!(init_matching(&build(&am_tracker(true, true), &denied).unwrap().pixel_html).is_none(), "{consent}");
    }
    let bot = web_order("Mozilla/5.0 (compatible; Googlebot/2.1)");
    assert!(init_matching(&build(&am_tracker(true, true), &bot).unwrap().pixel_html).is_none(), "crawler");
    let no_customer = with(e, "customer", json!(null));
    assert!(init_matching(&build(&am_tracker(true, true), &no_customer).unwrap().pixel_html).is_none(), "no keys");
}

#[test]
fn page_snippet_inits_with_the_keys_only_when_every_event_agrees() {
    let t = am_tracker(true, true);
    let opts = BuildOptions { now: Some(NOW), ..Default::default() };
    let a = with(web_order("Firefox"), "order_id", json!("A"));
    let b = with(web_order("Firefox"), "order_id", json!("B"));
    let one = build(&t, &a).unwrap();
    let same = t.page_snippet_json(&json!([a, b]).to_string(), &opts).unwrap();
    assert_eq!(init_matching(&same), init_matching(&one.pixel_html));
    assert!(init_matching(&same).is_some());
    let other = with(b.clone(), "customer", json!({"email": "other@example.com"}));
    let mixed = t.page_snippet_json(&json!([a, other]).to_string(), &opts).unwrap();
    assert!(init_matching(&mixed).is_none(), "two shoppers: no keys");
    let denied = with(b, "consent", json!({"marketing": "denied"}));
    assert!(init_matching(&t.page_snippet_json(&json!([a, denied]).to_string(), &opts).unwrap()).is_none());
}

#[test]
fn page_snippet_gives_no_keys_to_a_crawler_or_an_order_too_old_to_send() {
    let t = am_tracker(true, true);
    let opts = BuildOptions { now: Some(NOW), too_old: convtrack_core::build::TooOld::SkipServer, ..Default::default() };
    let person = with(web_order("Firefox"), "order_id", json!("A"));
    let page = |e: &Value| t.page_snippet_json(&json!([e]).to_string(), &opts).unwrap();
    assert!(init_matching(&page(&person)).is_some(), "the control: a person's page carries the keys");
    // Before: page_snippet skipped the crawler check and the too-old block, so a link
    // preview of the thank-you page, or an 8-day-old order's page, got hashed keys.
    let bot = with(person.clone(), "browser", json!({"user_agent": "facebookexternalhit/1.1"}));
    assert!(init_matching(&page(&bot)).is_none(), "crawler");
    let old = with(person, "event_time", json!(NOW - 8 * 86_400));
    let html = page(&old);
    assert!(html.contains("fbq('track'"), "the old order still gets its pixel");
    assert!(init_matching(&html).is_none(), "too old for a server copy: no keys");
}
