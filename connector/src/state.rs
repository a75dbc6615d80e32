//! The connector's durable state in SQLite: cursors, processed log files, seen event ids, file
//! states, the record outbox, and evidence not yet written to its store.
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
use crate::model::EventType;
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
    /// Evidence that could not be written to the evidence store: kept until it is.
    pub evidence: Vec<PendingEvidence>,
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
    /// `offline` (the connector's cursor is older than the retention) or `beyond_retention`
    /// (a historical scan asked for more than 30 days).
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

/// The state database of one workspace.
#[derive(Debug)]
pub struct StateStore {
    conn: Connection,
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
             CREATE TABLE IF NOT EXISTS evidence_pending (key TEXT PRIMARY KEY,
                 content BLOB NOT NULL, since_unix INTEGER NOT NULL);",
        )?;
        // Added to version 1 without changing it: older files gain the column, older
        // programs ignore it (and leave it null).
        let has_committed: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('records') WHERE name = 'committed_unix'")?
            .exists([])?;
        if !has_committed {
            conn.execute_batch("ALTER TABLE records ADD COLUMN committed_unix INTEGER")?;
        }
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
        Ok(StateStore { conn })
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
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("UPDATE records SET emitted = 1 WHERE seq = ?1")?;
            for seq in seqs {
                stmt.execute([seq])?;
            }
        }
        tx.commit()?;
        Ok(())
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

    /// What the state holds about its connector: the last cycle, the cursors, records
    /// committed since `since`, and every lost window.
    pub fn report(&self, since: OffsetDateTime) -> Result<StateReport, Error> {
        let last: Option<String> = self
            .conn
            .query_row(
                "SELECT cycle FROM cycles ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let last_cycle = last.and_then(|json| serde_json::from_str(&json).ok());
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
            if let Some(event_type) = EventType::ALL
                .into_iter()
                .find(|t| t.as_str() == event_type)
            {
                lost_windows.push(LostWindow {
                    event_type,
                    from,
                    to,
                    reason,
                });
            }
        }
        Ok(StateReport {
            last_cycle,
            cursors,
            recent_findings,
            recent_skipped,
            total_findings,
            lost_windows,
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
            evidence: vec![],
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
