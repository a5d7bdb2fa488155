//! Streaming feed export: products JSON lines in, a Meta data feed (RSS 2.0
//! XML with the `g:` namespace, CSV or TSV) out, in constant memory.
//!
//! A bad product (invalid JSON, invalid UTF-8, a failed validation, an
//! over-long line) is reported as a [`ProductError`] and skipped; it never
//! aborts the feed. Only the first `max_error_details` errors are kept in the
//! [`ExportReport`]; every error also goes to the optional `on_error` hook.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;

use serde_json::{json, Value};

use super::product::{is_xml_char, Product};
use super::ContentIdField;
use crate::error::{Error, ErrorCode, Result};

/// Longest product line, in bytes. Longer lines are skipped (as `too_large`)
/// without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Default number of error details kept in a report.
pub const DEFAULT_MAX_ERROR_DETAILS: usize = 100;
/// The Google namespace Meta's RSS feeds use for product fields.
pub const G_NAMESPACE: &str = "http://base.google.com/ns/1.0";

/// Feed columns (Meta field names), in output order.
pub const COLUMNS: &[&str] = &[
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
    "brand",
    "sale_price",
    "item_group_id",
    "google_product_category",
    "additional_image_link",
    "inventory",
];

/// The output format of a feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    /// RSS 2.0 with `xmlns:g`.
    Xml,
    /// Comma-separated, RFC 4180 quoting, header row.
    Csv,
    /// Tab-separated, quoted only when a value needs it, header row.
    Tsv,
}

impl FeedFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Xml => "xml",
            FeedFormat::Csv => "csv",
            FeedFormat::Tsv => "tsv",
        }
    }

    /// `xml`, `csv` or `tsv` (any case).
    pub fn parse(s: &str) -> Result<FeedFormat> {
        match s.to_ascii_lowercase().as_str() {
            "xml" | "rss" => Ok(FeedFormat::Xml),
            "csv" => Ok(FeedFormat::Csv),
            "tsv" => Ok(FeedFormat::Tsv),
            _ => Err(Error::field(ErrorCode::InvalidArgument, "format", "must be \"xml\", \"csv\" or \"tsv\"")),
        }
    }
}

/// How to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub format: FeedFormat,
    /// Which product identifier becomes the feed `id` (the `content_id` setting).
    pub content_id: ContentIdField,
    /// Keep at most this many error details in the report (the rest are counted).
    pub max_error_details: usize,
    /// RSS channel title (XML only).
    pub channel_title: String,
    /// RSS channel link (XML only); left out when `None`.
    pub channel_link: Option<String>,
    /// Call `on_progress` every this many lines (0 = never).
    pub progress_every: u64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: FeedFormat::Xml,
            content_id: ContentIdField::Id,
            max_error_details: DEFAULT_MAX_ERROR_DETAILS,
            channel_title: "convtrack product feed".into(),
            channel_link: None,
            progress_every: 10_000,
        }
    }
}

/// Hook for every product error, in input order.
pub type ErrorHook<'a> = &'a mut dyn FnMut(&ProductError) -> Result<()>;
/// Hook for progress: (lines read, bytes read, products written).
pub type ProgressHook<'a> = &'a mut dyn FnMut(u64, u64, u64) -> Result<()>;

/// Callbacks during an export. A hook that returns an error stops the export.
#[derive(Default)]
pub struct ExportHooks<'a> {
    /// Every product error, in input order (also the ones beyond the report's details).
    pub on_error: Option<ErrorHook<'a>>,
    /// Progress, every `progress_every` lines and once at the end.
    pub on_progress: Option<ProgressHook<'a>>,
}

/// One skipped product: where, which (if the id could be read), and why.
/// Names the field, never echoes its value.
#[derive(Clone, PartialEq, Eq)]
pub struct ProductError {
    /// 1-based line number in the products input.
    pub line: u64,
    /// The product's `id`, when it could be read and is a valid id.
    pub product_id: Option<String>,
    pub code: ErrorCode,
    pub field: Option<String>,
    pub reason: String,
}

