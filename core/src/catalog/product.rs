//! A product in shop terms (one JSON object per line, see `docs/catalog.md`),
//! validated into Meta's catalog fields.
//!
//! Validation stops at the first problem and returns a typed [`Error`] that
//! names the field and never echoes its value. [`Product::meta_fields`] turns a
//! valid product into Meta's field map, for feeds and for the catalog batch API.

use serde_json::{Map, Value};

use super::ContentIdField;
use crate::error::{json_syntax, key_path, Error, ErrorCode, Result};
use crate::event::check_id;

/// Meta's documented maximum length of `title`, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Meta's documented maximum length of `description`, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 9999;
/// Longest URL accepted (`link`, `image_link`, additional images), in bytes.
pub const MAX_URL_BYTES: usize = 4096;
/// Most additional images per product (Meta's limit).
pub const MAX_ADDITIONAL_IMAGES: usize = 20;
/// Longest short text (`brand`, `google_product_category`), in characters.
pub const MAX_SHORT_TEXT_CHARS: usize = 750;

/// The keys a product line may have.
pub const PRODUCT_KEYS: &[&str] = &[
    "id",
    "sku",
    "variant_id",
    "item_group_id",
    "parent_id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "sale_price",
    "currency",
    "link",
    "image_link",
    "additional_image_links",
    "brand",
    "google_product_category",
    "inventory",
];

/// Meta's availability values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    InStock,
    OutOfStock,
    Preorder,
    AvailableForOrder,
    Discontinued,
}

impl Availability {
    /// Meta's spelling.
    pub fn as_meta(self) -> &'static str {
        match self {
            Availability::InStock => "in stock",
            Availability::OutOfStock => "out of stock",
            Availability::Preorder => "preorder",
            Availability::AvailableForOrder => "available for order",
            Availability::Discontinued => "discontinued",
        }
    }

    /// Accepts Meta's spelling and common shop spellings: case, `_`, `-` and
    /// spaces do not matter (`in_stock`, `InStock`, `in-stock`, `instock`),
    /// plus `available`, `sold_out`, `pre_order`, `backorder`.
    pub fn parse(s: &str) -> Option<Availability> {
        if s.len() > 64 {
            return None;
        }
        let key: String = s.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).flat_map(char::to_lowercase).collect();
        Some(match key.as_str() {
            "instock" | "available" => Availability::InStock,
            "outofstock" | "soldout" | "unavailable" => Availability::OutOfStock,
            "preorder" => Availability::Preorder,
            "availablefororder" | "backorder" | "onbackorder" => Availability::AvailableForOrder,
            "discontinued" => Availability::Discontinued,
            _ => return None,
        })
    }
}

/// Meta's condition values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    New,
    Refurbished,
    Used,
}

impl Condition {
    /// Meta's spelling.
    pub fn as_meta(self) -> &'static str {
        match self {
            Condition::New => "new",
            Condition::Refurbished => "refurbished",
            Condition::Used => "used",
        }
    }

    fn parse(s: &str) -> Option<Condition> {
        match s.trim().to_ascii_lowercase().as_str() {
            "new" => Some(Condition::New),
            "refurbished" => Some(Condition::Refurbished),
            "used" => Some(Condition::Used),
            _ => None,
        }
    }
}

/// A price: a canonical non-negative decimal and an ISO 4217 currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    /// Digits with an optional fraction, e.g. `"12.99"`.
    pub amount: String,
    /// Upper-case ISO 4217 code.
    pub currency: String,
}

impl Price {
    /// Meta's feed spelling: `"12.99 EUR"`.
    pub fn to_meta(&self) -> String {
        format!("{} {}", self.amount, self.currency)
    }
}

/// A validated product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    pub sku: Option<String>,
    pub variant_id: Option<String>,
    /// The parent product of a variant (`item_group_id`, alias `parent_id`).
    pub item_group_id: Option<String>,
    pub title: String,
    pub description: String,
    pub availability: Availability,
    pub condition: Condition,
    pub price: Price,
    pub sale_price: Option<Price>,
    pub link: String,
    pub image_link: String,
    pub additional_image_links: Vec<String>,
    pub brand: String,
    pub google_product_category: Option<String>,
    pub inventory: Option<u64>,
}

