//! The durable outbox (docs/spec.md §5, §9): an SQLite file on local disk holding the
//! queue of events to send, the ledger of accepted event ids (local dedup),
//! dead letters, counters and delivery state.
//!
//! Every process of the shop on one host opens the same file (its own
//! connection); SQLite's locking makes accept/claim atomic across processes.
//! WAL mode with `synchronous=NORMAL`: a committed `track` survives a crash or
//! `kill -9` of the process; an OS crash or power loss may lose the last
//! transactions. Only what will be sent is stored: hashed customer data, never raw PII.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Error, ErrorCode, Result};

/// The ledger keeps accepted ids at least this long (Meta dedups within 48 h).
pub const LEDGER_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// How long a dead letter (and the hashed payload it holds) is kept for
/// inspection and retry. After Meta's 7-day window it can no longer be sent.
pub const DEAD_LETTER_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// SQLite's own busy handler (`busy_timeout`) sleeps 1, 2, 5, 10 … up to 100 ms
/// between tries, so a writer that finds the file locked for the tens of
/// microseconds one of our write transactions lasts loses a millisecond at least,
/// and tens under many worker processes. This one yields at once a few times, then
/// sleeps in steps that double from 20 µs to 1 ms; it gives up (SQLITE_BUSY, a
/// storage error) after about 10 s, as the old timeout did.
fn wait_for_writer(tries: i32) -> bool {
    match wait_schedule_us(tries) {
        None => false,
        Some(0) => {
            std::thread::yield_now();
            true
        }
        Some(us) => {
            std::thread::sleep(Duration::from_micros(us));
            true
        }
    }
}

/// How long [`wait_for_writer`] waits before try `tries` + 1 (0: only yield), or
/// `None` once it gives up.
#[doc(hidden)]
pub fn wait_schedule_us(tries: i32) -> Option<u64> {
    const QUICK: i32 = 3;
    const CAP_US: u64 = 1000;
    const GIVE_UP: i32 = QUICK + 6 + 10_000;
    match tries {
        t if t < QUICK => Some(0),
        t if t > GIVE_UP => None,
        t => Some((20u64 << (t - QUICK).min(6)).min(CAP_US)),
    }
}

fn storage(e: rusqlite::Error) -> Error {
    // rusqlite messages carry SQLite's text (table/column names, "database is locked"),
    // never bound parameter values.
    Error::field(ErrorCode::Storage, "outbox", format!("database error: {e}"))
}

/// One event to enqueue.
#[derive(Clone, Debug)]
pub struct NewEvent<'a> {
    pub event_name: &'a str,
    pub event_id: &'a str,
    pub event_time: i64,
    /// The Conversions API event object as JSON text (hashed data only).
    pub payload: &'a str,
}

/// A claimed row, leased to one sender until `claimed_until`.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub event_name: String,
    pub event_id: String,
    pub event_time: i64,
    pub attempts: i64,
    pub payload: String,
}

/// What [`Outbox::accept`] did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    Queued,
    /// Stored in the hold, waiting for the shopper's consent.
    Held,
    /// The same event was accepted before: nothing queued.
    Duplicate,
    /// The merchant's recorded controls (another process may have changed them
    /// since this one last looked) send no server events: nothing queued.
    Stopped,
}

/// Queue figures for `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub depth: i64,
    pub due: i64,
    pub oldest_enqueued_at_ms: Option<i64>,
    /// When the next event becomes sendable (retry due and no sender holding it).
    pub next_attempt_at_ms: Option<i64>,
    pub dead_letters: i64,
}

/// The outbox of one pixel in one SQLite file.
pub struct Outbox {
    conn: Mutex<Connection>,
    pixel_id: String,
    path: String,
    /// Events accepted through this handle, to look at the WAL's size now and then.
    accepted: AtomicU64,
}

