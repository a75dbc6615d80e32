//! The connector's durable state in SQLite: cursors, processed log files, log files whose
//! download keeps failing, seen event ids, file states, the GPT configuration versions
//! processed, the rate limiter's recent grants, the record outbox and the sinks' delivery
//! cursors, and evidence not yet written to its store.
//!
//! Crash safety rests on one rule: everything learned from a log file (its records, its event
//! ids, the file marked processed, the cursor) is committed in one transaction, and records are
//! written to the output only after that commit, from the outbox. A crash before the commit
//! redoes the file; a crash after it re-emits only the records not yet marked emitted.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind};
use crate::model::{EventType, LogFile};
use crate::record::Record;
use serde::{Deserialize, Serialize};

const SCHEMA_VERSION: &str = "1";

/// What a file is known to be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// Inspected (or skipped for good); never fetched again.
    Done,
    /// Its download failed; retried next cycle with the saved context.
    Pending(String),
}

/// Everything learned from one unit of work, committed at once.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records with their de-duplication keys.
    pub records: Vec<(String, Record)>,
    /// Event ids now seen, with their event time.
    pub seen_events: Vec<(String, Option<String>)>,
    /// The log file now processed: id, event type, end time.
    pub log_file: Option<(String, EventType, String)>,
    /// The cursor to advance (only forward) for an event type.
    pub cursor: Option<(EventType, String)>,
    /// File states to set, by file key.
    pub files: Vec<(String, FileStatus)>,
    /// Log files whose download failed, kept to be retried on later cycles (committed with
    /// the cursor that moves past them). A log file already pending counts one more attempt.
    /// Committing a log file as processed ([`Batch::log_file`]) ends its pending state.
    pub pending_log_files: Vec<PendingLogFile>,
    /// Pending log files given up (past the retention), by id, with the window they cost.
    pub lost_log_files: Vec<(String, LostWindow)>,
    /// GPT configuration versions now processed: GPT id, configuration version.
    pub gpt_configs: Vec<(String, String)>,
    /// Evidence that could not be written to the evidence store: kept until it is.
    pub evidence: Vec<PendingEvidence>,
}

/// A log file whose download failed after the client's retries; the next cycles ask the API
/// for a fresh link until it downloads or passes the retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingLogFile {
    /// The event type it was listed for.
    pub event_type: EventType,
    /// The listing's entry, as received (id, end time, size and checksum to verify).
    pub file: LogFile,
    /// The end time of the log file listed before it (or the listing's `after`): the start of
    /// the window its events may come from, reported if it is lost.
    pub window_start: String,
    /// Failed downloads so far (each after the client's own retries).
    pub attempts: u32,
    /// The last failure, for status reports (never holds the key).
    pub last_error: String,
}

/// A record as the state keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Its sequence number in this state (increasing with commit order).
    pub seq: i64,
    /// Its de-duplication key: the same finding found again has the same key.
    pub dedup_key: String,
    /// When it was committed (Unix seconds; `None` in states of early versions).
    pub committed_unix: Option<i64>,
    /// The record.
    pub record: Record,
}

/// An item's evidence waiting in the state for its store to take it (the store failed when
/// it was first written). `Debug` shows the key and the size, never the content: it is the
/// inspected item itself, with the sensitive values found in it.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingEvidence {
    /// Its key in the evidence store ([`crate::Evidence::key`]).
    pub key: String,
    /// The content to write.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for PendingEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingEvidence")
            .field("key", &self.key)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// A window of time whose events cannot be inspected any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostWindow {
    /// The event type.
    pub event_type: EventType,
    /// Start of the lost window (exclusive).
    pub from: String,
    /// End of the lost window: the oldest time the API still keeps.
    pub to: String,
    /// `offline` (the connector's cursor is older than the retention), `beyond_retention`
    /// (a historical scan asked for more than 30 days) or `download_failed` (a log file whose
    /// download kept failing until it passed the retention).
    pub reason: String,
}

/// One completed scan cycle, as the state remembers it (for status reports).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cycle {
    /// `historical` or `forward`.
    pub mode: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339).
    pub ended_at: String,
    /// Log files processed.
    pub log_files: u64,
    /// New events processed.
    pub events: u64,
    /// Findings written.
    pub findings: u64,
    /// Skipped items written.
    pub skipped: u64,
    /// Windows it found lost.
    pub lost_windows: Vec<LostWindow>,
}

