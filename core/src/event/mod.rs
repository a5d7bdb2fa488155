//! Event input in shop terms (docs/spec.md §3): strict parsing and validation.
//!
//! The input is walked by hand from a `serde_json::Value` rather than derived
//! with serde, so that every error names the exact field path
//! (`items[3].price`) and never echoes the offending value, which may be
//! personal data.

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

use crate::error::{Error, ErrorCode, Result};

mod fields;
pub mod json;
mod parse;
mod source;
#[cfg(test)]
mod tests;

pub(crate) use fields::{check_id, is_valid_event_name};
pub use source::{Key, Raw, Source, Unreadable};

use crate::normalize::Field;

/// Largest event input accepted, in bytes of JSON.
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;
/// Largest id (order id, event id, item id), in bytes.
pub const MAX_ID_BYTES: usize = 255;
/// Largest number of line items.
pub const MAX_ITEMS: usize = 1000;
/// Largest free-text value (title, category, URL, user agent), in bytes.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;
/// Largest single customer value, in bytes.
pub const MAX_CUSTOMER_VALUE_BYTES: usize = 1024;
/// Most values for one multi-valued customer field.
pub const MAX_CUSTOMER_VALUES: usize = 16;
/// Events older than this are rejected by Meta (and so here).
pub const MAX_AGE_SECONDS: i64 = 7 * 24 * 3600;
/// How far in the future an event time may be (clock skew between hosts).
pub const MAX_FUTURE_SECONDS: i64 = 5 * 60;

/// Meta's standard events. Anything else is a custom event.
pub const STANDARD_EVENTS: &[&str] = &[
    "AddPaymentInfo",
    "AddToCart",
    "AddToWishlist",
    "CompleteRegistration",
    "Contact",
    "CustomizeProduct",
    "Donate",
    "FindLocation",
    "InitiateCheckout",
    "Lead",
    "PageView",
    "Purchase",
    "Schedule",
    "Search",
    "StartTrial",
    "SubmitApplication",
    "Subscribe",
    "ViewContent",
];

/// The shopper's marketing consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Marketing {
    Denied,
    Unknown,
    Granted,
}

impl Marketing {
    pub fn as_str(self) -> &'static str {
        match self {
            Marketing::Denied => "denied",
            Marketing::Unknown => "unknown",
            Marketing::Granted => "granted",
        }
    }
}

/// Where the conversion happened (Meta's `action_source`). Only website events
/// have a page, a pixel and a browser; the others (a till receipt, a phone order,
/// a renewal) are server events alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ActionSource {
    #[default]
    Website,
    PhysicalStore,
    SystemGenerated,
    PhoneCall,
    Email,
    Chat,
    App,
    Other,
}

impl ActionSource {
    /// Every value, in the order the input documentation lists them.
    pub const ALL: [ActionSource; 8] = [
        ActionSource::Website,
        ActionSource::PhysicalStore,
        ActionSource::SystemGenerated,
        ActionSource::PhoneCall,
        ActionSource::Email,
        ActionSource::Chat,
        ActionSource::App,
        ActionSource::Other,
    ];

