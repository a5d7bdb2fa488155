//! Product catalog: a product model in shop terms, validated into Meta's
//! catalog fields, streamed into a data feed (XML, CSV, TSV), and checked
//! against the `content_ids` that events send.
//!
//! One mapping ([`ContentIdField`], the `content_id` setting) decides both the
//! event `content_ids` and the feed `id`s, so Meta can match the two.
//!
//! Everything here streams: products are read one line at a time from a
//! [`std::io::BufRead`] and written to a [`std::io::Write`]; only counts and the
//! first few error details are kept (see [`feed::ExportReport`]).

pub mod check;
pub mod feed;
pub mod product;

pub use check::{check_catalog, CheckOptions, CheckReport, MissingItem};
pub use feed::{export_feed, export_feed_string, ExportHooks, ExportOptions, ExportReport, FeedFormat, ProductError};
pub use product::{Product, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};

/// Which shop identifier is the Meta content id (event `content_ids` and feed `id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ContentIdField {
    /// The item's `id` (the default; convtrack's behaviour before the setting existed).
    #[default]
    Id,
    /// The item's `sku`.
    Sku,
    /// The item's `variant_id`.
    VariantId,
}

impl ContentIdField {
    /// The settings spelling, which is also the input field name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentIdField::Id => "id",
            ContentIdField::Sku => "sku",
            ContentIdField::VariantId => "variant_id",
        }
    }

    /// Parses the settings spelling.
    pub fn parse(s: &str) -> Option<ContentIdField> {
        match s {
            "id" => Some(ContentIdField::Id),
            "sku" => Some(ContentIdField::Sku),
            "variant_id" => Some(ContentIdField::VariantId),
            _ => None,
        }
    }
}
