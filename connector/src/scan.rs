//! The scanner: follows the compliance logs (historical and forward scans), fetches
//! attachments and GPT knowledge files, inspects them, and commits what it found.
//!
//! Files are inspected by the [`Inspector`] (the `dlp-engine` engine, with its isolated
//! extraction workers) on tokio's blocking pool: an extraction that takes its whole time limit
//! holds one blocking thread, while log polling and downloads go on on the runtime.
//!
//! Ordering is what makes it crash-safe: a log file's records, event ids, processed mark and
//! cursor are committed together ([`crate::state::Batch`]), and records reach the sink only
//! after the commit. It must never advance a cursor past a log file it has not committed, as
//! processed or as pending (a download that keeps failing is retried at the start of each later
//! cycle, until it passes the retention and is reported as a lost window).
//!
//! GPTs are followed by configuration version: a cycle lists them and inspects only the
//! knowledge files of GPTs that are new or whose latest configuration changed, each file once.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlp_engine::{Collect, EngineBuilder, Finding, Skipped};
use futures::{stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::client::{ClientStats, ComplianceClient, Download};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, GptFilter, UserFilter, RETENTION_DAYS};
use crate::credentials::ApiKey;
use crate::error::{Error, ErrorKind};
use crate::evidence::Evidence;
use crate::inspect::Inspector;
use crate::model::{parse_log, Event, EventType, Gpt, GptConfig, LogFile};
use crate::ratelimit::{Endpoint, GrantJournal};
use crate::record::{
    FindingRecord, ItemKind, ItemMeta, Record, RecordSink, SkipReason, SkippedRecord,
};
use crate::state::{
    format_time, none_or, parse_time, Batch, Cycle, FileStatus, LostWindow, PendingEvidence,
    PendingLogFile, StateStore,
};
use crate::sync::lock;

/// What a scan cycle did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// `historical` or `forward`.
    pub mode: String,
    /// Workspace id.
    pub workspace_id: String,
    /// Start of the scanned window.
    pub window_start: Option<String>,
    /// End of the scanned window (the time of the scan).
    pub window_end: Option<String>,
    /// Windows that can no longer be recovered.
    pub lost_windows: Vec<LostWindow>,
    /// Log files downloaded and processed.
    pub log_files: u64,
    /// Events processed (new ones).
    pub events: u64,
    /// Events skipped because their id was already processed.
    pub duplicate_events: u64,
    /// Events of users out of scope.
    pub out_of_scope_events: u64,
    /// Log lines that were not valid events.
    pub malformed_lines: u64,
    /// Events of types the connector does not inspect.
    pub ignored_events: u64,
    /// Messages whose text was inspected.
    pub messages_inspected: u64,
    /// Conversation files inspected.
    pub conversation_files_inspected: u64,
    /// GPT knowledge files inspected.
    pub gpt_files_inspected: u64,
    /// Tool-call events inspected.
    pub app_logs_inspected: u64,
    /// GPTs in scope.
    pub gpts_in_scope: u64,
    /// Findings written in this run.
    pub findings: u64,
    /// Findings written, by detector.
    pub findings_by_detector: BTreeMap<String, u64>,
    /// Skipped items written, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Files whose download failed; retried next cycle.
    pub pending_files: u64,
    /// Log files whose download failed in this cycle (after the client's retries), kept
    /// pending in the state and retried at the start of the next cycle.
    #[serde(default)]
    pub pending_log_files: u64,
    /// GPTs in scope that were new or had a new configuration version (their knowledge files
    /// not yet inspected were fetched); unchanged GPTs cost nothing past the listing.
    #[serde(default)]
    pub gpts_changed: u64,
    /// Items whose evidence the evidence store did not take (it failed after its retries):
    /// kept in the state database and written again at the start of the next cycle.
    #[serde(default)]
    pub pending_evidence: u64,
    /// Requests per API endpoint.
    pub requests: BTreeMap<String, u64>,
    /// 429 answers received.
    pub throttled: u64,
    /// Retries made.
    pub retries: u64,
    /// Bytes downloaded.
    pub downloaded_bytes: u64,
    /// Duration of the cycle, in seconds (of the connector's clock).
    pub elapsed_secs: f64,
}

/// Test hooks that simulate a crash.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrashHooks {
    /// Fail with [`ErrorKind::Aborted`] right after this many commits, before their records
    /// are written to the sink (a kill between the database and the output).
    pub abort_after_commits: Option<usize>,
    /// Fail with [`ErrorKind::Aborted`] instead of performing commit number N + 1 (a kill after
    /// inspecting, before committing).
    pub abort_before_commit: Option<usize>,
}

enum Mode {
    Historical { days: u32 },
    Forward,
}

/// Builds a [`Connector`].
pub struct ConnectorBuilder {
    workspace_id: String,
    key: ApiKey,
    engine: EngineBuilder,
    inspector: Option<Arc<dyn Inspector>>,
    config: Config,
    clock: Option<SharedClock>,
    state: Option<StateStore>,
    sink: Option<Box<dyn RecordSink>>,
    evidence: Option<Evidence>,
    hooks: CrashHooks,
}

impl std::fmt::Debug for ConnectorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorBuilder")
            .field("workspace_id", &self.workspace_id)
            .field("engine", &self.engine)
            .field("inspector", &self.inspector)
            .finish_non_exhaustive()
    }
}

impl ConnectorBuilder {
    /// Sets how the inspection engine is built (default [`EngineBuilder::new`]: every built-in
    /// detector, default limits, documents parsed in worker processes that re-run this
    /// executable, so a program calls [`dlp_engine::serve_worker_if_requested`] first in
    /// `main`). [`ConnectorBuilder::build`] sets its filter from the configuration's
    /// `scan.file_types` and `scan.max_file_size` ([`crate::ScanConfig::filter`]).
    pub fn engine(&mut self, engine: EngineBuilder) -> &mut Self {
        self.engine = engine;
        self
    }