    /// Meta's spelling, which is also the input's.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionSource::Website => "website",
            ActionSource::PhysicalStore => "physical_store",
            ActionSource::SystemGenerated => "system_generated",
            ActionSource::PhoneCall => "phone_call",
            ActionSource::Email => "email",
            ActionSource::Chat => "chat",
            ActionSource::App => "app",
            ActionSource::Other => "other",
        }
    }

    /// The value spelled `s`, if it is one.
    pub fn parse(s: &str) -> Option<ActionSource> {
        ActionSource::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How a purchase reached the customer (Meta's `custom_data.delivery_category`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryCategory {
    InStore,
    Curbside,
    HomeDelivery,
}

impl DeliveryCategory {
    pub const ALL: [DeliveryCategory; 3] = [DeliveryCategory::InStore, DeliveryCategory::Curbside, DeliveryCategory::HomeDelivery];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryCategory::InStore => "in_store",
            DeliveryCategory::Curbside => "curbside",
            DeliveryCategory::HomeDelivery => "home_delivery",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryCategory> {
        DeliveryCategory::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// The customer's relation to the business (Meta's `custom_data.customer_segmentation`):
/// the nine values of the Conversions API's parameter reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerSegmentation {
    NewToBusiness,
    NewToBusinessLine,
    NewToProductArea,
    NewToMedium,
    ExistingToBusiness,
    ExistingToBusinessLine,
    ExistingToProductArea,
    ExistingToMedium,
    InLoyaltyProgram,
}

impl CustomerSegmentation {
    pub const ALL: [CustomerSegmentation; 9] = [
        CustomerSegmentation::NewToBusiness,
        CustomerSegmentation::NewToBusinessLine,
        CustomerSegmentation::NewToProductArea,
        CustomerSegmentation::NewToMedium,
        CustomerSegmentation::ExistingToBusiness,
        CustomerSegmentation::ExistingToBusinessLine,
        CustomerSegmentation::ExistingToProductArea,
        CustomerSegmentation::ExistingToMedium,
        CustomerSegmentation::InLoyaltyProgram,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerSegmentation::NewToBusiness => "new_customer_to_business",
            CustomerSegmentation::NewToBusinessLine => "new_customer_to_business_line",
            CustomerSegmentation::NewToProductArea => "new_customer_to_product_area",
            CustomerSegmentation::NewToMedium => "new_customer_to_medium",
            CustomerSegmentation::ExistingToBusiness => "existing_customer_to_business",
            CustomerSegmentation::ExistingToBusinessLine => "existing_customer_to_business_line",
            CustomerSegmentation::ExistingToProductArea => "existing_customer_to_product_area",
            CustomerSegmentation::ExistingToMedium => "existing_customer_to_medium",
            CustomerSegmentation::InLoyaltyProgram => "customer_in_loyalty_program",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerSegmentation> {
        CustomerSegmentation::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Consent carried by one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consent {
    pub marketing: Marketing,
    /// The shopper's Limited Data Use flag; `None` follows the merchant setting.
    pub ldu: Option<bool>,
}

/// One line item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item<'a> {
    pub id: Cow<'a, str>,
    /// The shop SKU, when the `content_id` setting maps content ids to SKUs.
    pub sku: Option<Cow<'a, str>>,
    /// The variant id, when the `content_id` setting maps content ids to variants.
    pub variant_id: Option<Cow<'a, str>>,
    pub quantity: u32,
    pub price: Option<f64>,
    pub title: Option<Cow<'a, str>>,
    pub category: Option<Cow<'a, str>>,
}

/// The raw values of one customer field: one value, the usual case, without
/// an allocation of its own. Reads as a slice.
#[derive(Clone, Debug)]
pub enum Values<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl<'a> std::ops::Deref for Values<'a> {
    type Target = [Cow<'a, str>];
    fn deref(&self) -> &[Cow<'a, str>] {
        match self {
            Values::One(v) => std::slice::from_ref(v),
            Values::Many(v) => v,
        }
    }
}

impl Values<'_> {
    /// The same values, owning their text.
    pub fn into_owned(self) -> Values<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            Values::One(v) => Values::One(own(v)),
            Values::Many(v) => Values::Many(v.into_iter().map(own).collect()),
        }
    }
}

/// Equal when the values are: one value equals a list of that one value.
impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Values<'_> {}

/// Raw customer data. Personal data: `Debug` prints only which fields are present.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Customer<'a> {
    /// Raw values per field, in input order (multi-valued fields keep every value).
    /// One value, the usual case, is stored inline: no allocation per field.
    pub values: Vec<(Field, Values<'a>)>,
}

impl<'a> Customer<'a> {
    /// The raw values of `field`.
    pub fn get(&self, field: Field) -> &[Cow<'a, str>] {
        self.values.iter().find(|(f, _)| *f == field).map(|(_, v)| &**v).unwrap_or(&[])
    }
}

impl fmt::Debug for Customer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<&str> = self.values.iter().map(|(k, _)| k.input_name()).collect();
        f.debug_struct("Customer").field("present", &present).finish_non_exhaustive()
    }
}

/// Browser context. The IP address and user agent are personal data: `Debug` redacts them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Browser<'a> {
    pub ip: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub fbp: Option<Cow<'a, str>>,
    pub fbc: Option<Cow<'a, str>>,
    pub fbclid: Option<Cow<'a, str>>,
}

