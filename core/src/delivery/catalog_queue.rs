//! Live catalog updates: product create/update/delete become requests to the
//! Graph API's `/{catalog_id}/items_batch` edge, through the same durable
//! outbox file, sender, retries and error classes as events.
//!
//! The queue holds one row per (catalog, retailer id): a later edit of the
//! same product replaces the earlier one before it is sent (coalescing), so
//! ten edits of one product send one update. Each row carries a version; a
//! send that raced with a newer edit removes only the version it sent, and the
//! newer edit goes out in the next request.
//!
//! Product data is catalog data (titles, prices, links), not personal data.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, TransactionBehavior};
use serde_json::{json, Map, Value};

use crate::delivery::outbox::{incr, placeholders, Outbox};
use crate::delivery::sender::{Lane, LaneNames, Settled};
use crate::error::Result;
use crate::settings::Settings;

/// Meta accepts up to 5000 requests per items_batch call.
pub const MAX_BATCH: usize = 5000;

/// What to do with one product in the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Create or replace (Meta's `UPDATE` with `allow_upsert`).
    Update,
    /// Remove from the catalog.
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Update => "UPDATE",
            Method::Delete => "DELETE",
        }
    }
}

/// One queued catalog change, leased to a sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedItem {
    pub retailer_id: String,
    pub method: String,
    /// Meta's item fields as JSON text (for a delete: `{"id": ...}`).
    pub data: String,
    pub version: i64,
    pub attempts: i64,
}

/// Queue figures for `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogStats {
    pub depth: i64,
    pub next_attempt_at_ms: Option<i64>,
    pub dead_letters: i64,
}

/// Removes the version of `it` that was handled; a newer edit made meanwhile stays
/// queued, with the lease cleared so it goes out next.
fn settle(tx: &Connection, catalog: &str, it: &ClaimedItem) -> rusqlite::Result<()> {
    let n = tx.execute(
        "DELETE FROM catalog_queue WHERE catalog_id = ?1 AND retailer_id = ?2 AND version = ?3",
        params![catalog, it.retailer_id, it.version],
    )?;
    if n == 0 {
        tx.execute(
            "UPDATE catalog_queue SET claimed_until = 0 WHERE catalog_id = ?1 AND retailer_id = ?2",
            params![catalog, it.retailer_id],
        )?;
    }
    Ok(())
}

/// The catalog half of one outbox file.
pub struct CatalogQueue<'a> {
    outbox: &'a Outbox,
    catalog_id: &'a str,
}