impl Product {
    /// Parses and validates one product line.
    pub fn from_json(text: &str) -> Result<Product> {
        let value: Value = serde_json::from_str(text).map_err(|e| json_syntax("product", &e))?;
        Product::from_value(&value)
    }

    /// Validates a product from a JSON value (must be an object).
    pub fn from_value(value: &Value) -> Result<Product> {
        let m = value.as_object().ok_or_else(|| Error::wrong_type("product", "a JSON object"))?;
        Product::from_map(m)
    }

    fn from_map(m: &Map<String, Value>) -> Result<Product> {
        for key in m.keys() {
            if !PRODUCT_KEYS.contains(&key.as_str()) {
                return Err(Error::field(ErrorCode::UnknownField, key_path("", key), "is not a product field"));
            }
        }
        let id = id_field(m, "id")?.ok_or_else(|| Error::missing("id"))?;
        let sku = id_field(m, "sku")?;
        let variant_id = id_field(m, "variant_id")?;
        let group = id_field(m, "item_group_id")?;
        let parent = id_field(m, "parent_id")?;
        let item_group_id = match (group, parent) {
            (Some(g), Some(p)) if g != p => return Err(Error::invalid("parent_id", "differs from item_group_id (give one of them)")),
            (g, p) => g.or(p),
        };
        let title = text_field(m, "title", MAX_TITLE_CHARS)?.ok_or_else(|| Error::missing("title"))?;
        let description = text_field(m, "description", MAX_DESCRIPTION_CHARS)?.ok_or_else(|| Error::missing("description"))?;
        let availability = match str_field(m, "availability")? {
            None => return Err(Error::missing("availability")),
            Some(s) => Availability::parse(s).ok_or_else(|| {
                Error::invalid(
                    "availability",
                    "must be one of \"in stock\", \"out of stock\", \"preorder\", \"available for order\", \"discontinued\" (or a shop spelling such as \"in_stock\")",
                )
            })?,
        };
        let condition = match str_field(m, "condition")? {
            None => Condition::New,
            Some(s) => Condition::parse(s).ok_or_else(|| Error::invalid("condition", "must be \"new\", \"refurbished\" or \"used\""))?,
        };
        let currency = match str_field(m, "currency")? {
            None => return Err(Error::missing("currency")),
            Some(c) => parse_currency(c).ok_or_else(|| Error::invalid("currency", "must be an ISO 4217 currency code such as \"EUR\""))?,
        };
        let price = match m.get("price") {
            None | Some(Value::Null) => return Err(Error::missing("price")),
            Some(v) => Price { amount: parse_amount(v, "price")?, currency: currency.clone() },
        };
        let sale_price = match m.get("sale_price") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Price { amount: parse_amount(v, "sale_price")?, currency }),
        };
        let link = url_field(m, "link")?.ok_or_else(|| Error::missing("link"))?;
        let image_link = url_field(m, "image_link")?.ok_or_else(|| Error::missing("image_link"))?;
        let additional_image_links = match m.get("additional_image_links") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > MAX_ADDITIONAL_IMAGES {
                    return Err(Error::field(
                        ErrorCode::TooLarge,
                        "additional_image_links",
                        format!("must have at most {MAX_ADDITIONAL_IMAGES} images"),
                    ));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("additional_image_links[{i}]");
                    let s = item.as_str().ok_or_else(|| Error::wrong_type(&path, "a string"))?;
                    out.push(check_url(s, &path)?);
                }
                out
            }
            Some(_) => return Err(Error::wrong_type("additional_image_links", "a list of URLs")),
        };
        let brand = text_field(m, "brand", MAX_SHORT_TEXT_CHARS)?.ok_or_else(|| Error::missing("brand"))?;
        let google_product_category = text_field(m, "google_product_category", MAX_SHORT_TEXT_CHARS)?;
        let inventory = match m.get("inventory") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(q) => Some(q),
                None => return Err(Error::invalid("inventory", "must be a whole number, not negative")),
            },
            Some(_) => return Err(Error::wrong_type("inventory", "a whole number")),
        };
        Ok(Product {
            id,
            sku,
            variant_id,
            item_group_id,
            title,
            description,
            availability,
            condition,
            price,
            sale_price,
            link,
            image_link,
            additional_image_links,
            brand,
            google_product_category,
            inventory,
        })
    }

    /// The Meta content id under `mapping` (also the feed `id`); a missing
    /// mapped field is a typed error naming it.
    pub fn content_id(&self, mapping: ContentIdField) -> Result<&str> {
        match mapping {
            ContentIdField::Id => Ok(&self.id),
            ContentIdField::Sku => {
                self.sku.as_deref().ok_or_else(|| Error::field(ErrorCode::MissingField, "sku", "is required by the content_id setting"))
            }
            ContentIdField::VariantId => self
                .variant_id
                .as_deref()
                .ok_or_else(|| Error::field(ErrorCode::MissingField, "variant_id", "is required by the content_id setting")),
        }
    }

    /// Meta's catalog fields of this product, in feed column order. Every
    /// value is a string except `additional_image_link` (a list of URLs) and
    /// `inventory` (a number). Absent optional fields are left out.
    pub fn meta_fields(&self, mapping: ContentIdField) -> Result<Map<String, Value>> {
        let mut f = Map::new();
        f.insert("id".into(), Value::from(self.content_id(mapping)?));
        f.insert("title".into(), Value::from(self.title.as_str()));
        f.insert("description".into(), Value::from(self.description.as_str()));
        f.insert("availability".into(), Value::from(self.availability.as_meta()));
        f.insert("condition".into(), Value::from(self.condition.as_meta()));
        f.insert("price".into(), Value::from(self.price.to_meta()));
        f.insert("link".into(), Value::from(self.link.as_str()));
        f.insert("image_link".into(), Value::from(self.image_link.as_str()));
        f.insert("brand".into(), Value::from(self.brand.as_str()));
        if let Some(p) = &self.sale_price {
            f.insert("sale_price".into(), Value::from(p.to_meta()));
        }
        if let Some(g) = &self.item_group_id {
            f.insert("item_group_id".into(), Value::from(g.as_str()));
        }
        if let Some(c) = &self.google_product_category {
            f.insert("google_product_category".into(), Value::from(c.as_str()));
        }
        if !self.additional_image_links.is_empty() {
            f.insert("additional_image_link".into(), Value::from(self.additional_image_links.clone()));
        }
        if let Some(q) = self.inventory {
            f.insert("inventory".into(), Value::from(q));
        }
        Ok(f)
    }
}

