//! Live catalog updates and the product feed, as the merchant's tracker offers
//! them: the pure catalog module and the delivery queue, wired to the settings.

use serde_json::{json, Value};

use crate::catalog::Product;
use crate::clock::now_ms;
use crate::delivery::catalog_queue::{delete_data, CatalogQueue, Method};
use crate::error::{Error, ErrorCode, Result};
use crate::tracker::Tracker;

/// Outbox meta key of the last feed export summary.
const CATALOG_LAST_EXPORT: &str = "catalog.last_export";

/// What `catalog_update` / `catalog_delete` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogChange {
    /// The catalog item id (the product's content id under the `content_id` setting).
    pub retailer_id: String,
    pub method: Method,
    /// A change of the same product was still queued and has been replaced by this one.
    pub coalesced: bool,
}

impl CatalogChange {
    pub fn to_json(&self) -> Value {
        json!({"retailer_id": self.retailer_id, "method": self.method.as_str(), "coalesced": self.coalesced, "queued": true})
    }
}

/// Live catalog updates. They need a `catalog_id`, an `access_token` and an
/// `outbox_path`, and work in every mode (`catalog_only` included) and whatever
/// `data_controls` says: product data is not customer data.
impl Tracker {
    /// Queues a product create or update. The product is validated as for the
    /// feed (the same typed, per-field errors) and sent with Meta's field names;
    /// its catalog id follows the `content_id` setting, as in events and feeds.
    /// A later change of the same product replaces this one if it is still queued.
    pub fn catalog_update(&self, product: &Value) -> Result<CatalogChange> {
        let product = Product::from_value(product)?;
        let fields = product.meta_fields(self.settings().content_id)?;
        let retailer_id = fields.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        self.queue_catalog_change(&retailer_id, Method::Update, &Value::Object(fields).to_string())
    }

    /// [`Tracker::catalog_update`] from JSON text.
    pub fn catalog_update_json(&self, product_json: &str) -> Result<CatalogChange> {
        let v: Value = serde_json::from_str(product_json).map_err(|e| crate::error::json_syntax("product", &e))?;
        self.catalog_update(&v)
    }

    /// Queues the removal of a product from the catalog, by its catalog id.
    pub fn catalog_delete(&self, retailer_id: &str) -> Result<CatalogChange> {
        crate::event::check_id(retailer_id, "product_id")?;
        self.queue_catalog_change(retailer_id, Method::Delete, &delete_data(retailer_id))
    }

    fn queue_catalog_change(&self, retailer_id: &str, method: Method, data: &str) -> Result<CatalogChange> {
        let settings = self.settings();
        let catalog_id = settings
            .catalog_id
            .as_deref()
            .ok_or_else(|| Error::field(ErrorCode::NotConfigured, "catalog_id", "is required by live catalog updates"))?;
        if settings.access_token.is_none() {
            return Err(Error::field(ErrorCode::NotConfigured, "access_token", "is required by live catalog updates"));
        }
        let delivery = self.delivery("live catalog updates")?;
        let coalesced = CatalogQueue::new(&delivery.outbox, catalog_id).enqueue(retailer_id, method, data, now_ms())?;
        // No wake-up: the sender's interval lets quick successive edits coalesce.
        Ok(CatalogChange { retailer_id: retailer_id.to_string(), method, coalesced })
    }
}

/// The product feed and catalog check with this merchant's `content_id` mapping,
/// and the catalog section of `status()`.
impl Tracker {
    /// The `catalog` section of `status()`: catalog id/name, the content id
    /// mapping and the last feed export (this process, else the outbox's record).
    pub fn catalog_status(&self) -> Result<Value> {
        let mut last = self.catalog_last_export.lock().ok().and_then(|g| g.clone());
        if last.is_none() {
            if let Some(d) = &self.delivery {
                last = d.outbox.meta(CATALOG_LAST_EXPORT)?.and_then(|s| serde_json::from_str(&s).ok());
            }
        }
        Ok(serde_json::json!({
            "catalog_id": self.settings.catalog_id,
            "catalog_name": self.settings.catalog_name,
            "content_id": self.settings.content_id.as_str(),
            "last_export": last,
        }))
    }

    /// Feed export options for this merchant: the `content_id` mapping and the catalog name as channel title.
    pub fn export_options(&self, format: crate::catalog::FeedFormat) -> crate::catalog::ExportOptions {
        let mut opts = crate::catalog::ExportOptions { format, content_id: self.settings.content_id, ..Default::default() };
        if let Some(name) = &self.settings.catalog_name {
            opts.channel_title = name.clone();
        }
        opts.channel_link = self.settings.shop_url.clone();
        opts
    }

    /// Exports a product feed (see [`crate::catalog::export_feed`]) with this
    /// merchant's `content_id` mapping, and records the result for `status()`
    /// (in memory and, with an outbox, durably).
    pub fn export_feed<R: std::io::BufRead, W: std::io::Write>(
        &self,
        input: R,
        output: W,
        opts: &crate::catalog::ExportOptions,
        hooks: &mut crate::catalog::ExportHooks<'_>,
    ) -> Result<crate::catalog::ExportReport> {
        self.export_records(&mut crate::catalog::Lines(input), output, opts, hooks)
    }

    /// [`Tracker::export_feed`] from any record source (e.g. parsed values from a binding).
    pub fn export_records<S: crate::catalog::RecordSource + ?Sized, W: std::io::Write>(
        &self,
        input: &mut S,
        output: W,
        opts: &crate::catalog::ExportOptions,
        hooks: &mut crate::catalog::ExportHooks<'_>,
    ) -> Result<crate::catalog::ExportReport> {
        let opts = crate::catalog::ExportOptions { content_id: self.settings.content_id, ..opts.clone() };
        let report = crate::catalog::export_records(input, output, &opts, hooks)?;
        self.record_export(&report)?;
        Ok(report)
    }

    /// Records an export summary for `status()`.
    pub fn record_export(&self, report: &crate::catalog::ExportReport) -> Result<()> {
        let summary = serde_json::json!({
            "format": report.format.as_str(),
            "read": report.read,
            "written": report.written,
            "skipped": report.skipped,
            "error_counts": report.error_counts,
            "finished_at": report.finished_at,
            "duration_ms": report.duration_ms,
        });
        if let Some(d) = &self.delivery {
            d.outbox.set_meta(CATALOG_LAST_EXPORT, Some(&summary.to_string()))?;
        }
        if let Ok(mut g) = self.catalog_last_export.lock() {
            *g = Some(summary);
        }
        Ok(())
    }

    /// Checks event items against a products file with this merchant's `content_id` mapping.
    pub fn check_catalog<E: std::io::BufRead, P: std::io::BufRead>(&self, events: E, products: P) -> Result<crate::catalog::CheckReport> {
        let opts = crate::catalog::CheckOptions { content_id: self.settings.content_id, ..Default::default() };
        crate::catalog::check_catalog(events, products, &opts)
    }

    /// [`Tracker::check_catalog`] from any record sources.
    pub fn check_records<E: crate::catalog::RecordSource + ?Sized, P: crate::catalog::RecordSource + ?Sized>(
        &self,
        events: &mut E,
        products: &mut P,
    ) -> Result<crate::catalog::CheckReport> {
        let opts = crate::catalog::CheckOptions { content_id: self.settings.content_id, ..Default::default() };
        crate::catalog::check_records(events, products, &opts)
    }
}