impl fmt::Debug for Browser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("ip", &self.ip.as_ref().map(|_| "<redacted>"))
            .field("user_agent", &self.user_agent.as_ref().map(|_| "<redacted>"))
            .field("fbp", &self.fbp.as_ref().map(|_| "<redacted>"))
            .field("fbc", &self.fbc.as_ref().map(|_| "<redacted>"))
            .field("fbclid", &self.fbclid.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A parsed, shape-checked event (times are checked by the tracker, which knows "now").
///
/// Its text borrows from what it was parsed from where it can (`'a`): the JSON
/// text, a `serde_json::Value`, or (in the Python binding) the `str` objects of
/// the event dict, so that parsing copies no string. [`EventInput::into_owned`]
/// detaches it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventInput<'a> {
    pub event_name: Cow<'a, str>,
    pub event_time: Option<i64>,
    pub order_id: Option<Cow<'a, str>>,
    pub event_id: Option<Cow<'a, str>>,
    pub event_source_url: Option<Cow<'a, str>>,
    /// ISO-4217, uppercase.
    pub currency: Option<Cow<'a, str>>,
    pub value: Option<f64>,
    /// Revenue after costs, in `currency` (server copy only: the merchant's figure).
    pub net_revenue: Option<f64>,
    /// Predicted lifetime value of the customer, in `currency` (server copy only).
    pub predicted_ltv: Option<f64>,
    pub delivery_category: Option<DeliveryCategory>,
    pub customer_segmentation: Option<CustomerSegmentation>,
    /// Where the conversion happened; only `website` events have a pixel.
    pub action_source: ActionSource,
    pub items: Vec<Item<'a>>,
    pub customer: Customer<'a>,
    pub browser: Browser<'a>,
    pub consent: Consent,
}

pub use crate::text::json_type_name;

impl<'a> EventInput<'a> {
    /// Whether this is one of Meta's standard events (else `trackCustom`).
    pub fn is_standard(&self) -> bool {
        STANDARD_EVENTS.contains(&self.event_name.as_ref())
    }

    /// Whether the event happened on the shop's website (and so has a page and a pixel).
    pub fn is_website(&self) -> bool {
        self.action_source == ActionSource::Website
    }

    /// The same event, owning all its text (to keep it beyond what it was parsed from).
    pub fn into_owned(self) -> EventInput<'static> {
        let own = |s: Cow<'a, str>| -> Cow<'static, str> { Cow::Owned(s.into_owned()) };
        let own_opt = |s: Option<Cow<'a, str>>| s.map(own);
        EventInput {
            event_name: own(self.event_name),
            event_time: self.event_time,
            order_id: own_opt(self.order_id),
            event_id: own_opt(self.event_id),
            event_source_url: own_opt(self.event_source_url),
            currency: own_opt(self.currency),
            value: self.value,
            net_revenue: self.net_revenue,
            predicted_ltv: self.predicted_ltv,
            delivery_category: self.delivery_category,
            customer_segmentation: self.customer_segmentation,
            action_source: self.action_source,
            items: self
                .items
                .into_iter()
                .map(|i| Item {
                    id: own(i.id),
                    sku: own_opt(i.sku),
                    variant_id: own_opt(i.variant_id),
                    quantity: i.quantity,
                    price: i.price,
                    title: own_opt(i.title),
                    category: own_opt(i.category),
                })
                .collect(),
            customer: Customer { values: self.customer.values.into_iter().map(|(f, v)| (f, v.into_owned())).collect() },
            browser: Browser {
                ip: own_opt(self.browser.ip),
                user_agent: own_opt(self.browser.user_agent),
                fbp: own_opt(self.browser.fbp),
                fbc: own_opt(self.browser.fbc),
                fbclid: own_opt(self.browser.fbclid),
            },
            consent: self.consent,
        }
    }
}

impl Item<'_> {
    /// Meta's content id of this item under `mapping` (the `content_id` setting);
    /// a missing mapped field is an error naming `items[i].sku` / `items[i].variant_id`.
    pub fn content_id(&self, mapping: crate::settings::ContentIdField, i: usize) -> Result<&str> {
        use crate::settings::ContentIdField as C;
        let (value, name) = match mapping {
            C::Id => (Some(self.id.as_ref()), "id"),
            C::Sku => (self.sku.as_deref(), "sku"),
            C::VariantId => (self.variant_id.as_deref(), "variant_id"),
        };
        value.ok_or_else(|| Error::field(ErrorCode::MissingField, format!("items[{i}].{name}"), "is required by the content_id setting"))
    }
}

impl EventInput<'_> {
    /// Checks that every item has the field the `content_id` setting maps to.
    pub fn check_content_ids(&self, mapping: crate::settings::ContentIdField) -> Result<()> {
        for (i, item) in self.items.iter().enumerate() {
            item.content_id(mapping, i)?;
        }
        Ok(())
    }
}

/// Checks `event_time` against `now` (Unix seconds).
pub fn check_event_time(event_time: i64, now: i64) -> Result<()> {
    if event_time < now - MAX_AGE_SECONDS {
        return Err(Error::field(ErrorCode::EventTimeOutOfRange, "event_time", "is more than 7 days old; Meta rejects such events"));
    }
    if event_time > now + MAX_FUTURE_SECONDS {
        return Err(Error::field(ErrorCode::EventTimeOutOfRange, "event_time", "is more than 5 minutes in the future"));
    }
    Ok(())
}
