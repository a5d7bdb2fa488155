//! The one parser behind every face: an event from any [`Source`], one
//! function per section of the input, each error naming its field path.

use std::borrow::Cow;

use crate::error::{json_syntax, Error, ErrorCode, Result};

use super::fields::*;
use super::source::{Raw, Source};
use super::*;

const TOP_KEYS: [&str; 16] = [
    "event_name",
    "event_time",
    "order_id",
    "event_id",
    "event_source_url",
    "currency",
    "value",
    "items",
    "customer",
    "browser",
    "consent",
    "action_source",
    "net_revenue",
    "predicted_ltv",
    "delivery_category",
    "customer_segmentation",
];
const ITEM_KEYS: [&str; 7] = ["id", "sku", "variant_id", "quantity", "price", "title", "category"];
const BROWSER_KEYS: [&str; 5] = ["ip", "user_agent", "fbp", "fbc", "fbclid"];
const CONSENT_KEYS: [&str; 2] = ["marketing", "ldu"];
/// The input names of [`crate::settings::CUSTOMER_FIELDS`], in the same order.
const CUSTOMER_KEYS: [&str; crate::settings::CUSTOMER_FIELDS.len()] = {
    let mut names = [""; crate::settings::CUSTOMER_FIELDS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = crate::settings::CUSTOMER_FIELDS[i].input_name();
        i += 1;
    }
    names
};

impl<'a> EventInput<'a> {
    /// Parses an event from JSON text; strings without escapes borrow from `text`.
    pub fn from_json(text: &'a str) -> Result<EventInput<'a>> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(Error::field(ErrorCode::TooLarge, "event", format!("must be at most {MAX_INPUT_BYTES} bytes of JSON")));
        }
        let tree: json::Json<'a> = serde_json::from_str(text).map_err(|e| json_syntax("event", &e))?;
        EventInput::from_source(&json::Lend(&tree))
    }

    /// Parses an event from a JSON value; its strings are borrowed.
    pub fn from_value(value: &'a Value) -> Result<EventInput<'a>> {
        EventInput::from_source(&value)
    }

    /// Parses an event from any [`Source`] (the one parser behind every face).
    pub fn from_source<S: Source<'a>>(source: &S) -> Result<EventInput<'a>> {
        let [name, time, order, id, url, currency, value, items, customer, browser, consent, source_, net, ltv, delivery, segment] =
            slots(source, &TOP_KEYS, "event", "")?;

        let event_name = match present(name.as_ref(), "event_name")? {
            None => return Err(Error::missing("event_name")),
            Some(Raw::Str(s)) => s,
            Some(_) => return Err(Error::wrong_type("event_name", "a string")),
        };
        if !is_valid_event_name(&event_name) {
            return Err(Error::invalid(
                "event_name",
                "must be a Meta standard event or a custom name of letters, digits, '_' and spaces, at most 50",
            ));
        }

        let event_time = match present(time.as_ref(), "event_time")? {
            None => None,
            Some(Raw::Int(i)) => Some(i),
            Some(Raw::UInt(u)) => Some(unix_seconds(u as f64)?),
            Some(Raw::Float(f)) => Some(unix_seconds(f)?),
            Some(_) => return Err(Error::wrong_type("event_time", "a number of Unix seconds")),
        };

        let order_id = opt_id(order.as_ref(), "order_id")?;
        let event_id = opt_id(id.as_ref(), "event_id")?;
        if let Some(id) = &event_id {
            if !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid("event_id", "must be printable ASCII without spaces"));
            }
        }

        let event_source_url = opt_str(url.as_ref(), "event_source_url", MAX_TEXT_BYTES)?;
        if let Some(u) = &event_source_url {
            if !is_http_url(u) {
                return Err(Error::invalid("event_source_url", "must be an absolute http(s) URL"));
            }
        }

        let currency = match opt_str(currency.as_ref(), "currency", 16)? {
            None => None,
            Some(c) => {
                let c = trim_cow(c);
                if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(Error::invalid("currency", "must be an ISO-4217 code such as \"EUR\""));
                }
                Some(if c.bytes().all(|b| b.is_ascii_uppercase()) { c } else { Cow::Owned(c.to_ascii_uppercase()) })
            }
        };

        let value = opt_money(value.as_ref(), "value")?;
        let net_revenue = opt_money(net.as_ref(), "net_revenue")?;
        let predicted_ltv = opt_money(ltv.as_ref(), "predicted_ltv")?;
        let action_source = opt_enum(
            source_.as_ref(),
            "action_source",
            ActionSource::parse,
            "website, physical_store, system_generated, phone_call, email, chat, app or other",
        )?
        .unwrap_or_default();
        let delivery_category =
            opt_enum(delivery.as_ref(), "delivery_category", DeliveryCategory::parse, "in_store, curbside or home_delivery")?;
        let customer_segmentation = opt_enum(
            segment.as_ref(),
            "customer_segmentation",
            CustomerSegmentation::parse,
            "one of Meta's values such as new_customer_to_business or existing_customer_to_business",
        )?;

        let items = parse_items(items)?;
        let customer = parse_customer(customer)?;
        let browser = parse_browser(browser)?;
        let consent = parse_consent(consent)?;

        let event = EventInput {
            event_name,
            event_time,
            order_id,
            event_id,
            event_source_url,
            currency,
            value,
            net_revenue,
            predicted_ltv,
            delivery_category,
            customer_segmentation,
            action_source,
            items,
            customer,
            browser,
            consent,
        };
        event.check_requirements()?;
        Ok(event)
    }

    fn check_requirements(&self) -> Result<()> {
        if self.event_name == "Purchase" {
            if self.order_id.is_none() {
                return Err(Error::missing("order_id"));
            }
            if self.currency.is_none() {
                return Err(Error::missing("currency"));
            }
            if self.value.is_none() {
                return Err(Error::missing("value"));
            }
        }
        for (amount, name) in [(self.value, "value"), (self.net_revenue, "net_revenue"), (self.predicted_ltv, "predicted_ltv")] {
            if amount.is_some() && self.currency.is_none() {
                return Err(Error::field(ErrorCode::MissingField, "currency", format!("is required when {name} is given")));
            }
        }
        Ok(())
    }
}