fn str_field<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::wrong_type(key, "a string")),
    }
}

fn id_field(m: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    let s = match m.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => return Err(Error::wrong_type(key, "a string or a whole number")),
    };
    check_id(&s, key)?;
    if !s.chars().all(is_xml_char) {
        return Err(Error::invalid(key, "must not contain characters XML cannot carry (U+FFFE, U+FFFF)"));
    }
    Ok(Some(s))
}

/// Whether `c` may appear in an XML 1.0 document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Free text: trimmed, not blank, at most `max` characters, and no character
/// that XML 1.0 forbids (NUL and the other C0 controls but tab/CR/LF, U+FFFE, U+FFFF).
fn text_field(m: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>> {
    let Some(s) = str_field(m, key)? else { return Ok(None) };
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::invalid(key, "must not be blank"));
    }
    // Count lazily: a 10 MB title stops at max + 1.
    if s.chars().nth(max).is_some() {
        return Err(Error::field(ErrorCode::TooLarge, key, format!("must be at most {max} characters")));
    }
    if !s.chars().all(is_xml_char) {
        return Err(Error::invalid(key, "must not contain control characters (NUL, C0 controls, U+FFFE/U+FFFF)"));
    }
    Ok(Some(s.to_string()))
}

fn url_field(m: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match str_field(m, key)? {
        None => Ok(None),
        Some(s) => check_url(s, key).map(Some),
    }
}

/// An absolute http(s) URL with a host; returns the parsed, serialized form.
fn check_url(s: &str, path: &str) -> Result<String> {
    if s.len() > MAX_URL_BYTES {
        return Err(Error::field(ErrorCode::TooLarge, path, format!("must be at most {MAX_URL_BYTES} bytes")));
    }
    let parsed =
        url::Url::parse(s.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()));
    match parsed {
        Some(u) => Ok(u.to_string()),
        None => Err(Error::invalid(path, "must be an absolute http(s) URL")),
    }
}

