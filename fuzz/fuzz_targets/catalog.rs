//! Product JSON lines → the feed export (XML, CSV, TSV), live catalog change
//! validation and the catalog check. Checks on every input:
//!
//! 1. the export never aborts on product data: `written + skipped` is the number
//!    of non-blank lines, and every skipped line has a per-product error;
//! 2. the XML has exactly one `<rss`, one `</rss>`, and one `<item>` per written
//!    product (product text cannot open or close elements: it is escaped), and
//!    no character XML 1.0 forbids;
//! 3. the CSV has one record per written product plus the header, read back by
//!    the `csv` crate with the same number of fields in every record;
//! 4. `Product::from_json` agrees with the export about which lines are valid,
//!    and its Meta field map always has an `id`.
//!
//! Any panic (in the core or here) is a finding.
#![no_main]

use convtrack_core::catalog::ContentIdField;
use convtrack_core::catalog::{export_feed_string, ExportOptions, FeedFormat, Product};
use libfuzzer_sys::fuzz_target;

fn forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines: Vec<&str> = text.split('\n').collect();
    let blank = |l: &str| l.bytes().all(|b| b.is_ascii_whitespace());
    let non_blank = lines.iter().filter(|l| !blank(l)).count() as u64;
    let valid = lines.iter().filter(|l| !blank(l) && Product::from_json(l).is_ok()).count() as u64;

    for line in &lines {
        if let Ok(p) = Product::from_json(line) {
            let fields = p.meta_fields(ContentIdField::Id).expect("the id mapping always has an id");
            assert!(fields.get("id").and_then(|v| v.as_str()).is_some_and(|s| !s.is_empty()));
        }
    }

    for format in [FeedFormat::Xml, FeedFormat::Csv, FeedFormat::Tsv] {
        let opts = ExportOptions { format, max_error_details: 100_000, ..ExportOptions::default() };
        let (feed, report) = export_feed_string(text, &opts).expect("product data never aborts the export");
        assert_eq!(report.written + report.skipped, non_blank, "every line is written or skipped");
        assert_eq!(report.read, non_blank, "blank lines are the only ones ignored");
        assert_eq!(report.written, valid, "the export agrees with Product::from_json");
        assert_eq!(report.errors.len() as u64, report.skipped, "one error per skipped product");
        match format {
            FeedFormat::Xml => {
                assert_eq!(feed.matches("<rss").count(), 1);
                assert_eq!(feed.matches("</rss>").count(), 1);
                assert_eq!(feed.matches("<item>").count() as u64, report.written);
                assert!(!feed.chars().any(forbidden_in_xml), "a character XML forbids");
            }
            FeedFormat::Csv | FeedFormat::Tsv => {
                let delimiter = if format == FeedFormat::Csv { b',' } else { b'\t' };
                let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).from_reader(feed.as_bytes());
                let width = reader.headers().expect("a header row").len();
                let mut rows = 0u64;
                for record in reader.records() {
                    let record = record.expect("the feed reads back");
                    assert_eq!(record.len(), width, "every record has the header's fields");
                    rows += 1;
                }
                assert_eq!(rows, report.written, "one record per written product");
            }
        }
    }
});