impl<'a> CatalogQueue<'a> {
    pub fn new(outbox: &'a Outbox, catalog_id: &'a str) -> CatalogQueue<'a> {
        CatalogQueue { outbox, catalog_id }
    }

    /// Queues a change; a change of the same product still queued is replaced (coalesced).
    /// Returns `true` when it replaced one.
    pub fn enqueue(&self, retailer_id: &str, method: Method, data: &str, now_ms: i64) -> Result<bool> {
        let (catalog, pixel) = (self.catalog_id, self.outbox.pixel_id());
        self.outbox.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existed: bool = tx.query_row(
                "SELECT COUNT(*) FROM catalog_queue WHERE catalog_id = ?1 AND retailer_id = ?2",
                params![catalog, retailer_id],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            // A replaced change keeps its place (enqueued_at) and its retry schedule, but
            // not its lease: the newer data must go out even if an older send is in flight.
            tx.execute(
                "INSERT INTO catalog_queue(catalog_id, retailer_id, method, data, enqueued_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT(catalog_id, retailer_id) DO UPDATE SET
                    method = excluded.method, data = excluded.data, version = version + 1, last_error = NULL",
                params![catalog, retailer_id, method.as_str(), data, now_ms],
            )?;
            incr(&tx, pixel, if existed { "catalog.coalesced" } else { "catalog.queued" }, 1)?;
            tx.commit()?;
            Ok(existed)
        })
    }

    /// Leases up to `limit` due changes for `lease_ms`.
    pub fn claim(&self, now_ms: i64, limit: usize, lease_ms: i64) -> Result<Vec<ClaimedItem>> {
        let catalog = self.catalog_id;
        self.outbox.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows: Vec<ClaimedItem> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT retailer_id, method, data, version, attempts FROM catalog_queue
                     WHERE catalog_id = ?1 AND next_attempt_at <= ?2 AND claimed_until <= ?2
                     ORDER BY enqueued_at, retailer_id LIMIT ?3",
                )?;
                let mapped = stmt.query_map(params![catalog, now_ms, limit as i64], |r| {
                    Ok(ClaimedItem { retailer_id: r.get(0)?, method: r.get(1)?, data: r.get(2)?, version: r.get(3)?, attempts: r.get(4)? })
                })?;
                mapped.collect::<rusqlite::Result<_>>()?
            };
            for chunk in rows.chunks(500) {
                let sql = format!(
                    "UPDATE catalog_queue SET claimed_until = ? WHERE catalog_id = ? AND retailer_id IN ({})",
                    placeholders(chunk.len())
                );
                let mut args: Vec<rusqlite::types::Value> = vec![(now_ms + lease_ms).into(), catalog.to_string().into()];
                args.extend(chunk.iter().map(|r| rusqlite::types::Value::from(r.retailer_id.clone())));
                tx.execute(&sql, rusqlite::params_from_iter(args))?;
            }
            tx.commit()?;
            Ok(rows)
        })
    }

    /// Sent: removes each row unless a newer edit replaced it meanwhile (that one stays
    /// queued, with its lease cleared). Records the last update for `status`.
    pub fn mark_sent(&self, items: &[ClaimedItem], handle: Option<&str>, now_ms: i64) -> Result<()> {
        let (catalog, pixel) = (self.catalog_id, self.outbox.pixel_id());
        self.outbox.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for it in items {
                settle(&tx, catalog, it)?;
            }
            incr(&tx, pixel, "catalog.sent", items.len() as i64)?;
            let last = json!({"time_ms": now_ms, "items": items.len(), "handle": handle});
            tx.execute(
                "INSERT INTO meta(pixel_id, key, value) VALUES (?1, 'catalog.last_update', ?2)
                 ON CONFLICT(pixel_id, key) DO UPDATE SET value = excluded.value",
                params![pixel, last.to_string()],
            )?;
            tx.commit()
        })
    }

    /// A transient failure: release the lease and retry at `next_ms`.
    pub fn reschedule(&self, items: &[ClaimedItem], next_ms: i64, error: &str) -> Result<()> {
        let (catalog, pixel) = (self.catalog_id, self.outbox.pixel_id());
        self.outbox.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for it in items {
                tx.execute(
                    "UPDATE catalog_queue SET attempts = attempts + 1, next_attempt_at = ?1, claimed_until = 0,
                        last_error = ?2 WHERE catalog_id = ?3 AND retailer_id = ?4",
                    params![next_ms, error, catalog, it.retailer_id],
                )?;
            }
            incr(&tx, pixel, "catalog.retried", items.len() as i64)?;
            tx.commit()
        })
    }

    /// Gives the rows back without counting an attempt (delivery paused).
    pub fn release(&self, items: &[ClaimedItem]) -> Result<()> {
        let catalog = self.catalog_id;
        self.outbox.with(|c| {
            for it in items {
                c.execute(
                    "UPDATE catalog_queue SET claimed_until = 0 WHERE catalog_id = ?1 AND retailer_id = ?2",
                    params![catalog, it.retailer_id],
                )?;
            }
            Ok(())
        })
    }

    /// Meta refused these changes: move them (the version that was sent) to the dead letters.
    pub fn dead_letter(&self, items: &[ClaimedItem], reason: &str, code: Option<i64>, now_ms: i64) -> Result<()> {
        let (catalog, pixel) = (self.catalog_id, self.outbox.pixel_id());
        self.outbox.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for it in items {
                tx.execute(
                    "INSERT INTO catalog_dead_letters(catalog_id, retailer_id, method, reason, code, failed_at, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![catalog, it.retailer_id, it.method, reason, code, now_ms, it.data],
                )?;
                settle(&tx, catalog, it)?;
            }
            incr(&tx, pixel, "catalog.failed", items.len() as i64)?;
            tx.commit()
        })
    }

    /// How many changes are queued, and when a waiting flush should look again.
    pub(crate) fn next_wake(&self, now_ms: i64) -> Result<(i64, Option<i64>)> {
        let catalog = self.catalog_id;
        self.outbox.with(|c| {
            c.query_row(
                &format!("SELECT COUNT(*), {} FROM catalog_queue WHERE catalog_id = ?1", crate::delivery::sender::NEXT_WAKE_SQL),
                params![catalog, now_ms, crate::delivery::sender::IN_FLIGHT_POLL_MS],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// Queue figures.
    pub fn stats(&self) -> Result<CatalogStats> {
        let catalog = self.catalog_id;
        self.outbox.with(|c| {
            let (depth, next): (i64, Option<i64>) = c.query_row(
                "SELECT COUNT(*), MIN(MAX(next_attempt_at, claimed_until)) FROM catalog_queue WHERE catalog_id = ?1",
                params![catalog],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let dead_letters: i64 =
                c.query_row("SELECT COUNT(*) FROM catalog_dead_letters WHERE catalog_id = ?1", params![catalog], |r| r.get(0))?;
            Ok(CatalogStats { depth, next_attempt_at_ms: next, dead_letters })
        })
    }

    /// The newest dead letters (retailer id, method, reason, code, time), at most `limit`.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<Value>> {
        let catalog = self.catalog_id;
        self.outbox.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT retailer_id, method, reason, code, failed_at FROM catalog_dead_letters
                 WHERE catalog_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![catalog, limit as i64], |r| {
                Ok(json!({
                    "retailer_id": r.get::<_, String>(0)?,
                    "method": r.get::<_, String>(1)?,
                    "reason": r.get::<_, String>(2)?,
                    "code": r.get::<_, Option<i64>>(3)?,
                    "failed_at_ms": r.get::<_, i64>(4)?,
                }))
            })?;
            rows.collect()
        })
    }
}