/// Money: a decimal string (`"12.99"`) or a JSON number; finite, not negative, below 1e15.
fn parse_amount(v: &Value, path: &str) -> Result<String> {
    const BAD: &str = "must be a non-negative decimal such as \"12.99\" (no NaN, infinity, sign or exponent)";
    match v {
        Value::String(s) => {
            let s = s.trim();
            let (int, frac) = match s.split_once('.') {
                Some((i, f)) => (i, Some(f)),
                None => (s, None),
            };
            let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            if s.len() > 32 || !digits(int) || frac.is_some_and(|f| !digits(f)) {
                return Err(Error::invalid(path, BAD));
            }
            let int = int.trim_start_matches('0');
            if int.len() > 15 {
                return Err(Error::invalid(path, "is too large"));
            }
            let int = if int.is_empty() { "0" } else { int };
            Ok(match frac {
                Some(f) => format!("{int}.{f}"),
                None => int.to_string(),
            })
        }
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u >= 1_000_000_000_000_000 {
                    return Err(Error::invalid(path, "is too large"));
                }
                return Ok(u.to_string());
            }
            if n.is_i64() {
                return Err(Error::invalid(path, "must not be negative"));
            }
            let f = n.as_f64().filter(|f| f.is_finite()).ok_or_else(|| Error::invalid(path, BAD))?;
            if f < 0.0 {
                return Err(Error::invalid(path, "must not be negative"));
            }
            if f >= 1e15 {
                return Err(Error::invalid(path, "is too large"));
            }
            // Shortest round-trip form; below 1e15 and not tiny enough for an exponent in practice.
            let s = format!("{f}");
            if s.contains(['e', 'E']) {
                return Err(Error::invalid(path, BAD));
            }
            Ok(s)
        }
        _ => Err(Error::wrong_type(path, "a decimal string or a number")),
    }
}

/// Active ISO 4217 currency codes (plus XAU-style funds are excluded on purpose).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB",
    "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK",
    "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN",
    "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND",
    "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF",
    "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 code, any case, surrounding spaces allowed; returns it upper-case.
