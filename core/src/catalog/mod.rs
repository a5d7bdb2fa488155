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

pub use check::{check_catalog, check_records, CheckOptions, CheckReport, MissingItem};
pub use feed::{
    export_feed, export_feed_string, export_records, open_lines, write_file_atomically, ExportHooks, ExportOptions, ExportReport,
    FeedFormat, Lines, ProductError, Record, RecordSource,
};
pub use product::{Product, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};

/// Which shop identifier is the Meta content id: a setting, defined with the settings.
pub use crate::settings::ContentIdField;

#[cfg(test)]
mod status_tests {
    use crate::{Settings, Tracker};

    fn product(id: &str) -> String {
        serde_json::json!({"id": id, "title": "T", "description": "D", "availability": "in stock", "price": "1.00",
            "currency": "USD", "link": "https://s.example/", "image_link": "https://s.example/i.png", "brand": "B"})
        .to_string()
    }

    #[test]
    fn status_shows_last_export_and_outbox_keeps_it() {
        let dir = std::env::temp_dir().join(format!("convtrack-catalog-status-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("outbox.sqlite");
        let _ = std::fs::remove_file(&db);
        let settings = format!(r#"{{"pixel_id":"1","catalog_id":"42","catalog_name":"Main","outbox_path":"{}"}}"#, db.display());
        let tracker = Tracker::open(Settings::from_json(&settings).unwrap()).unwrap();
        assert_eq!(tracker.status().unwrap()["catalog"]["last_export"], serde_json::Value::Null);
        let input = format!("{}\n{{}}\n{}\n", product("1"), product("2"));
        let opts = tracker.export_options(super::FeedFormat::Csv);
        let mut out = Vec::new();
        let r = tracker.export_feed(input.as_bytes(), &mut out, &opts, &mut Default::default()).unwrap();
        assert_eq!((r.written, r.skipped), (2, 1));
        let cat = &tracker.status().unwrap()["catalog"];
        assert_eq!(cat["catalog_id"], "42");
        assert_eq!(cat["catalog_name"], "Main");
        assert_eq!(cat["last_export"]["written"], 2);
        assert_eq!(cat["last_export"]["skipped"], 1);
        tracker.close();
        drop(tracker);
        // A new process (a new tracker on the same outbox) still sees it.
        let again = Tracker::open(Settings::from_json(&settings).unwrap()).unwrap();
        assert_eq!(again.status().unwrap()["catalog"]["last_export"]["written"], 2);
        again.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