/// The items_batch request body for `items` (Meta's field names inside `data`).
pub fn batch_body(items: &[ClaimedItem]) -> String {
    let mut body = String::with_capacity(96 + items.iter().map(|i| i.data.len() + 40).sum::<usize>());
    body.push_str("{\"item_type\":\"PRODUCT_ITEM\",\"allow_upsert\":true,\"requests\":[");
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str("{\"method\":");
        body.push_str(if it.method == "DELETE" { "\"DELETE\"" } else { "\"UPDATE\"" });
        body.push_str(",\"data\":");
        body.push_str(&it.data);
        body.push('}');
    }
    body.push_str("]}");
    body
}

/// What an accepted items_batch answer says per item: the batch handle, and the
/// retailer ids Meta refused with an error (warnings are accepted).
pub fn accepted_batch(body: &str) -> Option<(Option<String>, BTreeMap<String, String>)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let handles = v.get("handles")?.as_array()?;
    let handle = handles.first().and_then(Value::as_str).map(str::to_owned);
    let mut refused = BTreeMap::new();
    if let Some(list) = v.get("validation_status").and_then(Value::as_array) {
        for s in list {
            let Some(id) = s.get("retailer_id").and_then(Value::as_str) else { continue };
            let errors = s.get("errors").and_then(Value::as_array);
            if let Some(first) = errors.and_then(|e| e.first()) {
                // Meta's message describes the product field, not personal data; keep it short.
                let msg = first.get("message").and_then(Value::as_str).unwrap_or("rejected");
                refused.insert(id.to_string(), msg.chars().take(200).collect());
            }
        }
    }
    Some((handle, refused))
}

/// The `data` object of a delete request.
pub fn delete_data(retailer_id: &str) -> String {
    let mut m = Map::new();
    m.insert("id".into(), Value::from(retailer_id));
    Value::Object(m).to_string()
}

/// The catalog's queued changes as a [`Lane`] of the sender: batches to the
/// catalog's `items_batch` edge, answered per item.
pub(crate) struct CatalogLane<'a> {
    queue: CatalogQueue<'a>,
    settings: &'a Settings,
}

impl<'a> CatalogLane<'a> {
    /// `None` when no catalog is set up.
    pub(crate) fn new(outbox: &'a Outbox, settings: &'a Settings) -> Option<CatalogLane<'a>> {
        let catalog_id = settings.catalog_id.as_deref()?;
        Some(CatalogLane { queue: CatalogQueue::new(outbox, catalog_id), settings })
    }
}

