//! Conversions API payload (docs/spec.md §8): the server copy of an event.
//!
//! `build` runs on the checkout thread, so the payload and the pixel
//! parameters are written straight to JSON text (see [`crate::build::json_writer`]) in a
//! fixed key order, with no intermediate `serde_json::Value`.

use serde_json::{Map, Value};

use crate::build::consent::Decision;
use crate::build::json_writer::{next_key, push_f64, push_int, push_key, push_str};
use crate::catalog::ContentIdField;
use crate::error::{Error, ErrorCode, Result};
use crate::event::{EventInput, Item, MAX_CUSTOMER_VALUES};
use crate::hash;
use crate::normalize::{self, Field};
use crate::settings::{Settings, CUSTOMER_FIELDS};

/// The Conversions API event object of one event, as compact JSON text: what is
/// stored in the outbox and sent. It holds only hashed customer data, but also
/// the shopper's IP address and user agent, so `Debug` shows its size only.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload(String);

impl Payload {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The payload as a JSON value (parses the text; for callers that inspect it).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload").field("bytes", &self.0.len()).finish_non_exhaustive()
    }
}

/// The country (an ISO code) used to complete national phone numbers and to
/// cut US postcodes to 5 digits: the customer's, else the merchant default.
fn customer_country(input: &EventInput, settings: &Settings) -> Option<&'static str> {
    input
        .customer
        .get(Field::Country)
        .iter()
        .find_map(|c| normalize::iso_code(c))
        .or_else(|| settings.default_country.as_deref().and_then(normalize::iso_code))
}