/// Checkpoints are the sender's work (see [`Outbox::checkpoint`]); a checkout only
/// checkpoints when nobody has for so long that the WAL passed this size.
const WAL_BACKSTOP_BYTES: u64 = 64 << 20;
/// Most rows one write transaction of the sender touches: checkouts wait for the
/// write lock while it is held.
pub(crate) const WRITE_CHUNK: usize = 128;
/// A checkout looks at the WAL's size at its handle's first accepted event and once per this many after.
const WAL_LOOK_EVERY: u64 = 1024;

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("path", &self.path).field("pixel_id", &self.pixel_id).finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (
    event_key   TEXT PRIMARY KEY,
    accepted_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_age ON ledger(accepted_at);
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    pixel_id        TEXT NOT NULL,
    event_key       TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_time      INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    enqueued_at     INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(pixel_id, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_key ON outbox(event_key);
CREATE TABLE IF NOT EXISTS dead_letters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    pixel_id   TEXT NOT NULL,
    event_name TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    event_time INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    code       INTEGER,
    subcode    INTEGER,
    failed_at  INTEGER NOT NULL,
    payload    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    pixel_id TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (pixel_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    pixel_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (pixel_id, key)
) WITHOUT ROWID;
-- Live catalog updates: one row per (catalog, product), replaced by a newer edit
-- while queued (coalescing); `version` tells a send that raced with an edit apart.
CREATE TABLE IF NOT EXISTS catalog_queue (
    catalog_id      TEXT NOT NULL,
    retailer_id     TEXT NOT NULL,
    method          TEXT NOT NULL,
    data            TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    enqueued_at     INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    PRIMARY KEY (catalog_id, retailer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS catalog_queue_due ON catalog_queue(catalog_id, next_attempt_at);
-- Server copies whose shopper has not answered the consent banner yet
-- (unknown_consent = hold): released to the outbox by set_consent, else dropped at expires_at.
CREATE TABLE IF NOT EXISTS held (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pixel_id    TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    event_name  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    event_time  INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    held_at     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS held_event ON held(pixel_id, event_id);
CREATE INDEX IF NOT EXISTS held_expiry ON held(pixel_id, expires_at);
-- The merchant's live controls (delivery/controls.rs): one row per change, with the
-- state it led to. Append-only: the audit trail of who turned receipt data on or off.
CREATE TABLE IF NOT EXISTS controls_history (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    pixel_id          TEXT NOT NULL,
    at_ms             INTEGER NOT NULL,
    actor             TEXT NOT NULL,
    set_data_controls INTEGER,
    set_mode          TEXT,
    legal_ack         INTEGER NOT NULL,
    discarded         INTEGER NOT NULL,
    data_controls     INTEGER NOT NULL,
    mode              TEXT NOT NULL,
    in_flight         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS controls_history_pixel ON controls_history(pixel_id, id);
CREATE TRIGGER IF NOT EXISTS controls_history_no_update BEFORE UPDATE ON controls_history
BEGIN SELECT RAISE(ABORT, 'controls_history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS controls_history_no_delete BEFORE DELETE ON controls_history
BEGIN SELECT RAISE(ABORT, 'controls_history is append-only'); END;
CREATE TABLE IF NOT EXISTS catalog_dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    catalog_id  TEXT NOT NULL,
    retailer_id TEXT NOT NULL,
    method      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    code        INTEGER,
    failed_at   INTEGER NOT NULL,
    data        TEXT NOT NULL
);
";

/// Columns added after a table was first released: a file made by an older version
/// gets them (with their default) when a newer one opens it. Older versions name
/// their columns on insert, so they keep working on the newer file.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("controls_history", "in_flight", "INTEGER NOT NULL DEFAULT 0")];

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, decl) in ADDED_COLUMNS {
        let present: bool =
            conn.query_row(&format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"), [column], |r| r.get(0))?;
        if !present {
            // Two processes may open an old file at once: the loser's ALTER fails as a duplicate.
            if let Err(e) = conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}")) {
                if !e.to_string().contains("duplicate column") {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// Bumps a counter of `pixel_id` (catalog updates count into the same table).
pub(crate) fn incr(tx: &Connection, pixel_id: &str, name: &str, by: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO counters(pixel_id, name, value) VALUES (?1, ?2, ?3)
         ON CONFLICT(pixel_id, name) DO UPDATE SET value = value + excluded.value",
    )?
    .execute(params![pixel_id, name, by])?;
    Ok(())
}

/// `?,?,…` for an `IN (…)` list of `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 2);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push('?');
    }
    s
}

/// Creates the outbox's directory (0700) and file (0600) if they are missing,
/// and takes group and other access away from an existing file and its
/// `-wal`/`-shm`/`-journal` companions (from an older version, or a umask
/// of 022). SQLite creates the companions with the main file's mode. An
/// in-memory or URI path is left to SQLite.
fn make_private(path: &str) -> Result<()> {
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    let io = |what: &str, e: std::io::Error| Error::field(ErrorCode::Storage, "outbox_path", format!("{what}: {}", e.kind()));
    let file = std::path::Path::new(path);
    if let Some(parent) = file.parent() {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            let mut dir = std::fs::DirBuilder::new();
            dir.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
            dir.create(parent).map_err(|e| io("cannot create its directory", e))?;
        }
    }
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(file) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("cannot create the database file", e)),
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        use std::os::unix::fs::PermissionsExt;
        let p = format!("{path}{suffix}");
        let Ok(meta) = std::fs::metadata(&p) else { continue };
        let mode = meta.permissions().mode();
        if meta.is_file() && mode & 0o077 != 0 {
            // Not ours to change (another owner): SQLite reports what it cannot open.
            if std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode & 0o700)).is_err() {
                log::warn!("convtrack: the outbox file{suffix} is readable by other users and could not be made private");
            }
        }
    }
    Ok(())
}