    /// Inspects with `inspector` instead of an engine built by the connector (tests). The
    /// configuration's file-type filter is then the inspector's business; the download size
    /// limit still applies.
    pub fn inspector(&mut self, inspector: Arc<dyn Inspector>) -> &mut Self {
        self.inspector = Some(inspector);
        self
    }

    /// Sets the configuration (default: all defaults).
    pub fn config(&mut self, config: Config) -> &mut Self {
        self.config = config;
        self
    }

    /// Sets the clock (default: the system clock).
    pub fn clock(&mut self, clock: SharedClock) -> &mut Self {
        self.clock = Some(clock);
        self
    }

    /// Opens the state database at `path` (default: in memory).
    pub fn state_path(&mut self, path: &Path) -> Result<&mut Self, Error> {
        self.state = Some(StateStore::open(path, &self.workspace_id)?);
        Ok(self)
    }

    /// Sets where records go (default: discarded).
    pub fn sink(&mut self, sink: Box<dyn RecordSink>) -> &mut Self {
        self.sink = Some(sink);
        self
    }

    /// Sets evidence capture (default: from the configuration).
    pub fn evidence(&mut self, evidence: Evidence) -> &mut Self {
        self.evidence = Some(evidence);
        self
    }

    /// Installs crash hooks (tests).
    pub fn crash_hooks(&mut self, hooks: CrashHooks) -> &mut Self {
        self.hooks = hooks;
        self
    }

    /// Builds the connector, and its inspection engine (the engine starts no worker process
    /// until a document needs one).
    pub fn build(&mut self) -> Result<Connector, Error> {
        self.config.validate()?;
        let inspector = match &self.inspector {
            Some(inspector) => Arc::clone(inspector),
            None => Arc::new(self.config.scan.build_engine(&self.engine)?),
        };
        let clock = self.clock.clone().unwrap_or_else(SystemClock::shared);
        let state = match self.state.take() {
            Some(state) => state,
            None => StateStore::in_memory(&self.workspace_id)?,
        };
        let state = Arc::new(Mutex::new(state));
        // The limiter's grants live in the state, so that a restart does not send a burst.
        let client = ComplianceClient::new(
            &self.config.api,
            self.config.rate_limits.clone(),
            self.config.retry.clone(),
            &self.workspace_id,
            self.key.clone(),
            clock.clone(),
        )?
        .with_grant_journal(Arc::new(StateJournal(Arc::clone(&state))))?;
        let mut sink = self.sink.take().unwrap_or_else(|| Box::new(NullSink));
        let checkpoint = lock(&state).sink_checkpoint()?;
        sink.resume(checkpoint.as_deref())
            .map_err(|e| Error::new(ErrorKind::Output, format!("cannot resume the output: {e}")))?;
        let evidence = match self.evidence.take() {
            Some(e) => e,
            None => Evidence::from_config(&self.config.evidence)?,
        };
        Ok(Connector {
            workspace_id: self.workspace_id.clone(),
            users: self.config.scope.users.compile()?,
            gpts: self.config.scope.gpts.compile()?,
            config: self.config.clone(),
            client: Arc::new(client),
            state,
            inspector,
            clock,
            sink: Mutex::new(sink),
            evidence,
            hooks: self.hooks,
            commits: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            summary: Mutex::new(ScanSummary::default()),
        })
    }
}

struct NullSink;

/// The rate limiter's grants, kept in the state database (table `rate_grants`).
#[derive(Debug)]
struct StateJournal(Arc<Mutex<StateStore>>);

impl GrantJournal for StateJournal {
    fn record(&self, endpoint: Endpoint, at: OffsetDateTime) -> Result<Option<i64>, Error> {
        lock(&self.0)
            .record_grant(endpoint.name(), unix_ms(at))
            .map(Some)
    }

    fn settled(&self, id: i64, at: OffsetDateTime) -> Result<(), Error> {
        lock(&self.0).settle_grant(id, unix_ms(at))
    }

    fn since(&self, since: OffsetDateTime) -> Result<Vec<(Endpoint, OffsetDateTime)>, Error> {
        let grants = lock(&self.0).recent_grants(unix_ms(since))?;
        Ok(grants
            .into_iter()
            .filter_map(|(name, ms)| {
                let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000);
                Some((Endpoint::from_name(&name)?, at.ok()?))
            })
            .collect())
    }
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl RecordSink for NullSink {
    fn write(&mut self, _: &Record) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The ChatGPT Enterprise connector of one workspace.
pub struct Connector {
    workspace_id: String,
    config: Config,
    users: UserFilter,
    gpts: GptFilter,
    client: Arc<ComplianceClient>,
    state: Arc<Mutex<StateStore>>,
    inspector: Arc<dyn Inspector>,
    clock: SharedClock,
    sink: Mutex<Box<dyn RecordSink>>,
    evidence: Evidence,
    hooks: CrashHooks,
    commits: AtomicUsize,
    stop: AtomicBool,
    summary: Mutex<ScanSummary>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

/// A file to fetch and inspect.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileJob {
    /// `users/{user}/files` (conversation upload) or `gpt_files`.
    user_id: Option<String>,
    file_id: String,
    meta: ItemMeta,
}

/// What inspecting an item produced.
#[derive(Default)]
struct Outcome {
    records: Vec<(String, Record)>,
    files: Vec<(String, FileStatus)>,
    evidence: Vec<(String, Vec<u8>)>,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.records.extend(other.records);
        self.files.extend(other.files);
        self.evidence.extend(other.evidence);
    }
}

impl Connector {
    /// Starts building a connector for `workspace_id` with `key`.
    pub fn builder(workspace_id: &str, key: ApiKey) -> ConnectorBuilder {
        ConnectorBuilder {
            workspace_id: workspace_id.to_string(),
            key,
            engine: EngineBuilder::new(),
            inspector: None,
            config: Config::default(),
            clock: None,
            state: None,
            sink: None,
            evidence: None,
            hooks: CrashHooks::default(),
        }
    }

    /// The API client (for its counters).
    pub fn client(&self) -> &ComplianceClient {
        &self.client
    }

