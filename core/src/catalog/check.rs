//! Catalog check: which event items name a content id the catalog does not have.
//!
//! Products are read first and their feed ids (under the `content_id` mapping)
//! kept in a `HashSet<String>`: memory grows with the number of products (ids
//! only). Events are then streamed one line at a time.

use std::collections::HashSet;
use std::io::BufRead;

use serde_json::{json, Value};

use super::feed::{is_blank, parse_line, readable_id, Lines, ProductError, Record, RecordSource};
use super::product::Product;
use super::ContentIdField;
use crate::error::{Error, ErrorCode, Result};
use crate::event::EventInput;

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub content_id: ContentIdField,
    /// Keep at most this many details per list (the rest are counted).
    pub max_details: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { content_id: ContentIdField::Id, max_details: 100 }
    }
}

/// An event item whose content id is not in the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingItem {
    /// 1-based line in the events input.
    pub line: u64,
    /// Index in the event's `items`.
    pub item: usize,
    pub content_id: String,
}

/// What the check found.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    pub content_id: ContentIdField,
    /// Valid products (distinct feed ids) in the catalog.
    pub products: u64,
    pub product_errors: u64,
    pub product_error_details: Vec<ProductError>,
    pub events: u64,
    /// Event lines that are not valid events, or items without the mapped id field.
    pub event_errors: u64,
    pub event_error_details: Vec<ProductError>,
    pub items_checked: u64,
    pub items_missing: u64,
    pub missing: Vec<MissingItem>,
}

impl CheckReport {
    /// Whether every checked item is in the catalog and nothing was invalid.
    pub fn ok(&self) -> bool {
        self.items_missing == 0 && self.event_errors == 0 && self.product_errors == 0
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.ok(),
            "content_id": self.content_id.as_str(),
            "products": self.products,
            "product_errors": self.product_errors,
            "product_error_details": self.product_error_details.iter().map(ProductError::to_json).collect::<Vec<_>>(),
            "events": self.events,
            "event_errors": self.event_errors,
            "event_error_details": self.event_error_details.iter().map(ProductError::to_json).collect::<Vec<_>>(),
            "items_checked": self.items_checked,
            "items_missing": self.items_missing,
            "missing": self.missing.iter().map(|m| json!({"line": m.line, "item": m.item, "content_id": m.content_id})).collect::<Vec<_>>(),
        })
    }
}

/// Checks event items (`events`, JSON lines in the event input schema) against
/// the catalog (`products`, JSON lines in the product schema).
pub fn check_catalog<E: BufRead, P: BufRead>(events: E, products: P, opts: &CheckOptions) -> Result<CheckReport> {
    check_records(&mut Lines(events), &mut Lines(products), opts)
}