impl ProductError {
    fn new(line: u64, product_id: Option<String>, e: &Error) -> ProductError {
        ProductError { line, product_id, code: e.code(), field: e.field_name().map(str::to_string), reason: e.reason().to_string() }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "line": self.line,
            "product_id": self.product_id,
            "code": self.code.name(),
            "field": self.field,
            "reason": self.reason,
        })
    }
}

impl fmt::Display for ProductError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(id) = &self.product_id {
            write!(f, " (product {id})")?;
        }
        write!(f, ": {}: ", self.code.name())?;
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl fmt::Debug for ProductError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What an export did.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportReport {
    pub format: FeedFormat,
    pub content_id: ContentIdField,
    /// Non-blank lines read.
    pub read: u64,
    /// Products written to the feed.
    pub written: u64,
    /// Products skipped (each one an error).
    pub skipped: u64,
    /// The first `max_error_details` errors.
    pub errors: Vec<ProductError>,
    /// Skipped products per error code name.
    pub error_counts: BTreeMap<&'static str, u64>,
    /// Wall time of the export, in milliseconds.
    pub duration_ms: u64,
    /// Unix seconds when the export finished.
    pub finished_at: i64,
}

impl ExportReport {
    pub fn to_json(&self) -> Value {
        json!({
            "format": self.format.as_str(),
            "content_id": self.content_id.as_str(),
            "read": self.read,
            "written": self.written,
            "skipped": self.skipped,
            "errors": self.errors.iter().map(ProductError::to_json).collect::<Vec<_>>(),
            "errors_omitted": self.skipped.saturating_sub(self.errors.len() as u64),
            "error_counts": self.error_counts,
            "duration_ms": self.duration_ms,
            "finished_at": self.finished_at,
        })
    }
}

/// Reads one line into `buf` (without the newline), keeping at most
/// `MAX_LINE_BYTES`. Returns `None` at end of input, else whether the line was too long.
pub(crate) fn read_line_bounded<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(if any { Some(too_long) } else { None });
        }
        any = true;
        let (chunk, used, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > MAX_LINE_BYTES {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        r.consume(used);
        if done {
            return Ok(Some(too_long));
        }
    }
}

/// One product record from a [`RecordSource`].
pub enum Record {
    /// A raw line is in the caller's buffer (without its newline); `too_long`
    /// means it exceeded [`MAX_LINE_BYTES`] and the buffer holds nothing.
    Line { too_long: bool },
    /// An already-parsed JSON value (e.g. a dict from a Python iterable).
    Value(Value),
    /// A record that could not even be turned into JSON; reported and skipped.
    Invalid(Error),
}

/// Where products come from, one record at a time.
pub trait RecordSource {
    /// The next record (`None` at the end). An error stops the export.
    fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<Option<Record>>;
}

/// JSON lines from a reader.
pub struct Lines<R>(pub R);

impl<R: BufRead> RecordSource for Lines<R> {
    fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<Option<Record>> {
        match read_line_bounded(&mut self.0, buf) {
            Ok(Some(too_long)) => Ok(Some(Record::Line { too_long })),
            Ok(None) => Ok(None),
            Err(_) => Err(Error::general(ErrorCode::Storage, "the products input could not be read")),
        }
    }
}

/// One product line: parsed and validated, or an error with the id if readable.
pub(crate) fn parse_line(raw: &[u8], too_long: bool) -> std::result::Result<Product, (Option<String>, Error)> {
    if too_long {
        return Err((None, Error::field(ErrorCode::TooLarge, "line", format!("is longer than {MAX_LINE_BYTES} bytes"))));
    }
    let text = std::str::from_utf8(raw).map_err(|_| (None, Error::field(ErrorCode::InvalidUtf8, "line", "is not valid UTF-8")))?;
    let value: Value = serde_json::from_str(text).map_err(|e| (None, crate::error::json_syntax("line", &e)))?;
    Product::from_value(&value).map_err(|e| (readable_id(&value), e))
}