/// Writes the hashed customer fields (`"em":[...],"ph":[...]`, no braces): per Meta
/// key, de-duplicated digests in first-seen order. Returns whether anything was written.
fn write_hashed_user_data(out: &mut String, input: &EventInput, settings: &Settings) -> bool {
    let country = customer_country(input, settings);
    let mut any = false;
    // One buffer for every normalized value.
    let mut normalized = String::with_capacity(64);
    // The values of each field (as `Customer::get`: the first entry of a field),
    // indexed by field, rather than a search of the list per field.
    let mut by_field: [&[std::borrow::Cow<'_, str>]; Field::ALL.len()] = [&[]; Field::ALL.len()];
    for (field, values) in input.customer.values.iter().rev() {
        by_field[*field as usize] = values;
    }
    for &field in CUSTOMER_FIELDS {
        let raw = by_field[field as usize];
        if raw.is_empty() || !settings.allows(field) {
            continue;
        }
        let rollback = out.len();
        push_key(out, field.meta_key(), !any);
        out.push('[');
        // Start offsets of the digests written for this field, to skip repeats.
        let mut written = [0usize; MAX_CUSTOMER_VALUES];
        let mut n = 0;
        for value in raw {
            if !normalize::normalize_in_region(field, value, country, &mut normalized) || normalized.is_empty() {
                continue;
            }
            let digest = hash::Digest::of_normalized(&normalized);
            let digest = digest.as_str();
            if written[..n].iter().any(|&at| {
                out.get(at + 1..at + 1 + digest.len()) == Some(digest) && out.as_bytes().get(at + 1 + digest.len()) == Some(&b'"')
            }) {
                continue;
            }
            if n > 0 {
                out.push(',');
            }
            if n < MAX_CUSTOMER_VALUES {
                written[n] = out.len();
                n += 1;
            }
            out.push('"');
            out.push_str(digest);
            out.push('"');
        }
        if n == 0 {
            out.truncate(rollback);
        } else {
            out.push(']');
            any = true;
        }
    }
    any
}

/// The pixel's Advanced Matching object (`fbq('init', id, {...})`): for each hashed
/// customer key of the server copy's `user_data`, its first digest (the pixel takes
/// one value per key), written by the same code as the server copy, so the two
/// agree. Script-safe JSON of hex digests; `None` when there is no key.
pub fn advanced_matching(input: &EventInput, settings: &Settings) -> Option<String> {
    let mut user_data = String::from("{");
    if !write_hashed_user_data(&mut user_data, input, settings) {
        return None;
    }
    user_data.push('}');
    let Value::Object(all) = serde_json::from_str(&user_data).ok()? else { return None };
    let first: Map<String, Value> = all.into_iter().filter_map(|(k, v)| Some((k, v.get(0)?.clone()))).collect();
    Some(crate::build::pixel::script_json(&Value::Object(first)))
}

/// `fbc` from a click id when the browser had no `_fbc` cookie: `fb.1.<ms>.<fbclid>`
/// (the fbclid is kept exactly as received).
pub fn fbc_from_fbclid(fbclid: &str, event_time: i64) -> String {
    format!("fb.1.{}.{}", event_time.saturating_mul(1000), fbclid)
}

/// The Conversions API event object. With `pixel_params`, the pixel's parameters
/// are written there in the same pass (see [`write_commerce`]).
pub fn event_payload(
    input: &EventInput,
    event_id: &str,
    event_time: i64,
    settings: &Settings,
    decision: &Decision,
    pixel_params: Option<&mut String>,
) -> Result<Payload> {
    let mut o = String::with_capacity(1536 + input.items.len() * 64);
    o.push_str("{\"event_name\":");
    push_str(&mut o, &input.event_name, false);
    o.push_str(next_key!("event_time"));
    push_int(&mut o, event_time);
    o.push_str(next_key!("event_id"));
    push_str(&mut o, event_id, false);
    o.push_str(next_key!("action_source"));
    push_str(&mut o, input.action_source.as_str(), false);
    if let Some(url) = &input.event_source_url {
        o.push_str(next_key!("event_source_url"));
        push_str(&mut o, url, false);
    }
    o.push_str(next_key!("user_data"));
    o.push('{');
    let mut first = !write_hashed_user_data(&mut o, input, settings);
    let b = &input.browser;
    let fbc =
        b.fbc.as_deref().map(std::borrow::Cow::Borrowed).or_else(|| b.fbclid.as_deref().map(|id| fbc_from_fbclid(id, event_time).into()));
    for (key, value) in [
        ("client_ip_address", b.ip.as_deref()),
        ("client_user_agent", b.user_agent.as_deref()),
        ("fbc", fbc.as_deref()),
        ("fbp", b.fbp.as_deref()),
    ] {
        if let Some(v) = value {
            push_key(&mut o, key, first);
            push_str(&mut o, v, false);
            first = false;
        }
    }
    o.push('}');
    if first && !input.is_website() {
        // Meta needs some user data to match an event; a website event always has
        // the browser's user agent, other events only their customer fields.
        return Err(Error::field(
            ErrorCode::MissingField,
            "customer",
            "needs at least one usable field (email, phone, name, ...) for a server event that is not from the website",
        ));
    }
    let before = o.len();
    o.push_str(next_key!("custom_data"));
    if !write_commerce(Commerce { server: Some(&mut o), pixel: pixel_params }, input, settings.content_id) {
        o.truncate(before);
    }
    if let Some(ldu) = decision.ldu {
        o.push_str(",\"data_processing_options\":[\"LDU\"]");
        o.push_str(next_key!("data_processing_options_country"));
        push_int(&mut o, ldu.country);
        o.push_str(next_key!("data_processing_options_state"));
        push_int(&mut o, ldu.state);
    }
    o.push('}');
    Ok(Payload(o))
}

/// The content id of `item` under the `content_id` mapping (callers checked it
/// with [`EventInput::check_content_ids`]; an item without the mapped field keeps its `id`).
fn mapped_id<'i>(item: &'i Item<'_>, mapping: ContentIdField) -> &'i str {
    match mapping {
        ContentIdField::Id => None,
        ContentIdField::Sku => item.sku.as_deref(),
        ContentIdField::VariantId => item.variant_id.as_deref(),
    }
    .unwrap_or(&item.id)
}

/// `a == b` for short ids as a byte loop (no `memcmp` call per pair).
fn same_id(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// The two copies of the commerce fields being written: the server's `custom_data`
/// (plain JSON) and the pixel's parameters (script-safe JSON), either or both.
/// With both, each shared piece is formatted once, for the server, and copied to
/// the pixel when it holds nothing a script context escapes (almost always).
struct Commerce<'a> {
    server: Option<&'a mut String>,
    pixel: Option<&'a mut String>,
}

/// One copy of a shared piece being written: its text, whether it is the pixel's
/// (script-safe JSON), and whether every string written into it so far reads the
/// same in a script context (then the server's text can be copied to the pixel).
struct Piece<'a> {
    out: &'a mut String,
    script_safe: bool,
    script_plain: bool,
}

impl Piece<'_> {
    /// Appends `s` as a JSON string in this copy's encoding.
    fn str(&mut self, s: &str) {
        self.script_plain &= crate::build::json_writer::push_str_script_plain(self.out, s, self.script_safe);
    }
}