    /// What the cycle in progress (or the last one) has done so far, with the client's
    /// counters since the process started: for progress lines and metrics.
    pub fn progress(&self) -> (ScanSummary, ClientStats) {
        (lock(&self.summary).clone(), self.client.stats())
    }

    /// The last completed cycle its state remembers (`None`: a new connector, whose first
    /// cycle is the historical scan).
    pub fn last_cycle(&self) -> Result<Option<Cycle>, Error> {
        lock(&self.state).last_cycle()
    }

    /// What its state says: last cycle, cursors, records committed in the 24 hours before
    /// `now`, lost windows.
    pub fn report(&self, now: OffsetDateTime) -> Result<crate::state::StateReport, Error> {
        lock(&self.state).report(now - time::Duration::hours(24))
    }

    /// The workspace id.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    /// Asks a running scan to stop after the log file it is processing; state stays consistent.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// A historical scan of the last `days` days (default: `max_last_modified_days`, or 30),
    /// capped at the 30-day retention.
    pub async fn historical_scan(&self, days: Option<u32>) -> Result<ScanSummary, Error> {
        // Past 30 days nothing is recoverable; the bound keeps date arithmetic in range.
        let days = days
            .unwrap_or_else(|| self.config.scan.lookback_days())
            .clamp(1, 3650);
        self.cycle(Mode::Historical { days }).await
    }

    /// One forward poll: every event since the saved cursors (minus the overlap). The first
    /// poll of a new state is a historical scan of the configured lookback.
    pub async fn forward_scan(&self) -> Result<ScanSummary, Error> {
        self.cycle(Mode::Forward).await
    }

    /// Forward polls every `poll_interval_secs` until `shutdown` completes; the poll in
    /// progress then finishes its current log file and saves state. `on_cycle` gets the
    /// summary of each completed poll.
    ///
    /// A poll that fails on an error that waiting may mend (a server or network failure after
    /// the client's retries, a spent retry budget) is logged and tried again at the next
    /// interval; only the errors of [`ErrorKind::ends_polling`] (a refused key, an unusable
    /// state) end the watch. [`Connector::watch_outcomes`] also reports the failed polls.
    pub async fn watch<F>(
        &self,
        shutdown: F,
        mut on_cycle: impl FnMut(&ScanSummary),
    ) -> Result<(), Error>
    where
        F: std::future::Future<Output = ()>,
    {
        self.watch_outcomes(shutdown, |outcome| {
            if let Ok(summary) = outcome {
                on_cycle(summary);
            }
        })
        .await
    }

    /// [`Connector::watch`], with `on_poll` called after every poll: its summary, or the error
    /// it failed with and that the watch goes on after (the errors that end the watch are
    /// returned instead).
    pub async fn watch_outcomes<F>(
        &self,
        shutdown: F,
        mut on_poll: impl FnMut(Result<&ScanSummary, &Error>),
    ) -> Result<(), Error>
    where
        F: std::future::Future<Output = ()>,
    {
        let interval = Duration::from_secs(self.config.scan.poll_interval_secs.max(1));
        tokio::pin!(shutdown);
        loop {
            let result = {
                let cycle = self.forward_scan();
                tokio::pin!(cycle);
                tokio::select! {
                    result = &mut cycle => result,
                    () = &mut shutdown => {
                        self.request_stop();
                        return match cycle.await {
                            Err(e) if e.kind().ends_polling() => Err(e),
                            Err(e) => {
                                tracing::warn!(error = %e, "the last poll failed; its work is retried on the next run");
                                Ok(())
                            }
                            Ok(_) => Ok(()),
                        };
                    }
                }
            };
            let result = match result {
                Err(e) if e.kind().ends_polling() => return Err(e),
                result => result,
            };
            if let Err(e) = &result {
                tracing::warn!(error = %e, kind = ?e.kind(), ?interval, "poll failed; trying again at the next interval");
            }
            on_poll(result.as_ref());
            tokio::select! {
                () = self.clock.sleep(interval) => {}
                () = &mut shutdown => return Ok(()),
            }
        }
    }

    async fn cycle(&self, mode: Mode) -> Result<ScanSummary, Error> {
        self.client.reset_retry_budget();
        let before = self.client.stats();
        let started = self.clock.elapsed();
        let now = self.clock.wall();
        *lock(&self.summary) = ScanSummary {
            mode: match mode {
                Mode::Historical { .. } => "historical".into(),
                Mode::Forward => "forward".into(),
            },
            workspace_id: self.workspace_id.clone(),
            window_end: Some(format_time(now)),
            ..Default::default()
        };
        // Records committed by a run that was killed before writing them.
        self.emit_pending()?;
        self.retry_pending_files().await?;
        self.retry_pending_log_files(now).await?;
        self.retry_pending_evidence().await?;

        let event_types: Vec<EventType> = EventType::ALL
            .into_iter()
            .filter(|t| match t {
                EventType::ConversationMessage => {
                    self.config.scan.messages || self.config.scan.conversation_files
                }
                EventType::AppLog => self.config.scan.app_logs,
            })
            .collect();
        let logs = futures::future::try_join_all(
            event_types.into_iter().map(|t| self.follow(t, &mode, now)),
        );
        let (logs, gpts) = futures::future::join(logs, self.scan_gpts()).await;
        logs?;
        gpts?;
        lock(&self.state).prune(now - time::Duration::days(i64::from(RETENTION_DAYS) + 1))?;

        let after = self.client.stats();
        let mut summary = lock(&self.summary).clone();
        add_stats(&mut summary, &before, &after);
        summary.elapsed_secs = (self.clock.elapsed() - started).as_secs_f64();
        // For status reports (`dlp chatgpt list`): what the last cycle did, and lost windows.
        lock(&self.state).record_cycle(&Cycle {
            mode: summary.mode.clone(),
            started_at: format_time(now),
            ended_at: format_time(self.clock.wall()),
            log_files: summary.log_files,
            events: summary.events,
            findings: summary.findings,
            skipped: summary.skipped.values().sum(),
            lost_windows: summary.lost_windows.clone(),
        })?;
        Ok(summary)
    }