pub fn parse_currency(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() != 3 {
        return None;
    }
    let upper = s.to_ascii_uppercase();
    ISO_4217.binary_search(&upper.as_str()).ok().map(|_| upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn valid() -> Value {
        json!({
            "id": "p1", "title": "Blue mug", "description": "A mug.", "availability": "in_stock",
            "price": "12.99", "currency": "eur", "link": "https://shop.example/p1",
            "image_link": "https://shop.example/p1.jpg", "brand": "Acme"
        })
    }

    fn with(key: &str, v: Value) -> Value {
        let mut p = valid();
        p[key] = v;
        p
    }

    fn err(v: Value) -> Error {
        Product::from_value(&v).unwrap_err()
    }

    #[test]
    fn currency_list_is_sorted() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn valid_product_maps_to_meta_fields() {
        let p = Product::from_value(&valid()).unwrap();
        let f = p.meta_fields(ContentIdField::Id).unwrap();
        assert_eq!(f["id"], "p1");
        assert_eq!(f["availability"], "in stock");
        assert_eq!(f["condition"], "new");
        assert_eq!(f["price"], "12.99 EUR");
        assert!(!f.contains_key("sale_price"));
        assert_eq!(p.content_id(ContentIdField::Sku).unwrap_err().field_name(), Some("sku"));
    }

    #[test]
    fn availability_spellings() {
        for (s, want) in [
            ("in stock", "in stock"),
            ("in_stock", "in stock"),
            ("InStock", "in stock"),
            ("instock", "in stock"),
            ("out-of-stock", "out of stock"),
            ("sold_out", "out of stock"),
            ("pre_order", "preorder"),
            ("backorder", "available for order"),
            ("available for order", "available for order"),
            ("DISCONTINUED", "discontinued"),
        ] {
            assert_eq!(Availability::parse(s).unwrap().as_meta(), want, "{s}");
        }
        let e = err(with("availability", json!("maybe")));
        assert_eq!((e.code(), e.field_name()), (ErrorCode::InvalidValue, Some("availability")));
    }

    #[test]
    fn each_error_names_its_field() {
        let cases: Vec<(Value, ErrorCode, &str)> = vec![
            (with("id", Value::Null), ErrorCode::MissingField, "id"),
            (with("title", Value::Null), ErrorCode::MissingField, "title"),
            (with("brand", json!(3)), ErrorCode::WrongType, "brand"),
            (with("price", json!("NaN")), ErrorCode::InvalidValue, "price"),
            (with("price", json!("-1")), ErrorCode::InvalidValue, "price"),
            (with("price", json!(-1.5)), ErrorCode::InvalidValue, "price"),
            (with("price", json!("1e5")), ErrorCode::InvalidValue, "price"),
            (with("price", json!("inf")), ErrorCode::InvalidValue, "price"),
            (with("price", json!("9999999999999999")), ErrorCode::InvalidValue, "price"),
            (with("sale_price", json!("abc")), ErrorCode::InvalidValue, "sale_price"),
            (with("currency", json!("EURO")), ErrorCode::InvalidValue, "currency"),
            (with("currency", json!("XYZ")), ErrorCode::InvalidValue, "currency"),
            (with("link", json!("/p1")), ErrorCode::InvalidValue, "link"),
            (with("link", json!("javascript:alert(1)")), ErrorCode::InvalidValue, "link"),
            (with("image_link", json!("ftp://x.example/a.jpg")), ErrorCode::InvalidValue, "image_link"),
            (with("title", json!("t".repeat(201))), ErrorCode::TooLarge, "title"),
            (with("description", json!("d".repeat(10_000))), ErrorCode::TooLarge, "description"),
            (with("title", json!("a\u{0}b")), ErrorCode::InvalidValue, "title"),
            (with("title", json!("a\u{1b}b")), ErrorCode::InvalidValue, "title"),
            (with("title", json!("a\u{FFFF}")), ErrorCode::InvalidValue, "title"),
            (with("title", json!("   ")), ErrorCode::InvalidValue, "title"),
            (with("inventory", json!(-1)), ErrorCode::InvalidValue, "inventory"),
            (with("sku", json!("a\u{FFFE}")), ErrorCode::InvalidValue, "sku"),
            (with("id", json!("a\u{85}b")), ErrorCode::InvalidValue, "id"),
            (with("condition", json!("broken")), ErrorCode::InvalidValue, "condition"),
            (with("colour", json!("red")), ErrorCode::UnknownField, "colour"),
            (
                with("additional_image_links", json!(["https://a.example/1.jpg", "nope"])),
                ErrorCode::InvalidValue,
                "additional_image_links[1]",
            ),
        ];
        for (v, code, field) in cases {
            let e = err(v);
            assert_eq!((e.code(), e.field_name()), (code, Some(field)), "{e}");
        }
    }

    #[test]
    fn errors_never_echo_values() {
        let secret = "jane@example.com</script>";
        for key in ["title", "link", "price", "currency", "availability"] {
            let e = err(with(key, json!(format!("{secret}{}", "x".repeat(300)))));
            assert!(!e.to_string().contains("jane"), "{e}");
            assert!(!format!("{e:?}").contains("jane"));
        }
        let e = err(with(secret, json!(1)));
        assert!(!e.to_string().contains("jane"));
    }

    #[test]
    fn ten_megabyte_title_is_rejected_quickly() {
        let e = err(with("title", json!("x".repeat(10 * 1024 * 1024))));
        assert_eq!(e.code(), ErrorCode::TooLarge);
    }

    #[test]
    fn hostile_title_is_valid_data() {
        let p = Product::from_value(&with("title", json!("</script><b>]]>&\"'"))).unwrap();
        assert_eq!(p.title, "</script><b>]]>&\"'");
    }

    #[test]
    fn prices_are_canonical() {
        let amount = |v: Value| Product::from_value(&with("price", v)).unwrap().price.amount;
        assert_eq!(amount(json!("007.50")), "7.50");
        assert_eq!(amount(json!(12)), "12");
        assert_eq!(amount(json!(12.5)), "12.5");
        assert_eq!(amount(json!(" 0 ")), "0");
    }

    #[test]
    fn parent_id_is_item_group_id() {
        let p = Product::from_value(&with("parent_id", json!(77))).unwrap();
        assert_eq!(p.item_group_id.as_deref(), Some("77"));
        let mut v = with("parent_id", json!("a"));
        v["item_group_id"] = json!("b");
        assert_eq!(err(v).field_name(), Some("parent_id"));
    }
}