impl std::ops::Deref for Piece<'_> {
    type Target = String;
    fn deref(&self) -> &String {
        self.out
    }
}

impl std::ops::DerefMut for Piece<'_> {
    fn deref_mut(&mut self) -> &mut String {
        self.out
    }
}

impl Commerce<'_> {
    /// Writes a piece both copies share. Keys, numbers and punctuation read the same
    /// in both encodings; only strings may differ, and [`Piece::str`] tracks those.
    fn shared(&mut self, write: impl Fn(&mut Piece<'_>)) {
        match (self.server.as_deref_mut(), self.pixel.as_deref_mut()) {
            (Some(server), Some(pixel)) => {
                let start = server.len();
                let mut piece = Piece { out: server, script_safe: false, script_plain: true };
                write(&mut piece);
                if piece.script_plain {
                    pixel.push_str(&server[start..]);
                } else {
                    write(&mut Piece { out: pixel, script_safe: true, script_plain: true });
                }
            }
            (Some(server), None) => write(&mut Piece { out: server, script_safe: false, script_plain: true }),
            (None, Some(pixel)) => write(&mut Piece { out: pixel, script_safe: true, script_plain: true }),
            (None, None) => {}
        }
    }

    fn pixel_only(&mut self, write: impl FnOnce(&mut String)) {
        if let Some(pixel) = self.pixel.as_deref_mut() {
            write(pixel);
        }
    }

    fn server_only(&mut self, write: impl FnOnce(&mut String)) {
        if let Some(server) = self.server.as_deref_mut() {
            write(server);
        }
    }
}

/// Writes `custom_data` (server) and/or the pixel's parameters as JSON objects:
/// the same commerce fields, so both copies describe the same order. Only the
/// pixel gets item titles and categories; only the server gets `order_id`.
/// Content ids follow `content_id` (the setting that also decides feed ids).
/// Returns false when the server object is empty (`{}` is still written).
fn write_commerce(mut out: Commerce<'_>, input: &EventInput, content_id: ContentIdField) -> bool {
    let has_shared = input.value.is_some() || input.currency.is_some() || !input.items.is_empty();
    out.shared(|o| {
        o.push('{');
        let mut first = true;
        if let Some(v) = input.value {
            push_key(o, "value", first);
            push_f64(o, v);
            first = false;
        }
        if let Some(cur) = &input.currency {
            push_key(o, "currency", first);
            o.str(cur);
            first = false;
        }
        if !input.items.is_empty() {
            push_key(o, "content_ids", first);
            o.push('[');
            // Each id once, in first-seen order: an id is written unless an
            // earlier item has it (no list of the ids seen).
            for (i, item) in input.items.iter().enumerate() {
                let id = mapped_id(item, content_id);
                if !input.items[..i].iter().any(|earlier| same_id(mapped_id(earlier, content_id), id)) {
                    if i > 0 {
                        o.push(',');
                    }
                    o.str(id);
                }
            }
            o.push_str("],\"contents\":[");
        }
    });
    for (i, item) in input.items.iter().enumerate() {
        out.shared(|o| {
            // Each item's object is closed by the next piece (after the pixel's
            // extra fields), not by a piece of its own: one copy less per item.
            if i > 0 {
                o.push_str("},");
            }
            o.push_str("{\"id\":");
            o.str(mapped_id(item, content_id));
            o.push_str(next_key!("quantity"));
            push_int(o, item.quantity);
            if let Some(p) = item.price {
                o.push_str(next_key!("item_price"));
                push_f64(o, p);
            }
        });
        out.pixel_only(|o| {
            if let Some(t) = &item.title {
                o.push_str(next_key!("title"));
                push_str(o, t, true);
            }
            if let Some(cat) = &item.category {
                o.push_str(next_key!("category"));
                push_str(o, cat, true);
            }
        });
    }
    if !input.items.is_empty() {
        out.shared(|o| {
            o.push_str("}],\"content_type\":\"product\"");
            o.push_str(next_key!("num_items"));
            push_int(o, input.items.iter().map(|i| u64::from(i.quantity)).sum::<u64>());
        });
    }
    // The merchant's own figures (net revenue, predicted lifetime value) and the
    // order id go to Meta only, never into the shopper's page source.
    let mut server_any = false;
    out.server_only(|o| {
        let mut key = |o: &mut String, name: &str| {
            push_key(o, name, !has_shared && !server_any);
            server_any = true;
        };
        if let Some(order) = &input.order_id {
            key(o, "order_id");
            push_str(o, order, false);
        }
        for (name, amount) in [("net_revenue", input.net_revenue), ("predicted_ltv", input.predicted_ltv)] {
            if let Some(v) = amount {
                key(o, name);
                push_f64(o, v);
            }
        }
        if let Some(d) = input.delivery_category {
            key(o, "delivery_category");
            push_str(o, d.as_str(), false);
        }
        if let Some(c) = input.customer_segmentation {
            key(o, "customer_segmentation");
            push_str(o, c.as_str(), false);
        }
    });
    out.shared(|o| o.push('}'));
    has_shared || server_any
}