impl Outbox {
    /// Opens (creating if needed) the outbox file for `pixel_id`. The file, its
    /// `-wal`/`-shm` companions and any directory created for it are private to
    /// the owner (0600 / 0700): they hold client IPs, user agents and hashed
    /// customer data.
    pub fn open(path: &str, pixel_id: &str) -> Result<Outbox> {
        make_private(path)?;
        let conn = Connection::open(path)
            .map_err(|e| Error::field(ErrorCode::Storage, "outbox_path", format!("cannot open the database: {e}")))?;
        conn.busy_handler(Some(wait_for_writer)).map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(storage)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(storage)?;
        // SQLite checkpoints inside the commit that passes 1000 WAL pages: a checkout
        // would copy the WAL into the database and fsync it (milliseconds, more under
        // many workers). Here the sender checkpoints after each flush instead.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(storage)?;
        conn.execute_batch(SCHEMA).map_err(storage)?;
        migrate(&conn).map_err(storage)?;
        // Room for every statement the outbox reuses, so the checkout's are never evicted
        // (parsing them again would lengthen the write transaction other workers wait on).
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Outbox { conn: Mutex::new(conn), pixel_id: pixel_id.to_string(), path: path.to_string(), accepted: AtomicU64::new(0) })
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut guard = match self.conn.lock() {
            Ok(g) => g,
            // A panic while holding the lock leaves the connection usable (SQLite rolls back).
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard).map_err(storage)
    }

    /// The pixel whose rows this handle reads and writes.
    pub fn pixel_id(&self) -> &str {
        &self.pixel_id
    }

    fn key(&self, event_name: &str, event_id: &str) -> String {
        // Pixel ids are digits and event names have no '|': the key is unambiguous.
        format!("{}|{}|{}", self.pixel_id, event_name, event_id)
    }

    /// Atomically records the event id in the ledger and enqueues the event. Nothing
    /// is enqueued for an event accepted before, or when the merchant's recorded
    /// controls say no server event may be queued: they are read inside the same
    /// write transaction, so no event is queued after a switch-off committed. With
    /// `hold_until_ms`, the event is held (not sent) until the shopper's answer or that time.
    pub fn accept(&self, e: &NewEvent<'_>, now_ms: i64, hold_until_ms: Option<i64>) -> Result<Accepted> {
        let key = self.key(e.event_name, e.event_id);
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some((false, reason)) = crate::delivery::controls::recorded_sends(&tx, pixel)? {
                incr(&tx, pixel, &format!("blocked.{reason}"), 1)?;
                tx.commit()?;
                return Ok(Accepted::Stopped);
            }
            let inserted =
                tx.prepare_cached("INSERT OR IGNORE INTO ledger(event_key, accepted_at) VALUES (?1, ?2)")?.execute(params![key, now_ms])?;
            if inserted == 0 {
                incr(&tx, pixel, "duplicate", 1)?;
                tx.commit()?;
                return Ok(Accepted::Duplicate);
            }
            if let Some(until) = hold_until_ms {
                tx.prepare_cached(
                    "INSERT INTO held(pixel_id, event_key, event_name, event_id, event_time, payload, held_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![pixel, key, e.event_name, e.event_id, e.event_time, e.payload, now_ms, until])?;
                incr(&tx, pixel, "hold.held", 1)?;
                tx.commit()?;
                return Ok(Accepted::Held);
            }
            tx.prepare_cached(
                "INSERT INTO outbox(pixel_id, event_key, event_name, event_id, event_time, payload, enqueued_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![pixel, key, e.event_name, e.event_id, e.event_time, e.payload, now_ms])?;
            incr(&tx, pixel, "accepted", 1)?;
            tx.commit()?;
            Ok(Accepted::Queued)
        })
        .inspect(|&accepted| {
            if accepted == Accepted::Queued && self.accepted.fetch_add(1, Ordering::Relaxed) % WAL_LOOK_EVERY == 0 {
                // The event is stored: a failed checkpoint must not fail the checkout.
                if let Err(e) = self.backstop_checkpoint() {
                    log::warn!("convtrack: WAL checkpoint failed: {e}");
                }
            }
        })
    }

    /// Copies the WAL into the database without waiting for readers or blocking
    /// writers (SQLite's PASSIVE mode), so that the WAL restarts small. The sender
    /// calls it after each flush.
    pub fn checkpoint(&self) -> Result<()> {
        self.with(|c| c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())))
    }

    /// No sender has checkpointed for long (none runs, or it is down): the checkout
    /// that finds the WAL past its backstop size does it, rather than let it grow.
    fn backstop_checkpoint(&self) -> Result<()> {
        let wal = std::fs::metadata(format!("{}-wal", self.path)).map(|m| m.len()).unwrap_or(0);
        if wal > WAL_BACKSTOP_BYTES {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Adds to a counter.
    pub fn count(&self, name: &str, by: i64) -> Result<()> {
        self.with(|c| incr(c, &self.pixel_id, name, by))
    }

    /// Leases up to `limit` due events to the caller for `lease_ms`. The due rows are
    /// read without the write lock; each chunk of them is then leased in a short write
    /// transaction that skips rows another sender leased meanwhile, so that a flush
    /// never holds the lock checkouts wait for longer than one chunk takes.
    pub fn claim(&self, now_ms: i64, limit: usize, lease_ms: i64) -> Result<Vec<Claimed>> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let due: Vec<Claimed> = {
                let mut stmt = c.prepare_cached(
                    "SELECT id, event_name, event_id, event_time, attempts, payload FROM outbox
                     WHERE pixel_id = ?1 AND next_attempt_at <= ?2 AND claimed_until <= ?2
                     ORDER BY id LIMIT ?3",
                )?;
                let mapped = stmt.query_map(params![pixel, now_ms, limit as i64], |r| {
                    Ok(Claimed {
                        id: r.get(0)?,
                        event_name: r.get(1)?,
                        event_id: r.get(2)?,
                        event_time: r.get(3)?,
                        attempts: r.get(4)?,
                        payload: r.get(5)?,
                    })
                })?;
                mapped.collect::<rusqlite::Result<_>>()?
            };
            let mut leased = std::collections::HashSet::with_capacity(due.len());
            for chunk in due.chunks(WRITE_CHUNK) {
                let sql = format!(
                    "UPDATE outbox SET claimed_until = ? WHERE next_attempt_at <= ? AND claimed_until <= ? AND id IN ({}) RETURNING id",
                    placeholders(chunk.len())
                );
                let mut args: Vec<i64> = vec![now_ms + lease_ms, now_ms, now_ms];
                args.extend(chunk.iter().map(|r| r.id));
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                {
                    let mut stmt = tx.prepare(&sql)?;
                    let ids = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))?;
                    for id in ids {
                        leased.insert(id?);
                    }
                }
                tx.commit()?;
            }
            Ok(due.into_iter().filter(|r| leased.contains(&r.id)).collect())
        })
    }

    /// Delivered: removes the rows and counts them, with per-field coverage; in short
    /// write transactions of at most [`WRITE_CHUNK`] rows each (the first also counts
    /// the coverage).
    pub fn mark_sent(&self, ids: &[i64], coverage: &BTreeMap<&'static str, i64>) -> Result<()> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            for (n, chunk) in ids.chunks(WRITE_CHUNK).enumerate() {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let sql = format!("DELETE FROM outbox WHERE id IN ({})", placeholders(chunk.len()));
                tx.execute(&sql, rusqlite::params_from_iter(chunk.iter()))?;
                incr(&tx, pixel, "sent", chunk.len() as i64)?;
                if n == 0 {
                    for (field, count) in coverage {
                        incr(&tx, pixel, &format!("coverage.{field}"), *count)?;
                    }
                }
                tx.commit()?;
            }
            Ok(())
        })
    }

    /// Which of `ids` are still in the queue (not sent, revoked or discarded since).
    pub(crate) fn still_queued(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        self.with(|c| {
            let mut out = std::collections::HashSet::with_capacity(ids.len());
            for chunk in ids.chunks(WRITE_CHUNK) {
                let sql = format!("SELECT id FROM outbox WHERE id IN ({})", placeholders(chunk.len()));
                let mut stmt = c.prepare(&sql)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(chunk.iter()), |r| r.get::<_, i64>(0))?;
                for id in rows {
                    out.insert(id?);
                }
            }
            Ok(out)
        })
    }

    /// A transient failure: release the lease and retry at `next_ms`.
    pub fn reschedule(&self, ids: &[i64], next_ms: i64, error: &str) -> Result<()> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let sql = format!(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, claimed_until = 0, last_error = ? WHERE id IN ({})",
                placeholders(ids.len())
            );
            let mut args: Vec<rusqlite::types::Value> = vec![next_ms.into(), error.to_string().into()];
            args.extend(ids.iter().map(|i| rusqlite::types::Value::from(*i)));
            tx.execute(&sql, rusqlite::params_from_iter(args))?;
            incr(&tx, pixel, "retried", ids.len() as i64)?;
            tx.commit()
        })
    }

    /// Gives the rows back without counting an attempt (delivery paused).
    pub fn release(&self, ids: &[i64]) -> Result<()> {
        self.with(|c| {
            let sql = format!("UPDATE outbox SET claimed_until = 0 WHERE id IN ({})", placeholders(ids.len()));
            c.execute(&sql, rusqlite::params_from_iter(ids.iter()))?;
            Ok(())
        })
    }

    /// Handed off to a task queue (Celery): the broker now holds the event; removes the rows.
    pub fn ack_handoff(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let sql = format!("DELETE FROM outbox WHERE pixel_id = ? AND id IN ({})", placeholders(ids.len()));
            let mut args: Vec<rusqlite::types::Value> = vec![pixel.to_string().into()];
            args.extend(ids.iter().map(|i| rusqlite::types::Value::from(*i)));
            let n = tx.execute(&sql, rusqlite::params_from_iter(args))?;
            incr(&tx, pixel, "handed_off", n as i64)?;
            tx.commit()
        })
    }

    /// Dead-letters an event that is not (or no longer) in the outbox, e.g. one a Celery
    /// worker received from the broker and Meta rejected or that expired.
    #[allow(clippy::too_many_arguments)]
    pub fn dead_letter_payload(
        &self,
        event_name: &str,
        event_id: &str,
        event_time: i64,
        payload: &str,
        reason: &str,
        code: Option<i64>,
        subcode: Option<i64>,
        now_ms: i64,
    ) -> Result<()> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO dead_letters(pixel_id, event_name, event_id, event_time, reason, code, subcode, failed_at, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![pixel, event_name, event_id, event_time, reason, code, subcode, now_ms, payload],
            )?;
            let counter = match (reason, code) {
                ("expired", _) => "expired".to_string(),
                (_, Some(code)) => format!("failed.{code}"),
                (_, None) => format!("failed.{reason}"),
            };
            incr(&tx, pixel, &counter, 1)?;
            tx.commit()
        })
    }

    /// Moves rows to the dead letters with a reason and Graph error code.
    pub fn dead_letter(&self, ids: &[i64], reason: &str, code: Option<i64>, subcode: Option<i64>, now_ms: i64) -> Result<()> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let list = placeholders(ids.len());
            let sql = format!(
                "INSERT INTO dead_letters(pixel_id, event_name, event_id, event_time, reason, code, subcode, failed_at, payload)
                 SELECT pixel_id, event_name, event_id, event_time, ?, ?, ?, ?, payload FROM outbox WHERE id IN ({list})"
            );
            let mut args: Vec<rusqlite::types::Value> = vec![reason.to_string().into(), code.into(), subcode.into(), now_ms.into()];
            args.extend(ids.iter().map(|i| rusqlite::types::Value::from(*i)));
            tx.execute(&sql, rusqlite::params_from_iter(args))?;
            tx.execute(&format!("DELETE FROM outbox WHERE id IN ({list})"), rusqlite::params_from_iter(ids.iter()))?;
            let counter = match code {
                Some(code) => format!("failed.{code}"),
                None => format!("failed.{reason}"),
            };
            incr(&tx, pixel, &counter, ids.len() as i64)?;
            tx.commit()
        })
    }

    /// Dead-letters every queued event whose `event_time` is before `cutoff` (Unix seconds).
    pub fn expire(&self, cutoff: i64, now_ms: i64) -> Result<usize> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO dead_letters(pixel_id, event_name, event_id, event_time, reason, code, subcode, failed_at, payload)
                 SELECT pixel_id, event_name, event_id, event_time, 'expired', NULL, NULL, ?3, payload FROM outbox
                 WHERE pixel_id = ?1 AND event_time < ?2",
                params![pixel, cutoff, now_ms],
            )?;
            let n = tx.execute("DELETE FROM outbox WHERE pixel_id = ?1 AND event_time < ?2", params![pixel, cutoff])?;
            if n > 0 {
                incr(&tx, pixel, "expired", n as i64)?;
            }
            // Holds nobody answered in time are dropped, never sent.
            let unanswered = tx.execute("DELETE FROM held WHERE pixel_id = ?1 AND expires_at <= ?2", params![pixel, now_ms])?;
            if unanswered > 0 {
                incr(&tx, pixel, "hold.expired", unanswered as i64)?;
            }
            // Keep the ledger bounded: ids older than the retention can no longer be sent anyway.
            tx.execute("DELETE FROM ledger WHERE accepted_at < ?1", params![now_ms - LEDGER_RETENTION_MS])?;
            // Dead letters hold hashed customer data: kept for a bounded time only.
            tx.execute(
                "DELETE FROM dead_letters WHERE pixel_id = ?1 AND failed_at < ?2",
                params![pixel, now_ms - DEAD_LETTER_RETENTION_MS],
            )?;
            tx.commit()?;
            Ok(n)
        })
    }

    /// Drops a queued event (consent revoked), and its dead letter if it has
    /// one (it holds the same hashed data). Returns whether one was queued.
    pub fn revoke(&self, event_name: &str, event_id: &str) -> Result<bool> {
        let key = self.key(event_name, event_id);
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute("DELETE FROM outbox WHERE event_key = ?1", params![key])?
                + tx.execute("DELETE FROM held WHERE pixel_id = ?1 AND event_key = ?2", params![pixel, key])?;
            tx.execute(
                "DELETE FROM dead_letters WHERE pixel_id = ?1 AND event_name = ?2 AND event_id = ?3",
                params![pixel, event_name, event_id],
            )?;
            if n > 0 {
                incr(&tx, pixel, "revoked", n as i64)?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    /// The shopper answered: with `granted`, their held events (by event id) move to the
    /// queue, due now; otherwise they are dropped. Holds past their time are left to
    /// expiry. Returns how many events were released (or dropped).
    pub fn answer_holds(&self, event_ids: &[&str], granted: bool, now_ms: i64) -> Result<u64> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut n = 0u64;
            for chunk in event_ids.chunks(WRITE_CHUNK) {
                let filter = format!("pixel_id = ? AND expires_at > ? AND event_id IN ({})", placeholders(chunk.len()));
                let mut args: Vec<rusqlite::types::Value> = vec![pixel.to_string().into(), now_ms.into()];
                args.extend(chunk.iter().map(|id| rusqlite::types::Value::from(id.to_string())));
                if granted {
                    tx.execute(
                        &format!(
                            "INSERT INTO outbox(pixel_id, event_key, event_name, event_id, event_time, payload, enqueued_at, next_attempt_at)
                             SELECT pixel_id, event_key, event_name, event_id, event_time, payload, {now_ms}, {now_ms} FROM held
                             WHERE {filter} ORDER BY id"
                        ),
                        rusqlite::params_from_iter(args.iter()),
                    )?;
                }
                n += tx.execute(&format!("DELETE FROM held WHERE {filter}"), rusqlite::params_from_iter(args.iter()))? as u64;
            }
            if n > 0 {
                incr(&tx, pixel, if granted { "hold.released" } else { "hold.dropped" }, n as i64)?;
                if granted {
                    incr(&tx, pixel, "accepted", n as i64)?;
                }
            }
            tx.commit()?;
            Ok(n)
        })
    }

    /// How many events are held.
    pub fn held(&self) -> Result<i64> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM held WHERE pixel_id = ?1", params![self.pixel_id], |r| r.get(0)))
    }

    /// Reads a delivery-state value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row("SELECT value FROM meta WHERE pixel_id = ?1 AND key = ?2", params![self.pixel_id, key], |r| r.get(0)).optional()
        })
    }

    /// Writes (or with `None`, clears) a delivery-state value.
    pub fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()> {
        self.with(|c| {
            match value {
                Some(v) => c.execute(
                    "INSERT INTO meta(pixel_id, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT(pixel_id, key) DO UPDATE SET value = excluded.value",
                    params![self.pixel_id, key, v],
                )?,
                None => c.execute("DELETE FROM meta WHERE pixel_id = ?1 AND key = ?2", params![self.pixel_id, key])?,
            };
            Ok(())
        })
    }

    /// How many events are queued, and when a waiting flush should look again (a lease
    /// another sender holds counts as "soon": its answer is on the way).
    pub(crate) fn next_wake(&self, now_ms: i64) -> Result<(i64, Option<i64>)> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT COUNT(*), {} FROM outbox WHERE pixel_id = ?1", crate::delivery::sender::NEXT_WAKE_SQL),
                params![self.pixel_id, now_ms, crate::delivery::sender::IN_FLIGHT_POLL_MS],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// All counters of this pixel.
    pub fn counters(&self) -> Result<BTreeMap<String, i64>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached("SELECT name, value FROM counters WHERE pixel_id = ?1")?;
            let rows = stmt.query_map(params![self.pixel_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Queue figures.
    pub fn stats(&self, now_ms: i64) -> Result<QueueStats> {
        self.with(|c| {
            let (depth, oldest, next): (i64, Option<i64>, Option<i64>) = c.query_row(
                "SELECT COUNT(*), MIN(enqueued_at), MIN(MAX(next_attempt_at, claimed_until)) FROM outbox WHERE pixel_id = ?1",
                params![self.pixel_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let due: i64 = c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE pixel_id = ?1 AND next_attempt_at <= ?2",
                params![self.pixel_id, now_ms],
                |r| r.get(0),
            )?;
            let dead_letters: i64 =
                c.query_row("SELECT COUNT(*) FROM dead_letters WHERE pixel_id = ?1", params![self.pixel_id], |r| r.get(0))?;
            Ok(QueueStats { depth, due, oldest_enqueued_at_ms: oldest, next_attempt_at_ms: next, dead_letters })
        })
    }

    /// The dead letters (newest first, at most `limit`): id, event name and id, event
    /// time, reason, Graph code and subcode, and when it failed (Unix seconds). Never
    /// the payload.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<serde_json::Value>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, event_name, event_id, event_time, reason, code, subcode, failed_at FROM dead_letters
                 WHERE pixel_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![self.pixel_id, limit.min(i64::MAX as usize) as i64], |r| {
                Ok(serde_json::json!({
                    "id": r.get::<_, i64>(0)?,
                    "event_name": r.get::<_, String>(1)?,
                    "event_id": r.get::<_, String>(2)?,
                    "event_time": r.get::<_, i64>(3)?,
                    "reason": r.get::<_, String>(4)?,
                    "code": r.get::<_, Option<i64>>(5)?,
                    "subcode": r.get::<_, Option<i64>>(6)?,
                    "failed_at": r.get::<_, i64>(7)? / 1000,
                }))
            })?;
            rows.collect()
        })
    }

    /// Puts dead letters (`None`: all of them) back in the queue, due now, with their
    /// attempts reset. Those too old for Meta stay where they are. Returns how many
    /// were queued again.
    /// `None` when the controls in force (recorded, else `defaults`) send no server
    /// events: read inside the write transaction, so a switch-off that commits first wins.
    pub fn retry_dead_letters(
        &self,
        ids: Option<&[i64]>,
        cutoff: i64,
        now_ms: i64,
        defaults: &crate::delivery::controls::ControlState,
    ) -> Result<Option<u64>> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !crate::delivery::controls::recorded(&tx, pixel)?.unwrap_or_else(|| defaults.clone()).sends_events() {
                return Ok(None);
            }
            let mut n = 0u64;
            for chunk in id_chunks(ids) {
                let (filter, mut args) = dead_letter_filter(pixel, chunk);
                args.push(cutoff.into());
                tx.execute(
                    &format!(
                        "INSERT INTO outbox(pixel_id, event_key, event_name, event_id, event_time, payload, enqueued_at, next_attempt_at)
                         SELECT pixel_id, pixel_id || '|' || event_name || '|' || event_id, event_name, event_id, event_time, payload, {now_ms}, {now_ms}
                         FROM dead_letters WHERE {filter} AND event_time >= ? ORDER BY id"
                    ),
                    rusqlite::params_from_iter(args.iter()),
                )?;
                n += tx.execute(&format!("DELETE FROM dead_letters WHERE {filter} AND event_time >= ?"), rusqlite::params_from_iter(args.iter()))?
                    as u64;
            }
            if n > 0 {
                incr(&tx, pixel, "dead_letters.retried", n as i64)?;
            }
            tx.commit()?;
            Ok(Some(n))
        })
    }

    /// Deletes dead letters (`None`: all of them) for good. Returns how many.
    pub fn discard_dead_letters(&self, ids: Option<&[i64]>) -> Result<u64> {
        let pixel = self.pixel_id.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut n = 0u64;
            for chunk in id_chunks(ids) {
                let (filter, args) = dead_letter_filter(pixel, chunk);
                n += tx.execute(&format!("DELETE FROM dead_letters WHERE {filter}"), rusqlite::params_from_iter(args.iter()))? as u64;
            }
            if n > 0 {
                incr(&tx, pixel, "dead_letters.discarded", n as i64)?;
            }
            tx.commit()?;
            Ok(n)
        })
    }
}

/// `ids` in chunks small enough for one statement (`None`, all rows: one chunk).
fn id_chunks(ids: Option<&[i64]>) -> Vec<Option<&[i64]>> {
    match ids {
        None => vec![None],
        Some(ids) => ids.chunks(WRITE_CHUNK).map(Some).collect(),
    }
}

/// The WHERE clause and arguments selecting this pixel's dead letters (`None`: all).
fn dead_letter_filter(pixel: &str, ids: Option<&[i64]>) -> (String, Vec<rusqlite::types::Value>) {
    let mut args: Vec<rusqlite::types::Value> = vec![pixel.to_string().into()];
    match ids {
        None => ("pixel_id = ?".to_string(), args),
        Some(ids) => {
            args.extend(ids.iter().map(|i| rusqlite::types::Value::from(*i)));
            (format!("pixel_id = ? AND id IN ({})", placeholders(ids.len())), args)
        }
    }
}