/// What a state database says about its connector, for `dlp chatgpt list`. Every field is
/// what the state holds; nothing is estimated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReport {
    /// The last completed cycle, if any.
    pub last_cycle: Option<Cycle>,
    /// The cursor of each event type: the end time of the newest log file processed.
    pub cursors: Vec<(EventType, String)>,
    /// Findings committed since the report's `since`.
    pub recent_findings: u64,
    /// Skipped items committed since the report's `since`.
    pub recent_skipped: u64,
    /// Findings committed ever.
    pub total_findings: u64,
    /// Every window found lost, oldest first.
    pub lost_windows: Vec<LostWindow>,
    /// Log files whose download failed, waiting to be retried.
    pub pending_log_files: u64,
}

impl StateReport {
    /// Seconds between `now` and the oldest cursor (the event type furthest behind), never
    /// negative; `None` before the first log file.
    pub fn lag_secs(&self, now: OffsetDateTime) -> Option<i64> {
        self.cursors
            .iter()
            .filter_map(|(_, c)| parse_time(c))
            .min()
            .map(|oldest| (now - oldest).whole_seconds().max(0))
    }
}

/// Creates `path`'s directory (0700 where created) and the empty database file, readable by
/// its owner only (0600): it holds findings' metadata. SQLite gives its `-wal` and `-shm`
/// files the database file's mode.
fn create_private(path: &Path) -> Result<(), Error> {
    let fail = |what: &Path, e: std::io::Error| {
        Error::new(
            ErrorKind::State,
            format!("cannot create {}: {e}", what.display()),
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(dir, e))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fail(path, e)),
    }
}

/// How long the rate limiter's grants are kept: the API's window and a minute of slack.
const GRANTS_KEPT_MS: i64 = 120_000;

/// Grants recorded between two prunings of the old ones.
const GRANTS_PER_PRUNE: u32 = 64;

/// The state database of one workspace.
#[derive(Debug)]
pub struct StateStore {
    conn: Connection,
    grants_since_prune: u32,
}