/// Writes `custom_data` (server) or the pixel's parameters (`for_pixel`, script-safe)
/// as a JSON object (see [`write_commerce`]).
pub fn write_custom_data(o: &mut String, input: &EventInput, for_pixel: bool, content_id: ContentIdField) {
    let out = if for_pixel { Commerce { server: None, pixel: Some(o) } } else { Commerce { server: Some(o), pixel: None } };
    write_commerce(out, input, content_id);
}

/// [`write_custom_data`] into a new string.
pub fn custom_data_json(input: &EventInput, for_pixel: bool, content_id: ContentIdField) -> String {
    let mut o = String::with_capacity(128 + input.items.len() * 96);
    write_custom_data(&mut o, input, for_pixel, content_id);
    o
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
            let payload = r.payload.unwrap().to_value();
            assert_eq!(payload["custom_data"]["content_ids"], serde_json::json!([want]), "{mapping}");
            assert_eq!(payload["custom_data"]["contents"][0]["id"], want);
            assert!(r.pixel_html.contains(&format!("\"content_ids\":[\"{want}\"]")), "{mapping}");
        }
    }

    #[test]
    fn one_pass_writes_the_same_copies_as_separate_passes() {
        use crate::event::EventInput;
        let events = [
            EVENT.to_string(),
            EVENT.replace(r#""MUG-1""#, r#""a<b&c\u2028""#).replace(r#""id":"10""#, r#""id":"</script>","title":"x>y""#),
            r#"{"event_name":"Lead","event_time":1732790000,"order_id":"o","event_source_url":"https://shop.example/","browser":{"user_agent":"UA"}}"#.to_string(),
        ];
        for mapping in ["id", "sku"] {
            let t = tracker(mapping);
            for ev in &events {
                let input = EventInput::from_json(ev).unwrap();
                let decision = crate::build::consent::decide(t.settings(), &input.consent);
                let mut params = String::new();
                let payload = super::event_payload(&input, "e", 1, t.settings(), &decision, Some(&mut params)).unwrap();
                let content_id = t.settings().content_id;
                assert_eq!(params, super::custom_data_json(&input, true, content_id), "{ev}");
                let server = payload.to_value()["custom_data"].clone();
                let alone: serde_json::Value = serde_json::from_str(&super::custom_data_json(&input, false, content_id)).unwrap();
                assert_eq!(server, alone, "{ev}");
            }
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