pub(crate) fn readable_id(v: &Value) -> Option<String> {
    let s = match v.get("id")? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => return None,
    };
    crate::event::check_id(&s, "id").ok().map(|_| s)
}

pub(crate) fn is_blank(raw: &[u8]) -> bool {
    raw.iter().all(|b| b.is_ascii_whitespace())
}

fn write_err(_: impl std::fmt::Display) -> Error {
    Error::general(ErrorCode::Storage, "the feed could not be written")
}

/// Text for XML: characters XML 1.0 forbids are dropped, then `<>&'"` escaped.
pub fn xml_text(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        quick_xml::escape::escape(s)
    } else {
        let clean: String = s.chars().filter(|&c| is_xml_char(c)).collect();
        Cow::Owned(quick_xml::escape::escape(clean.as_str()).into_owned())
    }
}

enum Sink<W: Write> {
    Xml(BufWriter<W>),
    Delimited(Box<csv::Writer<W>>),
}

impl<W: Write> Sink<W> {
    fn open(out: W, opts: &ExportOptions) -> Result<Sink<W>> {
        match opts.format {
            FeedFormat::Xml => {
                let mut w = BufWriter::with_capacity(64 * 1024, out);
                write!(
                    w,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:g=\"{G_NAMESPACE}\">\n<channel>\n<title>{}</title>\n",
                    xml_text(&opts.channel_title)
                )
                .map_err(write_err)?;
                if let Some(link) = &opts.channel_link {
                    writeln!(w, "<link>{}</link>", xml_text(link)).map_err(write_err)?;
                }
                w.write_all(b"<description>Product feed generated by convtrack</description>\n").map_err(write_err)?;
                Ok(Sink::Xml(w))
            }
            FeedFormat::Csv | FeedFormat::Tsv => {
                let delimiter = if opts.format == FeedFormat::Csv { b',' } else { b'\t' };
                let mut w = csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .quote_style(csv::QuoteStyle::Necessary)
                    .buffer_capacity(64 * 1024)
                    .from_writer(out);
                w.write_record(COLUMNS).map_err(write_err)?;
                Ok(Sink::Delimited(Box::new(w)))
            }
        }
    }

    fn product(&mut self, fields: &serde_json::Map<String, Value>) -> Result<()> {
        match self {
            Sink::Xml(w) => {
                w.write_all(b"<item>\n").map_err(write_err)?;
                for &col in COLUMNS {
                    match fields.get(col) {
                        None => {}
                        Some(Value::Array(list)) => {
                            for v in list {
                                if let Some(s) = v.as_str() {
                                    writeln!(w, "<g:{col}>{}</g:{col}>", xml_text(s)).map_err(write_err)?;
                                }
                            }
                        }
                        Some(Value::String(s)) => writeln!(w, "<g:{col}>{}</g:{col}>", xml_text(s)).map_err(write_err)?,
                        Some(other) => writeln!(w, "<g:{col}>{other}</g:{col}>").map_err(write_err)?,
                    }
                }
                w.write_all(b"</item>\n").map_err(write_err)
            }
            Sink::Delimited(w) => {
                for &col in COLUMNS {
                    let cell: Cow<'_, str> = match fields.get(col) {
                        None => Cow::Borrowed(""),
                        Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                        // Meta reads additional images as one comma-separated cell.
                        Some(Value::Array(list)) => {
                            Cow::Owned(list.iter().filter_map(Value::as_str).map(|u| u.replace(',', "%2C")).collect::<Vec<_>>().join(","))
                        }
                        Some(other) => Cow::Owned(other.to_string()),
                    };
                    w.write_field(cell.as_bytes()).map_err(write_err)?;
                }
                w.write_record(None::<&[u8]>).map_err(write_err)
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Xml(mut w) => {
                w.write_all(b"</channel>\n</rss>\n").map_err(write_err)?;
                w.flush().map_err(write_err)
            }
            Sink::Delimited(mut w) => w.flush().map_err(write_err),
        }
    }
}