    /// Follows the logs of one event type from the mode's starting point to now.
    async fn follow(
        &self,
        event_type: EventType,
        mode: &Mode,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let retention_start = now - time::Duration::days(i64::from(RETENTION_DAYS));
        let cursor = lock(&self.state).cursor(event_type)?;
        let cursor_time = cursor.as_deref().and_then(parse_time);
        let mut lost = Vec::new();
        if let Some(c) = cursor_time.filter(|&c| c < retention_start) {
            lost.push(LostWindow {
                event_type,
                from: format_time(c),
                to: format_time(retention_start),
                reason: "offline".into(),
            });
        }
        let start = match mode {
            Mode::Historical { days } => {
                let asked = now - time::Duration::days(i64::from(*days));
                if *days > RETENTION_DAYS && none_or(cursor_time, |c| c > asked) {
                    lost.push(LostWindow {
                        event_type,
                        from: format_time(asked),
                        to: format_time(retention_start),
                        reason: "beyond_retention".into(),
                    });
                }
                asked
            }
            Mode::Forward => match cursor_time {
                Some(c) => c - time::Duration::minutes(i64::from(self.config.scan.overlap_minutes)),
                None => now - time::Duration::days(i64::from(self.config.scan.lookback_days())),
            },
        };
        let start = start.max(retention_start);
        {
            let mut summary = lock(&self.summary);
            summary.lost_windows.extend(lost);
            let start = format_time(start);
            if none_or(summary.window_start.as_ref(), |s| {
                parse_time(s) > parse_time(&start)
            }) {
                summary.window_start = Some(start);
            }
        }

        let concurrency = self.config.api.concurrency.max(1);
        let mut after = format_time(start);
        loop {
            if self.stopping() {
                return Ok(());
            }
            let page = self.client.list_logs(event_type, &after, None, 100).await?;
            let mut todo = Vec::new();
            // Each file's events come after the end of the file listed before it.
            let mut window_start = after.clone();
            for file in page.data {
                let from = std::mem::replace(&mut window_start, file.end_time.clone());
                if file.event_type == event_type.as_str()
                    && !lock(&self.state).log_file_done(&file.id)?
                {
                    todo.push((file, from));
                }
            }
            // Downloads run ahead concurrently; files are committed in listing order, so the
            // cursor never passes a file that is not committed (processed, or pending).
            let mut downloads = stream::iter(todo)
                .map(|(file, from)| async move {
                    let content = self.client.download_log(&file).await;
                    (file, from, content)
                })
                .buffered(concurrency);
            while let Some((file, from, content)) = downloads.next().await {
                match content {
                    Ok(content) => {
                        self.process_log_file(event_type, &file, &content, true)
                            .await?
                    }
                    Err(e) if e.kind() == ErrorKind::Expired => {
                        self.lose_log_file(event_type, &file, from, true).await?
                    }
                    Err(e) if defers_log_file(e.kind()) => {
                        self.defer_log_file(event_type, file, from, &e, true)
                            .await?
                    }
                    Err(e) => return Err(e),
                }
                if self.stopping() {
                    return Ok(());
                }
            }
            drop(downloads);
            match page.last_end_time {
                Some(next) => {
                    self.commit(
                        Batch {
                            cursor: Some((event_type, next.clone())),
                            ..Default::default()
                        },
                        Vec::new(),
                    )
                    .await?;
                    // A cursor that does not move forward would loop forever.
                    if !page.has_more || parse_time(&next) <= parse_time(&after) {
                        return Ok(());
                    }
                    after = next;
                }
                None => return Ok(()),
            }
        }
    }

    /// Keeps a log file whose download failed pending in the state, with the cursor past it
    /// when `advance_cursor` (in the same transaction, so that it is never lost).
    async fn defer_log_file(
        &self,
        event_type: EventType,
        file: LogFile,
        window_start: String,
        error: &Error,
        advance_cursor: bool,
    ) -> Result<(), Error> {
        tracing::warn!(log_file = %file.id, error = %error, "log file download failed; retried next cycle");
        lock(&self.summary).pending_log_files += 1;
        let cursor = advance_cursor.then(|| (event_type, file.end_time.clone()));
        let batch = Batch {
            pending_log_files: vec![PendingLogFile {
                event_type,
                file,
                window_start,
                attempts: 1,
                last_error: error.to_string(),
            }],
            cursor,
            ..Default::default()
        };
        self.commit(batch, Vec::new()).await
    }

    /// Gives up a log file the API no longer keeps (past the retention, or answered `410`):
    /// its window is reported lost (`download_failed`), and it is no longer pending.
    async fn lose_log_file(
        &self,
        event_type: EventType,
        file: &LogFile,
        window_start: String,
        advance_cursor: bool,
    ) -> Result<(), Error> {
        tracing::warn!(log_file = %file.id, "log file expired before it could be downloaded");
        let window = LostWindow {
            event_type,
            from: window_start,
            to: file.end_time.clone(),
            reason: "download_failed".into(),
        };
        lock(&self.summary).lost_windows.push(window.clone());
        let batch = Batch {
            lost_log_files: vec![(file.id.clone(), window)],
            cursor: advance_cursor.then(|| (event_type, file.end_time.clone())),
            ..Default::default()
        };
        self.commit(batch, Vec::new()).await
    }