/// [`check_catalog`] from any record sources.
pub fn check_records<E: RecordSource + ?Sized, P: RecordSource + ?Sized>(
    events: &mut E,
    products: &mut P,
    opts: &CheckOptions,
) -> Result<CheckReport> {
    let mut report = CheckReport {
        content_id: opts.content_id,
        products: 0,
        product_errors: 0,
        product_error_details: Vec::new(),
        events: 0,
        event_errors: 0,
        event_error_details: Vec::new(),
        items_checked: 0,
        items_missing: 0,
        missing: Vec::new(),
    };
    let mut ids: HashSet<String> = HashSet::new();
    let mut buf = Vec::with_capacity(4096);
    let mut line: u64 = 0;
    loop {
        buf.clear();
        let Some(record) = products.next_record(&mut buf)? else { break };
        line += 1;
        let parsed = match record {
            Record::Line { too_long } => {
                if !too_long && is_blank(&buf) {
                    continue;
                }
                parse_line(&buf, too_long)
            }
            Record::Value(v) => Product::from_value(&v).map_err(|e| (readable_id(&v), e)),
            Record::Invalid(e) => Err((None, e)),
        };
        let outcome = parsed.and_then(|p| p.content_id(opts.content_id).map(str::to_string).map_err(|e| (Some(p.id.clone()), e)));
        match outcome {
            Ok(id) => {
                ids.insert(id);
            }
            Err((pid, e)) => {
                report.product_errors += 1;
                if report.product_error_details.len() < opts.max_details {
                    report.product_error_details.push(ProductError {
                        line,
                        product_id: pid,
                        code: e.code(),
                        field: e.field_name().map(str::to_string),
                        reason: e.reason().to_string(),
                    });
                }
            }
        }
    }
    report.products = ids.len() as u64;

    line = 0;
    loop {
        buf.clear();
        let Some(record) = events.next_record(&mut buf)? else { break };
        line += 1;
        let parsed = match record {
            Record::Line { too_long: true } => Err(Error::field(ErrorCode::TooLarge, "line", "is too long")),
            Record::Line { too_long: false } => {
                if is_blank(&buf) {
                    continue;
                }
                std::str::from_utf8(&buf)
                    .map_err(|_| Error::field(ErrorCode::InvalidUtf8, "line", "is not valid UTF-8"))
                    .and_then(EventInput::from_json)
            }
            Record::Value(v) => EventInput::from_value(&v).map(EventInput::into_owned),
            Record::Invalid(e) => Err(e),
        };
        report.events += 1;
        let fail = |report: &mut CheckReport, e: Error| {
            report.event_errors += 1;
            if report.event_error_details.len() < opts.max_details {
                report.event_error_details.push(ProductError {
                    line,
                    product_id: None,
                    code: e.code(),
                    field: e.field_name().map(str::to_string),
                    reason: e.reason().to_string(),
                });
            }
        };
        let event = match parsed {
            Ok(ev) => ev,
            Err(e) => {
                fail(&mut report, e);
                continue;
            }
        };
        for (i, item) in event.items.iter().enumerate() {
            match item.content_id(opts.content_id, i) {
                Ok(id) => {
                    report.items_checked += 1;
                    if !ids.contains(id) {
                        report.items_missing += 1;
                        if report.missing.len() < opts.max_details {
                            report.missing.push(MissingItem { line, item: i, content_id: id.to_string() });
                        }
                    }
                }
                Err(e) => fail(&mut report, e),
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(id: &str, sku: &str) -> String {
        json!({"id": id, "sku": sku, "title": "T", "description": "D", "availability": "in stock", "price": 1,
               "currency": "USD", "link": "https://s.example/", "image_link": "https://s.example/i.png", "brand": "B"})
        .to_string()
    }

    fn event(items: Value) -> String {
        json!({"event_name": "Purchase", "order_id": "1", "currency": "USD", "value": 2, "items": items}).to_string()
    }

    #[test]
    fn reports_missing_items_under_each_mapping() {
        let products = format!("{}\n{}\n{{bad\n", product("1", "A"), product("2", "B"));
        let events =
            format!("{}\n{}\nnot json\n", event(json!([{"id": "1", "sku": "A"}, {"id": "3", "sku": "B"}])), event(json!([{"id": "2"}])));
        let r = check_catalog(events.as_bytes(), products.as_bytes(), &CheckOptions::default()).unwrap();
        assert_eq!((r.products, r.product_errors, r.events, r.event_errors), (2, 1, 3, 1));
        assert_eq!((r.items_checked, r.items_missing), (3, 1));
        assert_eq!(r.missing, vec![MissingItem { line: 1, item: 1, content_id: "3".into() }]);
        assert!(!r.ok());

        let o = CheckOptions { content_id: ContentIdField::Sku, ..CheckOptions::default() };
        let r = check_catalog(events.as_bytes(), products.as_bytes(), &o).unwrap();
        assert_eq!((r.items_checked, r.items_missing), (2, 0));
        // The second event's item has no sku: a typed error naming items[0].sku.
        assert_eq!(r.event_error_details[0].field.as_deref(), Some("items[0].sku"));
        assert_eq!(r.event_error_details[0].line, 2);
    }
}