impl StateStore {
    /// Opens (or creates) the state at `path` for `workspace_id`. State of another workspace is
    /// refused, so that a typo cannot mix two workspaces' cursors. A new state file is readable
    /// by its owner only (0600), and a directory created for it too (0700).
    pub fn open(path: &Path, workspace_id: &str) -> Result<StateStore, Error> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|e| {
            Error::new(
                ErrorKind::State,
                format!("cannot open state {}: {e}", path.display()),
            )
        })?;
        StateStore::init(conn, workspace_id)
    }

    /// A state kept in memory only (tests, the demo).
    pub fn in_memory(workspace_id: &str) -> Result<StateStore, Error> {
        StateStore::init(Connection::open_in_memory()?, workspace_id)
    }

    fn init(conn: Connection, workspace_id: &str) -> Result<StateStore, Error> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL + FULL: a committed transaction survives a process kill and a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS cursors (event_type TEXT PRIMARY KEY, end_time TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS log_files (id TEXT PRIMARY KEY, event_type TEXT NOT NULL,
                 end_time TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, event_time TEXT);
             CREATE TABLE IF NOT EXISTS files (file_key TEXT PRIMARY KEY, status TEXT NOT NULL,
                 context TEXT);
             CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 dedup_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, record TEXT NOT NULL,
                 emitted INTEGER NOT NULL DEFAULT 0, committed_unix INTEGER);
             CREATE INDEX IF NOT EXISTS records_pending ON records (emitted) WHERE emitted = 0;
             CREATE TABLE IF NOT EXISTS cycles (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 ended_unix INTEGER NOT NULL, cycle TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS lost_windows (event_type TEXT NOT NULL,
                 from_time TEXT NOT NULL, to_time TEXT NOT NULL, reason TEXT NOT NULL,
                 PRIMARY KEY (event_type, from_time, to_time));
             CREATE TABLE IF NOT EXISTS pending_log_files (id TEXT PRIMARY KEY,
                 event_type TEXT NOT NULL, end_time TEXT NOT NULL, window_start TEXT NOT NULL,
                 log_file TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS gpt_configs (gpt_id TEXT PRIMARY KEY,
                 config_version TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS rate_grants (endpoint TEXT NOT NULL,
                 at_ms INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS rate_grants_at ON rate_grants (at_ms);
             CREATE TABLE IF NOT EXISTS evidence_pending (key TEXT PRIMARY KEY,
                 content BLOB NOT NULL, since_unix INTEGER NOT NULL);",
        )?;
        // The last three tables were added to version 1 without changing it: older programs
        // ignore them.
        // Added to version 1 without changing it: older files gain the column, older
        // programs ignore it (and leave it null).
        let has_committed: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('records') WHERE name = 'committed_unix'")?
            .exists([])?;
        if !has_committed {
            conn.execute_batch("ALTER TABLE records ADD COLUMN committed_unix INTEGER")?;
        }
        // Delivery cursors of the service's sinks (webhooks): the last record sequence number
        // each one has acknowledged.
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sink_cursors (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);",
        )?;
        let stored: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'workspace_id'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match stored {
            Some(id) if id != workspace_id => {
                return Err(Error::new(
                    ErrorKind::State,
                    format!(
                        "this state file belongs to workspace {id}, not {workspace_id}; \
                         use another --state file for another workspace"
                    ),
                ))
            }
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('workspace_id', ?1), ('schema_version', ?2)",
                    params![workspace_id, SCHEMA_VERSION],
                )?;
            }
        }
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if version.as_deref() != Some(SCHEMA_VERSION) {
            return Err(Error::new(
                ErrorKind::State,
                format!(
                    "state schema version {version:?} is not supported (want {SCHEMA_VERSION})"
                ),
            ));
        }
        Ok(StateStore {
            conn,
            grants_since_prune: 0,
        })
    }

    /// The saved cursor of an event type (the API's `last_end_time`, verbatim).
    pub fn cursor(&self, event_type: EventType) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT end_time FROM cursors WHERE event_type = ?1",
                [event_type.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Whether a log file was already processed.
    pub fn log_file_done(&self, id: &str) -> Result<bool, Error> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM log_files WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether an event was already seen.
    pub fn event_seen(&self, event_id: &str) -> Result<bool, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM seen_events WHERE event_id = ?1",
                [event_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The state of a file, if known.
    pub fn file_status(&self, file_key: &str) -> Result<Option<FileStatus>, Error> {
        let row: Option<(String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT status, context FROM files WHERE file_key = ?1",
                [file_key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(status, context)| match status.as_str() {
            "pending" => FileStatus::Pending(context.unwrap_or_default()),
            _ => FileStatus::Done,
        }))
    }

    /// Files whose download must be tried again, with their saved context.
    pub fn pending_files(&self) -> Result<Vec<(String, String)>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT file_key, COALESCE(context, '') FROM files WHERE status = 'pending' ORDER BY file_key",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Log files whose download must be tried again, oldest end time first.
    pub fn pending_log_files(&self) -> Result<Vec<PendingLogFile>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT event_type, window_start, log_file, attempts, last_error
             FROM pending_log_files WHERE id NOT IN (SELECT id FROM log_files)",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (event_type, window_start, json, attempts, last_error) = row?;
            let corrupt = |what: &str| {
                Error::new(
                    ErrorKind::State,
                    format!("corrupt pending log file in the state: {what}"),
                )
            };
            let event_type = EventType::parse(&event_type).ok_or_else(|| corrupt(&event_type))?;
            let file: LogFile = serde_json::from_str(&json).map_err(|e| corrupt(&e.to_string()))?;
            out.push(PendingLogFile {
                event_type,
                file,
                window_start,
                attempts,
                last_error,
            });
        }
        // As times, not strings: the API's precision varies.
        out.sort_by_key(|p| parse_time(&p.file.end_time));
        Ok(out)
    }

    /// The configuration version of a GPT last processed, if any.
    pub fn gpt_config(&self, gpt_id: &str) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT config_version FROM gpt_configs WHERE gpt_id = ?1",
                [gpt_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Remembers a rate-limit grant: a request to `endpoint` (its [`crate::Endpoint::name`])
    /// sent at `at_ms` (wall clock, Unix milliseconds). Grants older than two minutes are
    /// forgotten now and then.
    /// Returns the grant's id, for [`StateStore::settle_grant`].
    pub fn record_grant(&mut self, endpoint: &str, at_ms: i64) -> Result<i64, Error> {
        self.grants_since_prune += 1;
        if self.grants_since_prune < GRANTS_PER_PRUNE {
            self.conn.execute(
                "INSERT INTO rate_grants (endpoint, at_ms) VALUES (?1, ?2)",
                params![endpoint, at_ms],
            )?;
            return Ok(self.conn.last_insert_rowid());
        }
        self.grants_since_prune = 0;
        // One transaction: one sync for both.
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO rate_grants (endpoint, at_ms) VALUES (?1, ?2)",
            params![endpoint, at_ms],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM rate_grants WHERE at_ms < ?1",
            [at_ms - GRANTS_KEPT_MS],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Moves grant `id` to `at_ms` (when its request was answered), never back.
    pub fn settle_grant(&mut self, id: i64, at_ms: i64) -> Result<(), Error> {
        self.conn.execute(
            "UPDATE rate_grants SET at_ms = MAX(at_ms, ?2) WHERE rowid = ?1",
            params![id, at_ms],
        )?;
        Ok(())
    }

    /// Rate-limit grants recorded at or after `since_ms` (Unix milliseconds): endpoint name
    /// and time, oldest first.
    pub fn recent_grants(&self, since_ms: i64) -> Result<Vec<(String, i64)>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT endpoint, at_ms FROM rate_grants WHERE at_ms >= ?1 ORDER BY at_ms")?;
        let rows = stmt.query_map([since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The keys of the evidence waiting for its store, oldest first.
    pub fn pending_evidence_keys(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT key FROM evidence_pending ORDER BY since_unix, key")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The evidence waiting under `key`, if any (read one at a time: each can be as large as
    /// a file).
    pub fn pending_evidence(&self, key: &str) -> Result<Option<PendingEvidence>, Error> {
        let content: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT content FROM evidence_pending WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(content.map(|content| PendingEvidence {
            key: key.to_string(),
            content,
        }))
    }

    /// Forgets the evidence waiting under `key`: its store has it now.
    pub fn remove_pending_evidence(&mut self, key: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM evidence_pending WHERE key = ?1", [key])?;
        Ok(())
    }

    /// How many items' evidence is waiting for its store.
    pub fn pending_evidence_count(&self) -> Result<u64, Error> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM evidence_pending", [], |r| r.get(0))?)
    }

    /// Commits a batch in one transaction. Returns how many of its records were new.
    pub fn commit(&mut self, batch: &Batch) -> Result<usize, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut new = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO records (dedup_key, kind, record, committed_unix)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let now = OffsetDateTime::now_utc().unix_timestamp();
            for (key, record) in &batch.records {
                let kind = match record {
                    Record::Finding(_) => "finding",
                    Record::Skipped(_) => "skipped",
                };
                new += insert.execute(params![key, kind, record.to_json(), now])?;
            }
            let mut seen = tx.prepare_cached(
                "INSERT OR IGNORE INTO seen_events (event_id, event_time) VALUES (?1, ?2)",
            )?;
            for (id, time) in &batch.seen_events {
                seen.execute(params![id, time])?;
            }
            let mut files = tx.prepare_cached(
                "INSERT INTO files (file_key, status, context) VALUES (?1, ?2, ?3)
                 ON CONFLICT (file_key) DO UPDATE SET status = excluded.status, context = excluded.context",
            )?;
            for (key, status) in &batch.files {
                match status {
                    FileStatus::Done => files.execute(params![key, "done", None::<String>])?,
                    FileStatus::Pending(context) => {
                        files.execute(params![key, "pending", context])?
                    }
                };
            }
        }
        for pending in &batch.pending_log_files {
            let json = serde_json::to_string(&pending.file)
                .map_err(|e| Error::new(ErrorKind::State, format!("pending log file: {e}")))?;
            tx.execute(
                "INSERT INTO pending_log_files
                     (id, event_type, end_time, window_start, log_file, attempts, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET attempts = attempts + excluded.attempts,
                     log_file = excluded.log_file, last_error = excluded.last_error",
                params![
                    pending.file.id,
                    pending.event_type.as_str(),
                    pending.file.end_time,
                    pending.window_start,
                    json,
                    pending.attempts.max(1),
                    pending.last_error
                ],
            )?;
        }
        for (id, window) in &batch.lost_log_files {
            tx.execute("DELETE FROM pending_log_files WHERE id = ?1", [id])?;
            tx.execute(
                "INSERT OR IGNORE INTO lost_windows (event_type, from_time, to_time, reason)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    window.event_type.as_str(),
                    window.from,
                    window.to,
                    window.reason
                ],
            )?;
        }
        {
            // A newer content replaces an older one of the same key (as in the store); the
            // time it has been waiting since is kept.
            let mut evidence = tx.prepare_cached(
                "INSERT INTO evidence_pending (key, content, since_unix) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET content = excluded.content",
            )?;
            let now = OffsetDateTime::now_utc().unix_timestamp();
            for pending in &batch.evidence {
                evidence.execute(params![pending.key, pending.content, now])?;
            }
        }
        if let Some((id, event_type, end_time)) = &batch.log_file {
            tx.execute(
                "INSERT OR IGNORE INTO log_files (id, event_type, end_time) VALUES (?1, ?2, ?3)",
                params![id, event_type.as_str(), end_time],
            )?;
            tx.execute("DELETE FROM pending_log_files WHERE id = ?1", [id])?;
        }
        for (gpt_id, version) in &batch.gpt_configs {
            tx.execute(
                "INSERT INTO gpt_configs (gpt_id, config_version) VALUES (?1, ?2)
                 ON CONFLICT (gpt_id) DO UPDATE SET config_version = excluded.config_version",
                params![gpt_id, version],
            )?;
        }
        if let Some((event_type, end_time)) = &batch.cursor {
            let old: Option<String> = tx
                .query_row(
                    "SELECT end_time FROM cursors WHERE event_type = ?1",
                    [event_type.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            // Cursors only move forward.
            let newer = match old.as_deref() {
                None => true,
                Some(old) => parse_time(end_time) > parse_time(old),
            };
            if newer {
                tx.execute(
                    "INSERT INTO cursors (event_type, end_time) VALUES (?1, ?2)
                     ON CONFLICT (event_type) DO UPDATE SET end_time = excluded.end_time",
                    params![event_type.as_str(), end_time],
                )?;
            }
        }
        tx.commit()?;
        Ok(new)
    }

    /// Records committed but not yet written to the output, oldest first.
    pub fn unemitted(&self) -> Result<Vec<(i64, Record)>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, record FROM records WHERE emitted = 0 ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, json) = row?;
            let record = serde_json::from_str(&json).map_err(|e| {
                Error::new(
                    ErrorKind::State,
                    format!("corrupt record {seq} in the state: {e}"),
                )
            })?;
            out.push((seq, record));
        }
        Ok(out)
    }

    /// Marks records as written to the output.
    pub fn mark_emitted(&mut self, seqs: &[i64]) -> Result<(), Error> {
        self.mark_emitted_at(seqs, None)
    }

    /// Marks records as written to the output and, in the same transaction, saves where the
    /// output stands after them ([`crate::RecordSink::checkpoint`]), when it says.
    pub fn mark_emitted_at(&mut self, seqs: &[i64], checkpoint: Option<&str>) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("UPDATE records SET emitted = 1 WHERE seq = ?1")?;
            for seq in seqs {
                stmt.execute([seq])?;
            }
        }
        if let Some(checkpoint) = checkpoint {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('sink_checkpoint', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [checkpoint],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The output checkpoint saved with the last emitted records, if any.
    pub fn sink_checkpoint(&self) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'sink_checkpoint'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The last record sequence number sink `sink` acknowledged (0: none).
    pub fn sink_cursor(&self, sink: &str) -> Result<i64, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq FROM sink_cursors WHERE sink = ?1",
                [sink],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Saves that sink `sink` acknowledged every record up to `seq`.
    pub fn set_sink_cursor(&mut self, sink: &str, seq: i64) -> Result<(), Error> {
        self.conn.execute(
            "INSERT INTO sink_cursors (sink, seq) VALUES (?1, ?2)
             ON CONFLICT (sink) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            params![sink, seq],
        )?;
        Ok(())
    }

    /// Up to `limit` committed records after sequence number `after`, oldest first, with their
    /// sequence numbers and de-duplication keys.
    pub fn records_after(&self, after: i64, limit: usize) -> Result<Vec<StoredRecord>, Error> {
        self.stored_records(
            "SELECT seq, dedup_key, committed_unix, record FROM records WHERE seq > ?1
             ORDER BY seq LIMIT ?2",
            params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    /// Committed findings (and skipped items, with `skipped`) committed at or after
    /// `since_unix`, oldest first.
    pub fn records_since(
        &self,
        since_unix: i64,
        skipped: bool,
    ) -> Result<Vec<StoredRecord>, Error> {
        self.stored_records(
            "SELECT seq, dedup_key, committed_unix, record FROM records
             WHERE COALESCE(committed_unix, 0) >= ?1 AND (kind = 'finding' OR ?2)
             ORDER BY seq",
            params![since_unix, skipped],
        )
    }

    /// The number of committed records after sequence number `after`.
    pub fn count_after(&self, after: i64) -> Result<u64, Error> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM records WHERE seq > ?1",
            [after],
            |r| r.get(0),
        )?)
    }

    fn stored_records(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredRecord>, Error> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, dedup_key, committed_unix, json) = row?;
            let record = serde_json::from_str(&json).map_err(|e| {
                Error::new(
                    ErrorKind::State,
                    format!("corrupt record {seq} in the state: {e}"),
                )
            })?;
            out.push(StoredRecord {
                seq,
                dedup_key,
                committed_unix,
                record,
            });
        }
        Ok(out)
    }

    /// Counts of committed findings and skipped records.
    pub fn record_counts(&self) -> Result<(u64, u64), Error> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(kind = 'finding'), 0), COALESCE(SUM(kind = 'skipped'), 0) FROM records",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Remembers a completed cycle and the windows it found lost. Cycles older than the
    /// retention (and a day) are forgotten.
    pub fn record_cycle(&mut self, cycle: &Cycle) -> Result<(), Error> {
        let ended = parse_time(&cycle.ended_at)
            .unwrap_or_else(OffsetDateTime::now_utc)
            .unix_timestamp();
        let json = serde_json::to_string(cycle)
            .map_err(|e| Error::new(ErrorKind::State, format!("cycle: {e}")))?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO cycles (ended_unix, cycle) VALUES (?1, ?2)",
            params![ended, json],
        )?;
        tx.execute(
            "DELETE FROM cycles WHERE ended_unix < ?1",
            [ended - i64::from(crate::config::RETENTION_DAYS + 1) * 86_400],
        )?;
        for w in &cycle.lost_windows {
            tx.execute(
                "INSERT OR IGNORE INTO lost_windows (event_type, from_time, to_time, reason)
                 VALUES (?1, ?2, ?3, ?4)",
                params![w.event_type.as_str(), w.from, w.to, w.reason],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The last completed cycle, if any.
    pub fn last_cycle(&self) -> Result<Option<Cycle>, Error> {
        let last: Option<String> = self
            .conn
            .query_row(
                "SELECT cycle FROM cycles ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(last.and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// What the state holds about its connector: the last cycle, the cursors, records
    /// committed since `since`, and every lost window.
    pub fn report(&self, since: OffsetDateTime) -> Result<StateReport, Error> {
        let last_cycle = self.last_cycle()?;
        let mut cursors = Vec::new();
        for event_type in EventType::ALL {
            if let Some(cursor) = self.cursor(event_type)? {
                cursors.push((event_type, cursor));
            }
        }
        let (recent_findings, recent_skipped): (u64, u64) = self.conn.query_row(
            "SELECT COALESCE(SUM(kind = 'finding'), 0), COALESCE(SUM(kind = 'skipped'), 0)
             FROM records WHERE committed_unix >= ?1",
            [since.unix_timestamp()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (total_findings, _) = self.record_counts()?;
        let mut stmt = self.conn.prepare(
            "SELECT event_type, from_time, to_time, reason FROM lost_windows ORDER BY from_time",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut lost_windows = Vec::new();
        for row in rows {
            let (event_type, from, to, reason) = row?;
            if let Some(event_type) = EventType::parse(&event_type) {
                lost_windows.push(LostWindow {
                    event_type,
                    from,
                    to,
                    reason,
                });
            }
        }
        let pending_log_files: u64 = self.conn.query_row(
            "SELECT COUNT(*) FROM pending_log_files WHERE id NOT IN (SELECT id FROM log_files)",
            [],
            |r| r.get(0),
        )?;
        Ok(StateReport {
            last_cycle,
            cursors,
            recent_findings,
            recent_skipped,
            total_findings,
            lost_windows,
            pending_log_files,
        })
    }

    /// Forgets event ids and log files older than `before`: the API cannot send them again.
    pub fn prune(&mut self, before: OffsetDateTime) -> Result<(), Error> {
        let before = before.format(&Rfc3339).unwrap_or_default();
        // Compared as times, not strings: the API's precision varies.
        let tx = self.conn.transaction()?;
        let old_ids = |table: &str, id: &str, column: &str| -> Result<Vec<String>, Error> {
            let mut stmt = tx.prepare(&format!("SELECT {id}, {column} FROM {table}"))?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (key, time) = row?;
                if time
                    .as_deref()
                    .and_then(parse_time)
                    .is_some_and(|t| Some(t) < parse_time(&before))
                {
                    out.push(key);
                }
            }
            Ok(out)
        };
        let events = old_ids("seen_events", "event_id", "event_time")?;
        let logs = old_ids("log_files", "id", "end_time")?;
        for id in events {
            tx.execute("DELETE FROM seen_events WHERE event_id = ?1", [id])?;
        }
        for id in logs {
            tx.execute("DELETE FROM log_files WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// `Option::is_none_or`, which needs Rust 1.82 (the workspace supports 1.80).
pub(crate) fn none_or<T>(value: Option<T>, f: impl FnOnce(T) -> bool) -> bool {
    match value {
        Some(v) => f(v),
        None => true,
    }
}

/// Parses an ISO 8601 / RFC 3339 time.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Formats a time as RFC 3339 (UTC, `Z`).
pub fn format_time(time: OffsetDateTime) -> String {
    // Microseconds at most: the API's own precision.
    let time = time
        .replace_nanosecond(time.nanosecond() / 1000 * 1000)
        .unwrap_or(time);
    time.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ItemMeta, SkipReason, SkippedRecord};

    fn skipped(id: &str) -> Record {
        Record::Skipped(SkippedRecord::item(
            SkipReason::ImageOnly,
            ItemMeta {
                event_id: Some(id.into()),
                ..Default::default()
            },
        ))
    }

    #[test]
    fn other_workspace_is_refused_and_key_rotation_is_irrelevant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(StateStore::open(&path, "ws-a").unwrap());
        let err = StateStore::open(&path, "ws-b").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::State);
        assert!(err.to_string().contains("ws-a"));
        StateStore::open(&path, "ws-a").unwrap();
    }

    #[test]
    fn a_new_state_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/sub/state.db");
        let mut s = StateStore::open(&path, "ws").unwrap();
        s.commit(&Batch {
            records: vec![("k1".into(), skipped("e1"))],
            ..Default::default()
        })
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("new/sub/state.db-wal")), 0o600);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        assert_eq!(mode(&dir.path().join("new/sub")), 0o700);
    }

    #[test]
    fn report_reads_cycles_recent_records_and_lost_windows() {
        let mut s = StateStore::in_memory("ws").unwrap();
        let empty = s.report(OffsetDateTime::now_utc()).unwrap();
        assert_eq!(empty, StateReport::default());
        s.commit(&Batch {
            records: vec![("k1".into(), skipped("e1"))],
            cursor: Some((EventType::AppLog, "2026-07-09T10:00:00Z".into())),
            ..Default::default()
        })
        .unwrap();
        let lost = LostWindow {
            event_type: EventType::AppLog,
            from: "2026-05-01T00:00:00Z".into(),
            to: "2026-06-09T00:00:00Z".into(),
            reason: "offline".into(),
        };
        let cycle = Cycle {
            mode: "forward".into(),
            started_at: "2026-07-09T10:00:00Z".into(),
            ended_at: "2026-07-09T10:01:00Z".into(),
            skipped: 1,
            lost_windows: vec![lost.clone()],
            ..Default::default()
        };
        s.record_cycle(&cycle).unwrap();
        s.record_cycle(&cycle).unwrap();
        let an_hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        let report = s.report(an_hour_ago).unwrap();
        assert_eq!(report.last_cycle, Some(cycle));
        assert_eq!(report.recent_skipped, 1);
        assert_eq!(report.recent_findings, 0);
        assert_eq!(report.lost_windows, vec![lost]);
        assert_eq!(
            report.cursors,
            vec![(EventType::AppLog, "2026-07-09T10:00:00Z".to_string())]
        );
        let later = s
            .report(OffsetDateTime::now_utc() + time::Duration::hours(1))
            .unwrap();
        assert_eq!(later.recent_skipped, 0);
    }

    #[test]
    fn commit_dedups_records_and_cursor_only_moves_forward() {
        let mut s = StateStore::in_memory("ws").unwrap();
        let batch = Batch {
            records: vec![("k1".into(), skipped("e1"))],
            seen_events: vec![("e1".into(), None)],
            log_file: Some((
                "f1".into(),
                EventType::AppLog,
                "2026-07-09T10:00:00Z".into(),
            )),
            cursor: Some((EventType::AppLog, "2026-07-09T10:00:00Z".into())),
            files: vec![("file-1".into(), FileStatus::Pending("{}".into()))],
            ..Default::default()
        };
        assert_eq!(s.commit(&batch).unwrap(), 1);
        assert_eq!(s.commit(&batch).unwrap(), 0);
        assert!(s.event_seen("e1").unwrap());
        assert!(s.log_file_done("f1").unwrap());
        assert_eq!(s.pending_files().unwrap().len(), 1);
        let older = Batch {
            cursor: Some((EventType::AppLog, "2026-07-09T09:00:00.5Z".into())),
            ..Default::default()
        };
        s.commit(&older).unwrap();
        assert_eq!(
            s.cursor(EventType::AppLog).unwrap().as_deref(),
            Some("2026-07-09T10:00:00Z")
        );
        let pending = s.unemitted().unwrap();
        assert_eq!(pending.len(), 1);
        s.mark_emitted(&[pending[0].0]).unwrap();
        assert!(s.unemitted().unwrap().is_empty());
    }
    fn log_file(id: &str, end_time: &str) -> LogFile {
        LogFile {
            id: id.into(),
            event_type: "APP_LOG".into(),
            end_time: end_time.into(),
            file_name: None,
            file_size: Some(10),
            file_sha256: None,
        }
    }

    fn pending(id: &str, end_time: &str, error: &str) -> PendingLogFile {
        PendingLogFile {
            event_type: EventType::AppLog,
            file: log_file(id, end_time),
            window_start: "2026-07-09T08:00:00Z".into(),
            attempts: 1,
            last_error: error.into(),
        }
    }

    #[test]
    fn pending_log_files_count_attempts_and_end_processed_or_lost() {
        let mut s = StateStore::in_memory("ws").unwrap();
        s.commit(&Batch {
            pending_log_files: vec![
                pending("f2", "2026-07-09T10:00:00Z", "503"),
                pending("f1", "2026-07-09T09:00:00Z", "reset"),
            ],
            cursor: Some((EventType::AppLog, "2026-07-09T10:00:00Z".into())),
            ..Default::default()
        })
        .unwrap();
        s.commit(&Batch {
            pending_log_files: vec![pending("f1", "2026-07-09T09:00:00Z", "sha256")],
            ..Default::default()
        })
        .unwrap();
        let got = s.pending_log_files().unwrap();
        assert_eq!(
            got.iter()
                .map(|p| (p.file.id.as_str(), p.attempts, p.last_error.as_str()))
                .collect::<Vec<_>>(),
            [("f1", 2, "sha256"), ("f2", 1, "503")]
        );
        assert_eq!(got[1].file, log_file("f2", "2026-07-09T10:00:00Z"));
        assert_eq!(
            s.report(OffsetDateTime::now_utc())
                .unwrap()
                .pending_log_files,
            2
        );
        // Processed: no longer pending.
        s.commit(&Batch {
            log_file: Some((
                "f1".into(),
                EventType::AppLog,
                "2026-07-09T09:00:00Z".into(),
            )),
            ..Default::default()
        })
        .unwrap();
        // Lost: no longer pending, and its window is remembered.
        let window = LostWindow {
            event_type: EventType::AppLog,
            from: "2026-07-09T09:00:00Z".into(),
            to: "2026-07-09T10:00:00Z".into(),
            reason: "download_failed".into(),
        };
        s.commit(&Batch {
            lost_log_files: vec![("f2".into(), window.clone())],
            ..Default::default()
        })
        .unwrap();
        assert!(s.pending_log_files().unwrap().is_empty());
        let report = s.report(OffsetDateTime::now_utc()).unwrap();
        assert_eq!(report.pending_log_files, 0);
        assert_eq!(report.lost_windows, vec![window]);
    }

    #[test]
    fn gpt_config_versions_and_recent_grants_are_kept() {
        let mut s = StateStore::in_memory("ws").unwrap();
        assert_eq!(s.gpt_config("g-1").unwrap(), None);
        for version in ["gzm_cnf_1", "gzm_cnf_2"] {
            s.commit(&Batch {
                gpt_configs: vec![("g-1".into(), version.into())],
                ..Default::default()
            })
            .unwrap();
        }
        assert_eq!(s.gpt_config("g-1").unwrap().as_deref(), Some("gzm_cnf_2"));

        // Grants older than two minutes are pruned now and then; the query bounds the rest.
        for i in 0..200i64 {
            s.record_grant("logs/{id}", i * 1000).unwrap();
        }
        let recent = s.recent_grants(140_000).unwrap();
        assert_eq!(recent.len(), 60);
        assert_eq!(recent[0], ("logs/{id}".to_string(), 140_000));
        let kept: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM rate_grants", [], |r| r.get(0))
            .unwrap();
        assert!((121..200).contains(&kept), "{kept} grants kept");
    }

    #[test]
    fn pending_evidence_is_committed_with_its_batch_and_removed_once_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut s = StateStore::open(&path, "ws").unwrap();
        let pending = |key: &str, content: &[u8]| PendingEvidence {
            key: key.into(),
            content: content.to_vec(),
        };
        s.commit(&Batch {
            records: vec![("k1".into(), skipped("e1"))],
            evidence: vec![pending("ws/message/e1", b"4111 1111 1111 1111")],
            ..Default::default()
        })
        .unwrap();
        s.commit(&Batch {
            evidence: vec![
                pending("ws/message/e1", b"rewritten"),
                pending("ws/app_log/e2", &[0, 159, 146, 150]),
            ],
            ..Default::default()
        })
        .unwrap();
        drop(s);
        // It survives a restart.
        let mut s = StateStore::open(&path, "ws").unwrap();
        assert_eq!(s.pending_evidence_count().unwrap(), 2);
        let keys = s.pending_evidence_keys().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            s.pending_evidence("ws/message/e1").unwrap(),
            Some(pending("ws/message/e1", b"rewritten"))
        );
        assert_eq!(
            s.pending_evidence("ws/app_log/e2")
                .unwrap()
                .unwrap()
                .content,
            [0, 159, 146, 150]
        );
        let debug = format!("{:?}", s.pending_evidence("ws/message/e1").unwrap());
        assert!(
            !debug.contains("rewritten") && debug.contains("bytes: 9"),
            "{debug}"
        );
        s.remove_pending_evidence("ws/message/e1").unwrap();
        s.remove_pending_evidence("ws/message/e1").unwrap();
        assert_eq!(s.pending_evidence("ws/message/e1").unwrap(), None);
        assert_eq!(s.pending_evidence_keys().unwrap(), ["ws/app_log/e2"]);
        assert_eq!(s.pending_evidence_count().unwrap(), 1);
    }
}