/// Exports products (JSON lines from `input`) as a feed to `output`.
///
/// Memory stays constant in the number of products: one line is held at a
/// time (at most [`MAX_LINE_BYTES`]), plus the first `max_error_details` errors.
/// Fails only when the input cannot be read, the output cannot be written, or
/// a hook fails; product problems are reported and skipped.
pub fn export_feed<R: BufRead, W: Write>(input: R, output: W, opts: &ExportOptions, hooks: &mut ExportHooks<'_>) -> Result<ExportReport> {
    export_records(&mut Lines(input), output, opts, hooks)
}

/// [`export_feed`] from any [`RecordSource`] (lines, parsed values, or a mix).
pub fn export_records<S: RecordSource + ?Sized, W: Write>(
    input: &mut S,
    output: W,
    opts: &ExportOptions,
    hooks: &mut ExportHooks<'_>,
) -> Result<ExportReport> {
    let started = Instant::now();
    let mut report = ExportReport {
        format: opts.format,
        content_id: opts.content_id,
        read: 0,
        written: 0,
        skipped: 0,
        errors: Vec::new(),
        error_counts: BTreeMap::new(),
        duration_ms: 0,
        finished_at: 0,
    };
    let mut sink = Sink::open(output, opts)?;
    let mut buf = Vec::with_capacity(4096);
    let mut line_no: u64 = 0;
    let mut bytes: u64 = 0;
    loop {
        buf.clear();
        let Some(record) = input.next_record(&mut buf)? else { break };
        line_no += 1;
        bytes += buf.len() as u64 + 1;
        if opts.progress_every > 0 && line_no % opts.progress_every == 0 {
            if let Some(cb) = hooks.on_progress.as_mut() {
                // Reported before this line is processed: `written` counts the lines before it.
                cb(line_no - 1, bytes - (buf.len() as u64 + 1), report.written)?;
            }
        }
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
        report.read += 1;
        let outcome = parsed.and_then(|p| {
            let id = Some(p.id.clone());
            p.meta_fields(opts.content_id).map_err(|e| (id, e))
        });
        match outcome {
            Ok(fields) => {
                sink.product(&fields)?;
                report.written += 1;
            }
            Err((product_id, e)) => {
                let pe = ProductError::new(line_no, product_id, &e);
                report.skipped += 1;
                *report.error_counts.entry(pe.code.name()).or_insert(0) += 1;
                if let Some(cb) = hooks.on_error.as_mut() {
                    cb(&pe)?;
                }
                if report.errors.len() < opts.max_error_details {
                    report.errors.push(pe);
                }
            }
        }
    }
    sink.finish()?;
    if let Some(cb) = hooks.on_progress.as_mut() {
        cb(line_no, bytes, report.written)?;
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.finished_at = crate::clock::unix_now();
    Ok(report)
}

/// Convenience: export an in-memory JSON-lines text to a string.
pub fn export_feed_string(products_jsonl: &str, opts: &ExportOptions) -> Result<(String, ExportReport)> {
    let mut out = Vec::new();
    let report = export_feed(products_jsonl.as_bytes(), &mut out, opts, &mut ExportHooks::default())?;
    // Every writer emits UTF-8 built from validated UTF-8 strings.
    let text = String::from_utf8(out).map_err(|_| Error::general(ErrorCode::Internal, "feed output was not UTF-8"))?;
    Ok((text, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(id: &str, title: &str) -> String {
        json!({
            "id": id, "sku": format!("SKU-{id}"), "title": title, "description": "Line one\nline \"two\", three",
            "availability": "in_stock", "price": "12.99", "currency": "EUR",
            "link": format!("https://shop.example/p/{id}"), "image_link": "https://shop.example/i.jpg",
            "additional_image_links": ["https://shop.example/a,1.jpg", "https://shop.example/b.jpg"],
            "brand": "Acme & Sons", "inventory": 3
        })
        .to_string()
    }

    fn opts(format: FeedFormat) -> ExportOptions {
        ExportOptions { format, ..ExportOptions::default() }
    }

    #[test]
    fn xml_escapes_hostile_titles() {
        let hostile = "</script><script>alert(1)</script> ]]> <![CDATA[x]]> & \"q\" 'a'";
        let input = format!("{}\n{}\n", product("1", hostile), product("2", "plain"));
        let (xml, report) = export_feed_string(&input, &opts(FeedFormat::Xml)).unwrap();
        assert_eq!((report.written, report.skipped), (2, 0));
        assert!(xml.contains("xmlns:g=\"http://base.google.com/ns/1.0\""));
        assert!(!xml.contains("</script>"));
        assert!(!xml.contains("]]>"));
        assert!(!xml.contains("<![CDATA["));
        assert!(xml.contains("<g:title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt;"));
        assert!(xml.contains("<g:brand>Acme &amp; Sons</g:brand>"));
        assert_eq!(xml.matches("<item>").count(), 2);
        assert_eq!(xml.matches("<g:additional_image_link>").count(), 4);
        assert!(xml.contains("<g:price>12.99 EUR</g:price>"));
        assert!(xml.contains("<g:availability>in stock</g:availability>"));
        assert!(xml.ends_with("</channel>\n</rss>\n"));
    }

    #[test]
    fn xml_text_drops_invalid_characters() {
        assert_eq!(xml_text("a\u{0}b\u{1f}c\u{FFFE}d<"), "abcd&lt;");
        assert_eq!(xml_text("tab\tok"), "tab\tok");
    }

    #[test]
    fn csv_round_trips_quotes_commas_newlines() {
        let input = product("7", "Mug, \"large\"\nsecond line");
        let (text, report) = export_feed_string(&input, &opts(FeedFormat::Csv)).unwrap();
        assert_eq!(report.written, 1);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let headers = r.headers().unwrap().clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), COLUMNS);
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][1], "Mug, \"large\"\nsecond line");
        assert_eq!(&rows[0][2], "Line one\nline \"two\", three");
        assert_eq!(&rows[0][12], "https://shop.example/a%2C1.jpg,https://shop.example/b.jpg");
        assert_eq!(&rows[0][13], "3");
    }

    #[test]
    fn tsv_uses_tabs() {
        let (text, _) = export_feed_string(&product("7", "a\tb"), &opts(FeedFormat::Tsv)).unwrap();
        let mut r = csv::ReaderBuilder::new().delimiter(b'\t').from_reader(text.as_bytes());
        let row = r.records().next().unwrap().unwrap();
        assert_eq!(&row[1], "a\tb");
        assert!(text.starts_with("id\ttitle\t"));
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let mut bad_utf8 = product("u", "x").into_bytes();
        bad_utf8.push(0xff);
        let nan = product("n", "x").replace("\"12.99\"", "\"NaN\"");
        let mut input = Vec::new();
        for l in [product("1", "ok").as_bytes(), b"{not json", &bad_utf8, nan.as_bytes(), b"", b"[1,2]", product("2", "ok").as_bytes()] {
            input.extend_from_slice(l);
            input.push(b'\n');
        }
        let mut seen = Vec::new();
        let mut on_error = |e: &ProductError| {
            seen.push(e.line);
            Ok(())
        };
        let mut hooks = ExportHooks { on_error: Some(&mut on_error), on_progress: None };
        let mut out = Vec::new();
        let report = export_feed(&input[..], &mut out, &opts(FeedFormat::Csv), &mut hooks).unwrap();
        assert_eq!((report.read, report.written, report.skipped), (6, 2, 4));
        assert_eq!(seen, vec![2, 3, 4, 6]);
        let got: Vec<(u64, &str, Option<&str>, Option<&str>)> =
            report.errors.iter().map(|e| (e.line, e.code.name(), e.field.as_deref(), e.product_id.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (2, "invalid_json", Some("line"), None),
                (3, "invalid_utf8", Some("line"), None),
                (4, "invalid_value", Some("price"), Some("n")),
                (6, "wrong_type", Some("product"), None),
            ]
        );
        assert_eq!(report.error_counts["invalid_json"], 1);
    }

    #[test]
    fn error_details_are_capped_but_counted() {
        let input = "{}\n".repeat(50);
        let o = ExportOptions { max_error_details: 5, ..opts(FeedFormat::Xml) };
        let (_, report) = export_feed_string(&input, &o).unwrap();
        assert_eq!((report.skipped, report.errors.len()), (50, 5));
        assert_eq!(report.to_json()["errors_omitted"], 45);
    }

    #[test]
    fn ten_megabyte_line_is_skipped_without_holding_it() {
        let big = product("big", &"x".repeat(10 * 1024 * 1024));
        let input = format!("{big}\n{}\n", product("2", "ok"));
        let (_, report) = export_feed_string(&input, &opts(FeedFormat::Xml)).unwrap();
        assert_eq!((report.written, report.skipped), (1, 1));
        assert_eq!(report.errors[0].code, ErrorCode::TooLarge);
        assert_eq!(report.errors[0].field.as_deref(), Some("line"));
    }

    #[test]
    fn content_id_mapping_decides_feed_id() {
        let o = ExportOptions { content_id: ContentIdField::Sku, ..opts(FeedFormat::Csv) };
        let no_sku = product("3", "x").replace("\"sku\":\"SKU-3\",", "");
        let input = format!("{}\n{no_sku}\n", product("1", "x"));
        let (text, report) = export_feed_string(&input, &o).unwrap();
        assert!(text.lines().nth(1).unwrap().starts_with("SKU-1,"));
        assert_eq!(report.skipped, 1);
        assert_eq!(report.errors[0].field.as_deref(), Some("sku"));
        assert_eq!(report.errors[0].product_id.as_deref(), Some("3"));
    }

    #[test]
    fn last_line_without_newline_and_crlf() {
        let input = format!("{}\r\n{}", product("1", "x"), product("2", "y"));
        let (_, report) = export_feed_string(&input, &opts(FeedFormat::Csv)).unwrap();
        assert_eq!((report.written, report.skipped), (2, 0));
    }

    #[test]
    fn write_failure_is_a_typed_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let e = export_feed(product("1", "x").as_bytes(), Full, &opts(FeedFormat::Xml), &mut ExportHooks::default()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Storage);
    }
}

