//! `dlp chatgpt demo`: the simulator embedded, a historical scan of it, and a comparison of the
//! findings with the ground truth. It works with no account and no network.
//!
//! The scan inspects with the engine the caller configures, through the same connector path as
//! a real workspace: with the default isolation, documents are parsed in worker processes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::clock::{SharedClock, SystemClock, VirtualClock};
use crate::config::Config;
use crate::credentials::ApiKey;
use crate::error::Error;
use crate::record::{ItemKind, MemorySink, Record, RecordSink, TeeSink};
use crate::scan::{Connector, ScanSummary};
use crate::sim::{Planted, SimConfig, Simulator, WorkspaceSpec};
use dlp_engine::EngineBuilder;

/// Settings of a demo run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seed of the simulated workspace.
    pub seed: u64,
    /// Lookback of the historical scan, in days.
    pub days: u32,
    /// Users of the simulated workspace (the rest of its size follows).
    pub users: usize,
    /// Run at the real pace of the rate limits (minutes) instead of on a virtual clock that
    /// skips the waits (about a second). The requests and limits are the same either way.
    pub real_time: bool,
    /// Add a GPT with hostile knowledge files ([`crate::sim::HOSTILE_FILES`]).
    pub hostile_files: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: WorkspaceSpec::default().seed,
            days: 30,
            users: WorkspaceSpec::default().users,
            real_time: false,
            hostile_files: false,
        }
    }
}

/// What the demo found, against what the simulator planted.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The scan's summary.
    pub summary: ScanSummary,
    /// The simulated workspace id.
    pub workspace_id: String,
    /// Planted values in items of the scanned window that were not skipped as a whole.
    pub expected: usize,
    /// Of those, found (same item, same detector).
    pub found: usize,
    /// Planted values not found.
    pub missed: Vec<Planted>,
    /// Findings that match no planted value.
    pub unplanted_findings: usize,
    /// Most requests any endpoint received in one rolling minute, by endpoint.
    pub max_per_minute: BTreeMap<&'static str, usize>,
    /// Requests the simulator refused for exceeding a rate limit (must be 0).
    pub rate_limit_violations: usize,
    /// Time of the scan at the API's pace (virtual on a virtual clock).
    pub api_time: Duration,
    /// Wall-clock time the demo took.
    pub real_time: Duration,
}

/// Runs the demo: simulator, historical scan with an engine built from `engine`, comparison with
/// the ground truth. Records go to `sink` as they are committed.
pub async fn run_demo(
    engine: EngineBuilder,
    options: &DemoOptions,
    sink: Box<dyn RecordSink>,
) -> Result<DemoReport, Error> {
    let real = Instant::now();
    let clock: SharedClock = if options.real_time {
        SystemClock::shared()
    } else {
        VirtualClock::new(
            OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| OffsetDateTime::now_utc()),
        )
        .shared()
    };
    let spec = WorkspaceSpec {
        seed: options.seed,
        users: options.users,
        hostile_files: options.hostile_files,
        ..Default::default()
    };
    let sim = Simulator::start(
        SimConfig {
            spec,
            ..Default::default()
        },
        clock.clone(),
    )
    .await?;
    let mut config = Config::default();
    config.api.base_url = sim.base_url();
    let memory = MemorySink::new();
    let started = clock.elapsed();
    let scan_time = clock.wall();
    let connector = Connector::builder(sim.workspace_id(), ApiKey::new(sim.api_key())?)
        .engine(engine)
        .config(config)
        .clock(clock.clone())
        .sink(Box::new(TeeSink(memory.clone(), SinkBox(sink))))
        .build()?;
    let summary = connector.historical_scan(Some(options.days)).await?;
    let api_time = clock.elapsed() - started;

    let ws = sim.workspace();
    let after = scan_time
        - time::Duration::days(i64::from(options.days.min(crate::config::RETENTION_DAYS)));
    let events = ws.events_in_files(after, scan_time);
    let records = memory.records();
    let mut skipped_items = BTreeSet::new();
    let mut found_keys = BTreeSet::new();
    for record in &records {
        match record {
            // A member's skip leaves the rest of its file inspected: only whole-file skips
            // excuse the file's planted values.
            Record::Skipped(s) if s.member.is_none() => {
                if let Some(id) = s.meta.file_id.clone() {
                    skipped_items.insert(id);
                }
            }
            Record::Skipped(_) => {}
            Record::Finding(f) => {
                let item = match f.meta.item {
                    Some(ItemKind::Message | ItemKind::AppLog) => f.meta.event_id.clone(),
                    _ => f.meta.file_id.clone(),
                };
                found_keys.insert((item.unwrap_or_default(), f.detector.clone()));
            }
        }
    }
    let mut expected = 0;
    let mut missed = Vec::new();
    let mut planted_keys = BTreeSet::new();
    for p in &ws.planted {
        let item = match p.item {
            ItemKind::Message | ItemKind::AppLog => p.event_id.clone(),
            _ => p.file_id.clone(),
        }
        .unwrap_or_default();
        planted_keys.insert((item.clone(), p.detector.clone()));
        let in_window =
            p.item == ItemKind::GptFile || p.event_id.as_ref().is_some_and(|e| events.contains(e));
        if !in_window
            || p.file_id
                .as_ref()
                .is_some_and(|f| skipped_items.contains(f))
        {
            continue;
        }
        expected += 1;
        if !found_keys.contains(&(item, p.detector.clone())) {
            missed.push(p.clone());
        }
    }
    let unplanted_findings = found_keys.difference(&planted_keys).count();
    Ok(DemoReport {
        summary,
        workspace_id: ws.id.clone(),
        expected,
        found: expected - missed.len(),
        missed,
        unplanted_findings,
        max_per_minute: sim.max_per_minute(),
        rate_limit_violations: sim.rate_limit_violations(),
        api_time,
        real_time: real.elapsed(),
    })
}

struct SinkBox(Box<dyn RecordSink>);

impl RecordSink for SinkBox {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        self.0.write(record)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