    /// Tries again the log files whose download failed in earlier cycles, with fresh links;
    /// those past the retention are reported as lost windows (`download_failed`).
    async fn retry_pending_log_files(&self, now: OffsetDateTime) -> Result<(), Error> {
        let retention_start = now - time::Duration::days(i64::from(RETENTION_DAYS));
        let pending = lock(&self.state).pending_log_files()?;
        // The API keeps log files 30 days: an older one cannot be downloaded any more.
        let retry = pending.into_iter().map(|p| {
            let live = none_or(parse_time(&p.file.end_time), |t| t >= retention_start);
            (p, live)
        });
        let mut downloads = stream::iter(retry)
            .map(|(pending, live)| async move {
                let content = if live {
                    Some(self.client.download_log(&pending.file).await)
                } else {
                    None
                };
                (pending, content)
            })
            .buffer_unordered(self.config.api.concurrency.max(1));
        while let Some((pending, content)) = downloads.next().await {
            let event_type = pending.event_type;
            match content {
                None => {
                    self.lose_log_file(event_type, &pending.file, pending.window_start, false)
                        .await?
                }
                Some(Err(e)) if e.kind() == ErrorKind::Expired => {
                    self.lose_log_file(event_type, &pending.file, pending.window_start, false)
                        .await?
                }
                Some(Ok(content)) => {
                    self.process_log_file(event_type, &pending.file, &content, false)
                        .await?
                }
                Some(Err(e)) if defers_log_file(e.kind()) => {
                    self.defer_log_file(event_type, pending.file, pending.window_start, &e, false)
                        .await?
                }
                Some(Err(e)) => return Err(e),
            }
            if self.stopping() {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn process_log_file(
        &self,
        event_type: EventType,
        file: &LogFile,
        content: &[u8],
        advance_cursor: bool,
    ) -> Result<(), Error> {
        let parsed = parse_log(content);
        {
            let mut s = lock(&self.summary);
            s.log_files += 1;
            s.malformed_lines += parsed.malformed_lines as u64;
            s.ignored_events += parsed.ignored_events as u64;
        }
        if parsed.malformed_lines > 0 {
            tracing::warn!(log_file = %file.id, lines = parsed.malformed_lines, "malformed log lines");
        }
        let mut batch = Batch::default();
        let mut outcome = Outcome::default();
        let mut jobs = Vec::new();
        let mut here = HashSet::new();
        for event in parsed.events {
            let seen = !here.insert(event.event_id.clone())
                || lock(&self.state).event_seen(&event.event_id)?;
            if seen {
                lock(&self.summary).duplicate_events += 1;
                continue;
            }
            batch
                .seen_events
                .push((event.event_id.clone(), event.timestamp.clone()));
            lock(&self.summary).events += 1;
            if !self.users.matches(
                event.actor.user_id.as_deref(),
                event.actor.user_email.as_deref(),
            ) {
                lock(&self.summary).out_of_scope_events += 1;
                continue;
            }
            match EventType::parse(&event.kind) {
                Some(EventType::ConversationMessage) => {
                    outcome.merge(self.inspect_message(&event, &mut jobs));
                }
                Some(EventType::AppLog) if self.config.scan.app_logs => {
                    outcome.merge(self.inspect_app_log(&event));
                }
                _ => {}
            }
        }
        // Uploads expire after 48 hours: fetch them now, concurrently.
        let mut unique = HashSet::new();
        jobs.retain(|job| unique.insert(job.file_id.clone()));
        let results: Vec<Outcome> = stream::iter(jobs)
            .map(|job| self.fetch_file(job))
            .buffer_unordered(self.config.api.concurrency.max(1))
            .try_collect()
            .await?;
        for r in results {
            outcome.merge(r);
        }
        batch.records = outcome.records;
        batch.files = outcome.files;
        batch.log_file = Some((file.id.clone(), event_type, file.end_time.clone()));
        if advance_cursor {
            batch.cursor = Some((event_type, file.end_time.clone()));
        }
        self.commit(batch, outcome.evidence).await
    }

    fn base_meta(&self, item: ItemKind, event: &Event) -> ItemMeta {
        ItemMeta {
            item: Some(item),
            workspace_id: Some(self.workspace_id.clone()),
            event_id: Some(event.event_id.clone()),
            user_email: event.actor.user_email.clone(),
            timestamp: event.timestamp.clone(),
            ..Default::default()
        }
    }

    fn inspect_message(&self, event: &Event, jobs: &mut Vec<FileJob>) -> Outcome {
        let mut outcome = Outcome::default();
        let Some(message) = &event.message else {
            lock(&self.summary).malformed_lines += 1;
            return outcome;
        };
        let conversation = event.conversation.clone().unwrap_or_default();
        let mut meta = self.base_meta(ItemKind::Message, event);
        meta.conversation_id = conversation.id.clone();
        meta.conversation_title = conversation.title.clone();
        meta.message_id = message.id.clone();
        meta.gpt_id = conversation.gpt_id.clone();
        meta.gpt_name = conversation.gpt_name.clone();
        meta.author_role = message.author.role.clone();
        meta.model = message.author.model.clone();
        meta.tools = Some(message.author.tools_used.clone());
        meta.is_temporary_chat = conversation.is_temporary_chat;

        let role = message.author.role.as_deref().unwrap_or("");
        if self.config.scan.messages && matches!(role, "user" | "assistant") {
            let item_key = format!("message:{}", event.event_id);
            match message.content.as_ref().and_then(|c| c.text()) {
                Some(text) => {
                    lock(&self.summary).messages_inspected += 1;
                    let found = self.inspector.inspect_text(text);
                    if !found.is_empty() {
                        outcome.evidence.push((
                            Evidence::key(&self.workspace_id, "message", &event.event_id),
                            text.as_bytes().to_vec(),
                        ));
                    }
                    outcome.records.extend(findings(&item_key, &meta, found));
                }
                // Files attached to an image-only message are still inspected below.
                None => outcome.records.push(skipped(
                    &item_key,
                    SkippedRecord::item(SkipReason::ImageOnly, meta.clone()),
                )),
            }
        }
        if self.config.scan.conversation_files {
            for file in &message.files {
                let mut meta = meta.clone();
                meta.item = Some(ItemKind::ConversationFile);
                meta.file_id = Some(file.id.clone());
                meta.file_name = file.name.clone();
                jobs.push(FileJob {
                    user_id: event.actor.user_id.clone(),
                    file_id: file.id.clone(),
                    meta,
                });
            }
        }
        outcome
    }

    fn inspect_app_log(&self, event: &Event) -> Outcome {
        let mut outcome = Outcome::default();
        let mut meta = self.base_meta(ItemKind::AppLog, event);
        meta.conversation_id = event.conversation_id.clone();
        meta.app_name = event.app_name.clone();
        meta.tools = event.action_name.clone().map(|a| vec![a]);
        let mut strings = Vec::new();
        if let Some(input) = &event.input {
            collect_strings(input, "input".to_string(), &mut strings);
        }
        if let Some(output) = &event.output {
            collect_strings(output, "output".to_string(), &mut strings);
        }
        lock(&self.summary).app_logs_inspected += 1;
        let item_key = format!("app_log:{}", event.event_id);
        for (path, text) in strings {
            let mut found = self.inspector.inspect_text(text);
            for f in &mut found {
                f.location = Some(match &f.location {
                    Some(inner) => format!("{path}:{inner}"),
                    None => path.clone(),
                });
            }
            outcome.records.extend(findings(&item_key, &meta, found));
        }
        if !outcome.records.is_empty() {
            let content = serde_json::json!({"input": event.input, "output": event.output});
            outcome.evidence.push((
                Evidence::key(&self.workspace_id, "app_log", &event.event_id),
                content.to_string().into_bytes(),
            ));
        }
        outcome
    }

    /// Downloads and inspects a conversation upload or knowledge file.
    async fn fetch_file(&self, job: FileJob) -> Result<Outcome, Error> {
        let item = job.meta.item.unwrap_or(ItemKind::ConversationFile);
        let file_key = format!("{}:{}", item.as_str(), job.file_id);
        let mut outcome = Outcome::default();
        if lock(&self.state).file_status(&file_key)? == Some(FileStatus::Done) {
            return Ok(outcome);
        }
        let name = job.meta.file_name.clone().unwrap_or_default();
        let skip = |outcome: &mut Outcome, reason: SkipReason, detail: Option<String>| {
            let record = SkippedRecord {
                detail,
                ..SkippedRecord::item(reason, job.meta.clone())
            };
            outcome.records.push(skipped(&file_key, record));
            outcome.files.push((file_key.clone(), FileStatus::Done));
        };
        let not_found = SkipReason::Engine(dlp_engine::SkipReason::NotFound);
        // Stopping the download at the size limit is the connector's (the engine never sees
        // the bytes); the type filter is the engine's, on the detected type.
        let max = self.config.scan.max_file_size;
        let download = match (item, &job.user_id) {
            (ItemKind::GptFile, _) => self.client.download_gpt_file(&job.file_id, max).await,
            (_, Some(user)) => {
                self.client
                    .download_user_file(user, &job.file_id, max)
                    .await
            }
            (_, None) => {
                let detail = "the upload's user is not known".to_string();
                skip(&mut outcome, not_found, Some(detail));
                return Ok(outcome);
            }
        };
        let bytes = match download {
            Ok(Download::Content(bytes)) => bytes,
            Ok(Download::TooLarge) => {
                let detail = format!("over the maximum content-inspection size of {max} bytes");
                let too_large = SkipReason::Engine(dlp_engine::SkipReason::TooLarge);
                skip(&mut outcome, too_large, Some(detail));
                return Ok(outcome);
            }
            Err(e) => match e.kind() {
                ErrorKind::Expired => {
                    skip(&mut outcome, SkipReason::Expired, None);
                    return Ok(outcome);
                }
                ErrorKind::NotFound => {
                    skip(&mut outcome, not_found, None);
                    return Ok(outcome);
                }
                ErrorKind::Unauthorized | ErrorKind::Forbidden => return Err(e),
                _ => {
                    tracing::warn!(file = %job.file_id, error = %e, "download failed; retried next cycle");
                    lock(&self.summary).pending_files += 1;
                    let context = serde_json::to_string(&job).unwrap_or_default();
                    outcome.files.push((file_key, FileStatus::Pending(context)));
                    return Ok(outcome);
                }
            },
        };
        {
            let mut s = lock(&self.summary);
            match item {
                ItemKind::GptFile => s.gpt_files_inspected += 1,
                _ => s.conversation_files_inspected += 1,
            }
        }
        let found = self.inspect_file(name, bytes.clone()).await?;
        if !found.findings.is_empty() {
            outcome.evidence.push((
                Evidence::key(&self.workspace_id, item.as_str(), &job.file_id),
                bytes.to_vec(),
            ));
        }
        let Collect {
            findings: found,
            skipped: skips,
            ..
        } = found;
        let found = found.into_iter().map(|(_, f)| f).collect();
        outcome
            .records
            .extend(findings(&file_key, &job.meta, found));
        // Every skip, the file's or a member's, with or without findings beside it.
        for (_, skip) in skips {
            outcome.records.push(skipped(
                &file_key,
                SkippedRecord::new(skip, job.meta.clone()),
            ));
        }
        outcome.files.push((file_key, FileStatus::Done));
        Ok(outcome)
    }

    /// Inspects a downloaded file on the blocking pool, so that the runtime's threads keep
    /// polling and downloading while a document is extracted.
    async fn inspect_file(&self, name: String, bytes: bytes::Bytes) -> Result<Collect, Error> {
        let inspector = Arc::clone(&self.inspector);
        let task = tokio::task::spawn_blocking(move || inspector.inspect_file(&name, &bytes));
        match task.await {
            Ok(found) => Ok(found),
            // A panic in the inspector costs this file (the engine's own parsers run in worker
            // processes, so this is a bug of the engine or of a plugged-in inspector).
            Err(e) if e.is_panic() => {
                tracing::error!(error = %e, "file inspection panicked");
                let mut found = Collect::default();
                found.skipped.push((
                    std::path::PathBuf::new(),
                    Skipped {
                        member: None,
                        reason: dlp_engine::SkipReason::BrokenFile,
                        detail: "the inspection of this file panicked".into(),
                    },
                ));
                Ok(found)
            }
            Err(e) => Err(Error::new(
                ErrorKind::Aborted,
                format!("file inspection cancelled: {e}"),
            )),
        }
    }

    async fn retry_pending_files(&self) -> Result<(), Error> {
        let pending = lock(&self.state).pending_files()?;
        for (_, context) in pending {
            let Ok(job) = serde_json::from_str::<FileJob>(&context) else {
                continue;
            };
            let outcome = self.fetch_file(job).await?;
            let batch = Batch {
                records: outcome.records,
                files: outcome.files,
                ..Default::default()
            };
            self.commit(batch, outcome.evidence).await?;
        }
        Ok(())
    }

    /// Inspects the knowledge files of GPTs that are new or have a new configuration version
    /// since the last cycle. A GPT's version is committed with its last knowledge file, so a
    /// cycle stopped half-way does the rest of it next time (files already done cost nothing).
    async fn scan_gpts(&self) -> Result<(), Error> {
        if !self.config.scan.gpt_files || !self.gpts.is_enabled() {
            return Ok(());
        }
        let gpts = self.client.all_gpts().await?;
        // Per GPT: its id, the version to commit, and how many of its files are not committed.
        let mut changed: Vec<(String, String, usize)> = Vec::new();
        let mut jobs = Vec::new();
        for gpt in gpts.iter().filter(|g| self.gpts.matches(&g.id, g.name())) {
            lock(&self.summary).gpts_in_scope += 1;
            let processed = lock(&self.state).gpt_config(&gpt.id)?;
            let latest = gpt.config().map(config_version);
            if latest.is_some() && latest == processed {
                continue;
            }
            let mut configs = match (gpt.config(), &processed) {
                // A new GPT: its latest configuration, as listed.
                (Some(config), None) => vec![config.clone()],
                // A new version (or a listing without it): every version since the one
                // processed, newest first, so that a file added and removed again between two
                // cycles is still inspected.
                _ => {
                    let mut newer = Vec::new();
                    for config in self.client.gpt_configs(&gpt.id).await?.data {
                        if Some(config_version(&config)) == processed {
                            break;
                        }
                        newer.push(config);
                    }
                    newer
                }
            };
            // The listing's latest version is inspected even if the versions list lags it.
            if let Some(config) = gpt.config() {
                let version = config_version(config);
                if !configs.iter().any(|c| config_version(c) == version) {
                    configs.insert(0, config.clone());
                }
            }
            let Some(version) = latest.or_else(|| configs.first().map(config_version)) else {
                continue;
            };
            if Some(&version) == processed.as_ref() {
                continue;
            }
            lock(&self.summary).gpts_changed += 1;
            let index = changed.len();
            let mut files = 0;
            let mut seen = HashSet::new();
            for config in &configs {
                for file in config.knowledge_files() {
                    if seen.insert(file.id.clone()) {
                        files += 1;
                        let job = FileJob {
                            user_id: None,
                            file_id: file.id.clone(),
                            meta: self.gpt_meta(gpt, config, file),
                        };
                        jobs.push((index, job));
                    }
                }
            }
            changed.push((gpt.id.clone(), version, files));
        }
        // GPTs without knowledge files are done at once.
        let empty: Vec<(String, String)> = changed
            .iter()
            .filter(|(_, _, files)| *files == 0)
            .map(|(id, version, _)| (id.clone(), version.clone()))
            .collect();
        if !empty.is_empty() {
            let batch = Batch {
                gpt_configs: empty,
                ..Default::default()
            };
            self.commit(batch, Vec::new()).await?;
        }
        let mut results = stream::iter(jobs)
            .map(|(index, job)| async move { (index, self.fetch_file(job).await) })
            .buffer_unordered(self.config.api.concurrency.max(1));
        while let Some((index, outcome)) = results.next().await {
            let outcome = outcome?;
            let mut batch = Batch {
                records: outcome.records,
                files: outcome.files,
                ..Default::default()
            };
            if let Some((id, version, left)) = changed.get_mut(index) {
                *left = left.saturating_sub(1);
                if *left == 0 {
                    batch.gpt_configs.push((id.clone(), version.clone()));
                }
            }
            self.commit(batch, outcome.evidence).await?;
            if self.stopping() {
                break;
            }
        }
        Ok(())
    }

    fn gpt_meta(
        &self,
        gpt: &Gpt,
        config: &GptConfig,
        file: &crate::model::KnowledgeFile,
    ) -> ItemMeta {
        let names = config
            .knowledge_files()
            .iter()
            .map(|f| f.name.clone().unwrap_or_else(|| f.id.clone()))
            .collect();
        ItemMeta {
            item: Some(ItemKind::GptFile),
            workspace_id: Some(self.workspace_id.clone()),
            file_id: Some(file.id.clone()),
            file_name: file.name.clone(),
            gpt_id: Some(gpt.id.clone()),
            gpt_name: config.name.clone(),
            gpt_owner_email: gpt.owner_email.clone(),
            gpt_visibility: gpt.visibility().map(str::to_string),
            gpt_knowledge_files: Some(names),
            gpt_config_id: config.id.clone(),
            user_email: gpt.owner_email.clone(),
            ..Default::default()
        }
    }

    /// Writes evidence kept pending by earlier cycles (its store was failing), forgetting each
    /// item once written. The first failure ends it: the store is still failing, and what is
    /// left waits for the next cycle (evidence of this cycle goes pending without trying).
    async fn retry_pending_evidence(&self) -> Result<(), Error> {
        let keys = lock(&self.state).pending_evidence_keys()?;
        if !self.evidence.is_enabled() {
            // Kept for when evidence capture is on again; counted so that it is not forgotten.
            lock(&self.summary).pending_evidence += keys.len() as u64;
            return Ok(());
        }
        // Each cycle gives a store that failed a new chance.
        self.evidence.clear_failing();
        for (done, key) in keys.iter().enumerate() {
            let Some(pending) = lock(&self.state).pending_evidence(key)? else {
                continue;
            };
            if let Err(e) = self.evidence.put(key, &pending.content).await {
                let left = (keys.len() - done) as u64;
                lock(&self.summary).pending_evidence += left;
                tracing::warn!(
                    store = %self.evidence.location(),
                    pending = left,
                    error = %e,
                    "the evidence store is still failing; its evidence stays in the state \
                     database and is retried next cycle"
                );
                return Ok(());
            }
            lock(&self.state).remove_pending_evidence(key)?;
        }
        if !keys.is_empty() {
            tracing::info!(
                store = %self.evidence.location(),
                written = keys.len(),
                "pending evidence written"
            );
        }
        Ok(())
    }

    async fn commit(
        &self,
        mut batch: Batch,
        evidence: Vec<(String, Vec<u8>)>,
    ) -> Result<(), Error> {
        // Evidence first: a committed finding has its evidence in the store, or pending in the
        // same transaction when the store failed (written again each cycle, never lost).
        // Rewriting is harmless. Once a write failed, the rest of the cycle's evidence goes
        // pending without trying: each try could take the store's retries.
        for (key, content) in evidence {
            if !self.evidence.is_failing() {
                match self.evidence.put(&key, &content).await {
                    Ok(()) => continue,
                    Err(e) => tracing::warn!(
                        store = %self.evidence.location(),
                        error = %e,
                        "the evidence store is failing; evidence is kept in the state database \
                         and retried next cycle"
                    ),
                }
            }
            batch.evidence.push(PendingEvidence { key, content });
        }
        let done = self.commits.load(Ordering::SeqCst);
        if self.hooks.abort_before_commit.is_some_and(|n| done >= n) {
            return Err(Error::new(
                ErrorKind::Aborted,
                "crash hook: stopped before a commit",
            ));
        }
        lock(&self.state).commit(&batch)?;
        lock(&self.summary).pending_evidence += batch.evidence.len() as u64;
        let done = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hooks.abort_after_commits.is_some_and(|n| done >= n) {
            return Err(Error::new(
                ErrorKind::Aborted,
                "crash hook: stopped after a commit",
            ));
        }
        self.emit_pending()
    }

    /// Writes committed records that are not yet in the output, then marks them.
    fn emit_pending(&self) -> Result<(), Error> {
        // The sink lock is held throughout so two tasks never write the same records.
        let mut sink = lock(&self.sink);
        let pending = lock(&self.state).unemitted()?;
        if pending.is_empty() {
            return Ok(());
        }
        for (_, record) in &pending {
            sink.write(record)?;
        }
        sink.flush()?;
        let checkpoint = sink.checkpoint()?;
        let seqs: Vec<i64> = pending.iter().map(|(seq, _)| *seq).collect();
        lock(&self.state).mark_emitted_at(&seqs, checkpoint.as_deref())?;
        let mut s = lock(&self.summary);
        for (_, record) in &pending {
            match record {
                Record::Finding(f) => {
                    s.findings += 1;
                    *s.findings_by_detector
                        .entry(f.detector.clone())
                        .or_default() += 1;
                }
                Record::Skipped(k) => {
                    *s.skipped.entry(k.reason.as_str().to_string()).or_default() += 1;
                }
            }
        }
        Ok(())
    }
}

/// Whether a log file whose download failed with `kind` (after the client's retries) is kept
/// pending and retried on later cycles instead of ending the cycle: any failure of the API or
/// the network, but not a `410` (the file is gone: its window is lost), nor a refused key
/// (`Unauthorized`, `Forbidden`: the cycle ends with its error), nor the connector's own
/// failures (state, output).
fn defers_log_file(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Throttled
            | ErrorKind::Server
            | ErrorKind::Transient
            | ErrorKind::NotFound
            | ErrorKind::Client
            | ErrorKind::Protocol
    )
}

/// The version of a GPT configuration: its id, or, should the API leave the id out, its
/// knowledge files.
fn config_version(config: &GptConfig) -> String {
    match &config.id {
        Some(id) => id.clone(),
        None => {
            let mut ids: Vec<&str> = config
                .knowledge_files()
                .iter()
                .map(|f| f.id.as_str())
                .collect();
            ids.sort_unstable();
            format!("files:{}", ids.join(","))
        }
    }
}

fn add_stats(summary: &mut ScanSummary, before: &ClientStats, after: &ClientStats) {
    for (endpoint, n) in &after.requests {
        let delta = n - before.requests.get(endpoint).copied().unwrap_or(0);
        if delta > 0 {
            summary.requests.insert(endpoint.to_string(), delta);
        }
    }
    summary.throttled = after.throttled - before.throttled;
    summary.retries = after.retries - before.retries;
    summary.downloaded_bytes = after.downloaded_bytes - before.downloaded_bytes;
}

fn findings(item_key: &str, meta: &ItemMeta, found: Vec<Finding>) -> Vec<(String, Record)> {
    found
        .into_iter()
        .map(|f| {
            let key = format!(
                "{item_key}|{}|{}|{}|{}|{}|{}",
                f.detector,
                f.member.as_deref().unwrap_or(""),
                f.location.as_deref().unwrap_or(""),
                f.start,
                f.end,
                f.fingerprint
            );
            (key, Record::Finding(FindingRecord::new(f, meta.clone())))
        })
        .collect()
}

/// A skip record with its de-duplication key: one per item, member and reason.
fn skipped(item_key: &str, record: SkippedRecord) -> (String, Record) {
    let key = match &record.member {
        Some(member) => format!("skip|{item_key}|{}|{member}", record.reason),
        None => format!("skip|{item_key}|{}", record.reason),
    };
    (key, Record::Skipped(record))
}

/// Every string value in a JSON document, with its path (`input.query`, `output[0].text`).
fn collect_strings<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((path, s)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                collect_strings(item, format!("{path}.{key}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_of_a_tool_call_is_collected() {
        let v = serde_json::json!({"query": "a", "n": 1, "nested": [{"text": "b"}, null, ["c"]]});
        let mut out = Vec::new();
        collect_strings(&v, "input".into(), &mut out);
        let paths: Vec<_> = out.iter().map(|(p, s)| format!("{p}={s}")).collect();
        assert_eq!(
            paths,
            [
                "input.nested[0].text=b",
                "input.nested[2][0]=c",
                "input.query=a"
            ]
        );
    }
}