/// Writes `dst` through a temporary file next to it, renamed into place only
/// when `body` succeeds: a feed served from `dst` is never half-written, and
/// a failed export leaves the previous feed in place.
pub fn write_file_atomically<T>(dst: &str, body: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = format!("{dst}.tmp-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
    let mut file = std::fs::File::create(&tmp)
        .map_err(|_| Error::field(ErrorCode::Storage, "dst", "could not be created (temporary file next to it)"))?;
    let result = body(&mut file).and_then(|v| {
        file.sync_all().map_err(|_| Error::field(ErrorCode::Storage, "dst", "could not be written"))?;
        drop(file);
        std::fs::rename(&tmp, dst).map_err(|_| Error::field(ErrorCode::Storage, "dst", "could not be replaced"))?;
        Ok(v)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Opens a products (or events) file for streaming.
pub fn open_lines(path: &str, what: &str) -> Result<Lines<std::io::BufReader<std::fs::File>>> {
    let f = std::fs::File::open(path).map_err(|_| Error::field(ErrorCode::Storage, what, "could not be opened for reading"))?;
    Ok(Lines(std::io::BufReader::with_capacity(256 * 1024, f)))
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_old_file_on_failure() {
        let dir = std::env::temp_dir().join(format!("convtrack-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dst = dir.join("feed.xml");
        let dst = dst.to_str().unwrap();
        std::fs::write(dst, "old").unwrap();
        let r: Result<()> = write_file_atomically(dst, |w| {
            w.write_all(b"partial").unwrap();
            Err(Error::general(ErrorCode::Storage, "x"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(dst).unwrap(), "old");
        write_file_atomically(dst, |w| w.write_all(b"new").map_err(|_| Error::general(ErrorCode::Storage, "x"))).unwrap();
        assert_eq!(std::fs::read_to_string(dst).unwrap(), "new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