impl Lane for CatalogLane<'_> {
    type Item = ClaimedItem;
    const NAMES: LaneNames = LaneNames {
        pause_key: "catalog.paused",
        requests: "catalog.requests",
        invalid: "invalid_catalog_item",
        noun: "catalog change",
        paused: "catalog updates",
    };

    fn url(&self) -> String {
        self.settings.catalog_items_batch_url().unwrap_or_default()
    }

    fn body(&self, items: &[ClaimedItem]) -> String {
        batch_body(items)
    }

    fn attempts(item: &ClaimedItem) -> i64 {
        item.attempts
    }

    fn batch_limit(&self) -> usize {
        self.settings.batch_size.clamp(1, MAX_BATCH)
    }

    fn claim(&self, now_ms: i64, limit: usize, lease_ms: i64) -> Result<Vec<ClaimedItem>> {
        self.queue.claim(now_ms, limit, lease_ms)
    }

    fn due(&self, now_ms: i64) -> Result<(i64, Option<i64>)> {
        self.queue.next_wake(now_ms)
    }

    fn settle(&self, items: &[ClaimedItem], body: &str) -> Result<Option<Settled>> {
        let Some((handle, refused)) = accepted_batch(body) else { return Ok(None) };
        let (bad, good): (Vec<ClaimedItem>, Vec<ClaimedItem>) = items.iter().cloned().partition(|it| refused.contains_key(&it.retailer_id));
        let now = crate::clock::now_ms();
        if !good.is_empty() {
            self.queue.mark_sent(&good, handle.as_deref(), now)?;
        }
        if !bad.is_empty() {
            self.queue.dead_letter(&bad, "refused", None, now)?;
            log::warn!("convtrack: Meta refused {} catalog change(s); moved to catalog dead letters", bad.len());
        }
        Ok(Some(Settled { sent: good.len() as u64, refused: bad.len() as u64, fbtrace_id: None }))
    }

    fn reschedule(&self, items: &[ClaimedItem], next_ms: i64, why: &str) -> Result<()> {
        self.queue.reschedule(items, next_ms, why)
    }

    fn release(&self, items: &[ClaimedItem]) -> Result<()> {
        self.queue.release(items)
    }

    fn dead_letter(&self, items: &[ClaimedItem], reason: &str, code: Option<i64>, _subcode: Option<i64>, now_ms: i64) -> Result<()> {
        self.queue.dead_letter(items, reason, code, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.sqlite3");
        let ob = Outbox::open(path.to_str().unwrap(), "1234").unwrap();
        (dir, ob)
    }

    #[test]
    fn ten_edits_of_one_product_coalesce_into_one_change() {
        let (_d, ob) = open();
        let q = CatalogQueue::new(&ob, "99");
        for i in 0..10 {
            let replaced = q.enqueue("SKU-1", Method::Update, &format!("{{\"id\":\"SKU-1\",\"title\":\"v{i}\"}}"), 1000 + i).unwrap();
            assert_eq!(replaced, i > 0);
        }
        q.enqueue("SKU-2", Method::Delete, &delete_data("SKU-2"), 2000).unwrap();
        let rows = q.claim(5000, 100, 1000).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].retailer_id, "SKU-1");
        assert!(rows[0].data.contains("\"v9\""));
        assert_eq!(rows[0].version, 10);
        let body: Value = serde_json::from_str(&batch_body(&rows)).unwrap();
        assert_eq!(body["requests"][0]["method"], "UPDATE");
        assert_eq!(body["requests"][1], json!({"method": "DELETE", "data": {"id": "SKU-2"}}));
        q.mark_sent(&rows, Some("h1"), 6000).unwrap();
        assert_eq!(q.stats().unwrap().depth, 0);
        assert_eq!(ob.counters().unwrap().get("catalog.coalesced"), Some(&9));
    }

    #[test]
    fn an_edit_during_a_send_is_not_lost() {
        let (_d, ob) = open();
        let q = CatalogQueue::new(&ob, "99");
        q.enqueue("SKU-1", Method::Update, "{\"id\":\"SKU-1\",\"title\":\"old\"}", 1000).unwrap();
        let rows = q.claim(1000, 10, 60_000).unwrap();
        q.enqueue("SKU-1", Method::Update, "{\"id\":\"SKU-1\",\"title\":\"new\"}", 1001).unwrap();
        q.mark_sent(&rows, None, 1002).unwrap();
        let again = q.claim(1003, 10, 60_000).unwrap();
        assert_eq!(again.len(), 1, "the newer edit stays queued and is claimable at once");
        assert!(again[0].data.contains("new"));
    }

    #[test]
    fn refused_items_are_dead_lettered_and_others_retry_later() {
        let (_d, ob) = open();
        let q = CatalogQueue::new(&ob, "99");
        q.enqueue("A", Method::Update, "{\"id\":\"A\"}", 1).unwrap();
        q.enqueue("B", Method::Update, "{\"id\":\"B\"}", 2).unwrap();
        let rows = q.claim(10, 10, 1000).unwrap();
        q.dead_letter(&rows[..1], "refused", Some(100), 11).unwrap();
        q.reschedule(&rows[1..], 500, "http 503").unwrap();
        assert!(q.claim(100, 10, 1000).unwrap().is_empty(), "B is not due yet");
        assert_eq!(q.claim(500, 10, 1000).unwrap()[0].attempts, 1);
        let st = q.stats().unwrap();
        assert_eq!((st.depth, st.dead_letters), (1, 1));
        assert_eq!(q.dead_letters(5).unwrap()[0]["retailer_id"], "A");
    }

    #[test]
    fn answers_are_read_per_item() {
        let ok = r#"{"handles":["H"],"validation_status":[{"retailer_id":"A","errors":[{"message":"bad price"}],"warnings":[]},{"retailer_id":"B","errors":[],"warnings":[{"message":"w"}]}]}"#;
        let (handle, refused) = accepted_batch(ok).unwrap();
        assert_eq!(handle.as_deref(), Some("H"));
        assert_eq!(refused.len(), 1);
        assert_eq!(refused["A"], "bad price");
        assert!(accepted_batch(r#"{"events_received":1}"#).is_none());
        assert!(accepted_batch("<html>").is_none());
    }
}