/// `items`: a list of at most {MAX_ITEMS} line items; absent and `null` are none.
fn parse_items<'a, S: Source<'a>>(items: Option<S>) -> Result<Vec<Item<'a>>> {
    Ok(match &items {
        None => Vec::new(),
        Some(list) => match read(list, "items")? {
            Raw::Null => Vec::new(),
            Raw::List => {
                if list.list_len() > MAX_ITEMS {
                    return Err(Error::field(ErrorCode::TooLarge, "items", format!("must have at most {MAX_ITEMS} entries")));
                }
                let mut items = Vec::with_capacity(list.list_len());
                list.each_item(&mut |i, raw| {
                    items.push(parse_item(&raw, i)?);
                    Ok(())
                })?;
                items
            }
            _ => return Err(Error::wrong_type("items", "a list")),
        },
    })
}

/// `customer`: the known customer fields, each one value or a list of values.
fn parse_customer<'a, S: Source<'a>>(customer: Option<S>) -> Result<Customer<'a>> {
    Ok(match customer.as_ref().filter(|c| !matches!(c.raw(), Ok(Raw::Null))) {
        None => Customer::default(),
        Some(c) => {
            if !matches!(read(c, "customer")?, Raw::Object) {
                return Err(Error::wrong_type("customer", "an object"));
            }
            let mut values = Vec::with_capacity(crate::settings::CUSTOMER_FIELDS.len());
            c.each_entry(&mut |key, raw| {
                let key = key.map_err(|e| e.at("customer"))?;
                let field = key_index(&CUSTOMER_KEYS, key).map(|i| crate::settings::CUSTOMER_FIELDS[i]).ok_or_else(|| {
                    Error::field(ErrorCode::UnknownField, crate::error::key_path("customer.", key), "is not a known field")
                })?;
                let vals = customer_values(&raw, field.input_name()).map_err(|e| e.within("customer."))?;
                if !vals.is_empty() {
                    values.push((field, vals));
                }
                Ok(())
            })?;
            Customer { values }
        }
    })
}

/// `browser`: IP, user agent and the `_fbp`/`_fbc`/`fbclid` identifiers.
fn parse_browser<'a, S: Source<'a>>(browser: Option<S>) -> Result<Browser<'a>> {
    Ok(match browser.as_ref().filter(|b| !matches!(b.raw(), Ok(Raw::Null))) {
        None => Browser::default(),
        Some(b) => {
            let [ip, user_agent, fbp, fbc, fbclid] = slots(b, &BROWSER_KEYS, "browser", "browser.")?;
            let nonempty = |v: Option<S>, key: &str, max: usize| -> Result<Option<Cow<'a, str>>> {
                let v = opt_str(v.as_ref(), key, max).map_err(|e| e.within("browser."))?.map(trim_cow).filter(|s| !s.is_empty());
                if let Some(s) = &v {
                    if has_control(s) {
                        return Err(Error::invalid(format!("browser.{key}"), "must not contain control characters"));
                    }
                }
                Ok(v)
            };
            let ip = nonempty(ip, "ip", 64)?;
            if let Some(ip) = &ip {
                if ip.parse::<std::net::IpAddr>().is_err() {
                    return Err(Error::invalid("browser.ip", "must be one IPv4 or IPv6 address"));
                }
            }
            Browser {
                ip,
                user_agent: nonempty(user_agent, "user_agent", MAX_TEXT_BYTES)?,
                fbp: nonempty(fbp, "fbp", 1024)?,
                fbc: nonempty(fbc, "fbc", 1024)?,
                fbclid: nonempty(fbclid, "fbclid", 1024)?,
            }
        }
    })
}

/// `consent`: the shopper's marketing consent and Limited Data Use.
fn parse_consent<'a, S: Source<'a>>(consent: Option<S>) -> Result<Consent> {
    Ok(match consent.as_ref().filter(|c| !matches!(c.raw(), Ok(Raw::Null))) {
        None => Consent { marketing: Marketing::Unknown, ldu: None },
        Some(c) => {
            let [marketing, ldu] = slots(c, &CONSENT_KEYS, "consent", "consent.")?;
            let marketing = match present(marketing.as_ref(), "consent.marketing")? {
                None => Marketing::Unknown,
                Some(Raw::Str(s)) => match s.as_ref() {
                    "granted" => Marketing::Granted,
                    "denied" => Marketing::Denied,
                    "unknown" => Marketing::Unknown,
                    _ => return Err(Error::invalid("consent.marketing", "must be \"granted\", \"denied\" or \"unknown\"")),
                },
                Some(_) => return Err(Error::wrong_type("consent.marketing", "a string")),
            };
            let ldu = match present(ldu.as_ref(), "consent.ldu")? {
                None => None,
                Some(Raw::Bool(b)) => Some(b),
                Some(_) => return Err(Error::wrong_type("consent.ldu", "true, false or null")),
            };
            Consent { marketing, ldu }
        }
    })
}

fn parse_item<'a, S: Source<'a>>(raw: &S, i: usize) -> Result<Item<'a>> {
    // Paths are built only on the error path: `items[3].price` (and `items[3]`
    // itself, from the empty path, when it is not an object).
    parse_item_fields(raw).map_err(|e| e.within(&format!("items[{i}].")))
}

fn parse_item_fields<'a, S: Source<'a>>(raw: &S) -> Result<Item<'a>> {
    let [id, sku, variant_id, quantity, price, title, category] = slots(raw, &ITEM_KEYS, "", "")?;
    let id = opt_id(id.as_ref(), "id")?.ok_or_else(|| Error::missing("id"))?;
    let quantity = match present(quantity.as_ref(), "quantity")? {
        None => 1,
        Some(Raw::Int(q)) if q < 1 => return Err(Error::invalid("quantity", "must be at least 1")),
        Some(Raw::Int(q)) if q > 1_000_000 => return Err(Error::invalid("quantity", "must be at most 1000000")),
        Some(Raw::Int(q)) => q as u32,
        Some(_) => return Err(Error::wrong_type("quantity", "a whole number")),
    };
    Ok(Item {
        id,
        sku: opt_id(sku.as_ref(), "sku")?,
        variant_id: opt_id(variant_id.as_ref(), "variant_id")?,
        quantity,
        price: opt_money(price.as_ref(), "price")?,
        title: opt_str(title.as_ref(), "title", MAX_TEXT_BYTES)?,
        category: opt_str(category.as_ref(), "category", MAX_TEXT_BYTES)?,
    })
}
