//! The connector as a service: forward scans of every registered connector in one process
//! (`dlp chatgpt run`).
//!
//! Each connector that is not paused runs in its own task, with its own client and rate
//! limits: the historical scan of its lookback first (when its state has no completed cycle),
//! then a forward cycle every `scan.poll_interval_secs`. A failed cycle never ends the service:
//! the connector's status is recorded in the registry (`auth_failed`, `scope_missing`,
//! `unreachable`) and the cycle is tried again later, with a new key or configuration as soon
//! as the registry has one. The registry is read again every few seconds, so connectors added,
//! paused, resumed, re-keyed or deleted are picked up without a restart.
//!
//! Records go to the configured sinks ([`sinks`]); documents are inspected by one engine per
//! distinct scan configuration, shared by the connectors that have it.

mod metrics;
pub mod sinks;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dlp_engine::EngineBuilder;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use metrics::{render as render_metrics, ConnectorMetrics};
pub use sinks::{ConnectorSink, OutputFormat, SharedStdout, SinkConfig};

use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::inspect::Inspector;
use crate::registry::{LoadedConnector, Registry, ServiceLock, Status};
use crate::scan::{Connector, ScanSummary};
use crate::state::StateStore;
use crate::sync::lock;
use sinks::Webhook;

/// How long a stopping connector may take to finish the item it is on before its cycle is
/// abandoned (as safe as a kill: uncommitted work is redone at the next start).
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// The service's configuration file (`dlp chatgpt run --config FILE`, default
/// `<home>/chatgpt/service.toml` when it exists).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address of the `/healthz` and `/metrics` endpoint, such as `127.0.0.1:9464` (a port
    /// alone means 127.0.0.1). Default none; `--listen` overrides it.
    pub listen: Option<String>,
    /// Whether records are also written to standard output. Default: only when no sink is
    /// configured here.
    pub stdout: Option<bool>,
    /// Seconds between two readings of the registry. Default 5.
    pub reload_secs: u64,
    /// Sinks of every connector (`[[sinks]]`); a JSONL path must contain `{connector}`.
    pub sinks: Vec<SinkConfig>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            listen: None,
            stdout: None,
            reload_secs: 5,
            sinks: Vec::new(),
        }
    }
}

impl ServiceConfig {
    /// Reads and checks a service configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<ServiceConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let config: ServiceConfig = toml::from_str(&text)
            .map_err(|e| Error::new(ErrorKind::Config, format!("{}: {e}", path.display())))?;
        config
            .validate()
            .map_err(|e| Error::new(ErrorKind::Config, format!("{}: {e}", path.display())))?;
        Ok(config)
    }

    /// Checks the sinks and the reload interval.
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=3600).contains(&self.reload_secs) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "reload_secs = {} must be between 1 and 3600",
                    self.reload_secs
                ),
            ));
        }
        for sink in &self.sinks {
            sink.validate(true)?;
        }
        Ok(())
    }
}

/// How the service runs.
pub struct ServiceOptions {
    /// One cycle of every connector (the historical scan where due), then return.
    pub once: bool,
    /// How often the registry is read again (default 5 s).
    pub reload_interval: Duration,
    /// How long a connector waits after a failed cycle before it tries again (default 60 s;
    /// the poll interval when that is shorter).
    pub retry_interval: Duration,
    /// The engine every connector's is built from (custom rules); each connector's
    /// configuration adds its file filter and detector selection.
    pub engine: EngineBuilder,
    /// The clock of the scans and their waits (default: the system clock).
    pub clock: SharedClock,
    /// Sinks of every connector (a connector's configuration may add its own).
    pub sinks: Vec<SinkConfig>,
    /// Standard output and its format; `None` writes nothing there.
    pub stdout: Option<(SharedStdout, OutputFormat)>,
    /// Called with what happens (cycles done or failed, connectors started and stopped).
    pub on_event: Option<EventHandler>,
}

impl std::fmt::Debug for ServiceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceOptions")
            .field("once", &self.once)
            .field("reload_interval", &self.reload_interval)
            .field("sinks", &self.sinks)
            .finish_non_exhaustive()
    }
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            once: false,
            reload_interval: Duration::from_secs(5),
            retry_interval: Duration::from_secs(60),
            engine: EngineBuilder::new(),
            clock: SystemClock::shared(),
            sinks: Vec::new(),
            stdout: None,
            on_event: None,
        }
    }
}

/// Receives what the service reports.
pub type EventHandler = Arc<dyn Fn(&ServiceEvent) + Send + Sync>;

/// Something the service reports.
#[derive(Debug)]
pub enum ServiceEvent<'a> {
    /// A connector's task started (or restarted with a new key or configuration).
    Started {
        /// The connector.
        connector: &'a str,
        /// Whether it starts with the historical scan.
        historical: bool,
    },
    /// A cycle completed.
    CycleDone {
        /// The connector.
        connector: &'a str,
        /// What it did.
        summary: &'a ScanSummary,
    },
    /// A cycle (or the connector's set-up) failed; it is tried again.
    CycleFailed {
        /// The connector.
        connector: &'a str,
        /// The status this means.
        status: Status,
        /// The error.
        error: &'a Error,
        /// When it is tried again (`None` with `once`).
        retry_in: Option<Duration>,
    },
    /// A connector's task ended (paused, deleted, or the service stopping).
    Stopped {
        /// The connector.
        connector: &'a str,
        /// Why.
        reason: &'a str,
    },
}

/// What a run did, for `--once`'s exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Cycles completed, by connector.
    pub completed: BTreeMap<String, u64>,
    /// Cycles failed, by connector, with the last error.
    pub failed: BTreeMap<String, String>,
}

/// Live totals over every connector, for a progress line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Connectors running.
    pub connectors: usize,
    /// Connectors in a cycle now.
    pub busy: usize,
    /// Log files processed (this process).
    pub log_files: u64,
    /// Items inspected: messages, files, tool calls (this process).
    pub items: u64,
    /// Findings written (this process).
    pub findings: u64,
    /// API requests sent (this process).
    pub requests: u64,
    /// 429 answers (this process).
    pub throttled: u64,
    /// Requests waiting for their connector's rate limit now.
    pub waiting: u64,
}

struct Live {
    connector: Arc<Connector>,
    busy: bool,
    /// Totals of completed cycles of this connector object.
    done: ScanSummary,
}

struct Shared {
    registry: Registry,
    options: ServiceOptions,
    metrics: Mutex<BTreeMap<String, ConnectorMetrics>>,
    live: Mutex<BTreeMap<String, Live>>,
    inspectors: Mutex<HashMap<String, Arc<dyn Inspector>>>,
    report: Mutex<RunReport>,
    started: Instant,
}

/// The service over a registry.
pub struct Service {
    shared: Arc<Shared>,
    _lock: ServiceLock,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("registry", &self.shared.registry.dir())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over `registry`. The global sinks are checked here.
    /// Refused while another service runs on the same registry.
    pub fn new(registry: Registry, options: ServiceOptions) -> Result<Service, Error> {
        for sink in &options.sinks {
            sink.validate(true)?;
            Webhook::from_config(sink)?;
        }
        let lock = registry.lock_service()?;
        Ok(Service {
            _lock: lock,
            shared: Arc::new(Shared {
                registry,
                options,
                metrics: Mutex::new(BTreeMap::new()),
                live: Mutex::new(BTreeMap::new()),
                inspectors: Mutex::new(HashMap::new()),
                report: Mutex::new(RunReport::default()),
                started: Instant::now(),
            }),
        })
    }

    /// The counters in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        let shared = &self.shared;
        {
            let live = lock(&shared.live);
            let mut metrics = lock(&shared.metrics);
            for (name, l) in live.iter() {
                metrics.entry(name.clone()).or_default().api_live = l.connector.client().stats();
            }
        }
        render_metrics(
            &lock(&shared.metrics),
            shared.started.elapsed().as_secs_f64(),
        )
    }

    /// Live totals over every connector.
    pub fn progress(&self) -> Progress {
        let live = lock(&self.shared.live);
        let mut p = Progress {
            connectors: live.len(),
            ..Default::default()
        };
        for l in live.values() {
            let (now, stats) = l.connector.progress();
            let current = if l.busy { Some(&now) } else { None };
            for s in std::iter::once(&l.done).chain(current) {
                p.log_files += s.log_files;
                p.items += s.messages_inspected
                    + s.conversation_files_inspected
                    + s.gpt_files_inspected
                    + s.app_logs_inspected;
                p.findings += s.findings;
            }
            p.busy += usize::from(l.busy);
            p.requests += stats.requests.values().sum::<u64>();
            p.throttled += stats.throttled;
            p.waiting += stats.waiting_now;
        }
        p
    }

    /// Runs every connector until `shutdown` completes (or, with `once`, until each ran one
    /// cycle). On shutdown every connector finishes the item it is on and saves its state.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<RunReport, Error> {
        let shared = &self.shared;
        let (stop_all, _) = watch::channel(false);
        let mut tasks: JoinSet<String> = JoinSet::new();
        let mut running: HashMap<String, watch::Sender<bool>> = HashMap::new();
        let mut started_once = false;
        tokio::pin!(shutdown);
        loop {
            // Which connectors should run now.
            match shared.registry.entries() {
                Ok(entries) => {
                    let active: Vec<String> = entries
                        .iter()
                        .filter(|e| !e.paused)
                        .map(|e| e.name.clone())
                        .collect();
                    {
                        let mut metrics = lock(&shared.metrics);
                        metrics.retain(|name, _| entries.iter().any(|e| &e.name == name));
                        for e in &entries {
                            let m = metrics.entry(e.name.clone()).or_default();
                            m.paused = e.paused;
                            m.status.get_or_insert(e.status);
                        }
                    }
                    for (name, stop) in &running {
                        if !active.contains(name) {
                            let _ = stop.send(true);
                        }
                    }
                    if !(shared.options.once && started_once) {
                        for name in active {
                            if let std::collections::hash_map::Entry::Vacant(slot) =
                                running.entry(name.clone())
                            {
                                let (stop, stop_rx) = watch::channel(false);
                                let all = stop_all.subscribe();
                                tasks.spawn(connector_task(Arc::clone(shared), name, stop_rx, all));
                                slot.insert(stop);
                            }
                        }
                    }
                    started_once = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the connector registry; using the last one read")
                }
            }
            if shared.options.once && tasks.is_empty() {
                break;
            }
            let reload = tokio::time::sleep(shared.options.reload_interval);
            tokio::select! {
                () = &mut shutdown => break,
                () = reload => {}
                Some(done) = tasks.join_next() => {
                    if let Ok(name) = done {
                        running.remove(&name);
                    }
                }
            }
        }
        let _ = stop_all.send(true);
        for stop in running.values() {
            let _ = stop.send(true);
        }
        while tasks.join_next().await.is_some() {}
        let report = lock(&shared.report).clone();
        Ok(report)
    }
}

fn emit(shared: &Shared, event: ServiceEvent) {
    if let Some(on_event) = &shared.options.on_event {
        on_event(&event);
    }
}

fn record_status(shared: &Shared, name: &str, status: Status, detail: Option<&str>) {
    lock(&shared.metrics)
        .entry(name.to_string())
        .or_default()
        .status = Some(status);
    if let Err(e) = shared.registry.record_status(name, status, detail) {
        tracing::warn!(connector = name, error = %e, "cannot record the connector's status");
    }
}

/// What identifies a connector's set-up: when it changes (a new key, configuration or base
/// URL), the connector is built again.
fn fingerprint(loaded: &LoadedConnector) -> String {
    let mut h = Sha256::new();
    h.update(loaded.entry.workspace_id.as_bytes());
    h.update([0]);
    h.update(loaded.key.expose().as_bytes());
    h.update([0]);
    h.update(format!("{:?}", loaded.config).as_bytes());
    crate::client::hex(&h.finalize())
}

struct Built {
    fingerprint: String,
    connector: Arc<Connector>,
    config: Config,
    /// Stops its webhook deliveries.
    deliveries: Vec<(watch::Sender<Delivery>, tokio::task::JoinHandle<()>)>,
}

/// How long `--once` waits for webhooks to take the records of its cycle before it exits
/// (what they have not taken stays in the state for the next run).
pub const WEBHOOK_DRAIN: Duration = Duration::from_secs(30);

impl Built {
    /// Stops its webhook deliveries; with `drain`, after they delivered everything (or after
    /// [`WEBHOOK_DRAIN`]).
    async fn retire(self, drain: bool) {
        for (stop, mut task) in self.deliveries {
            if drain {
                let _ = stop.send(Delivery::Drain);
                if tokio::time::timeout(WEBHOOK_DRAIN, &mut task).await.is_ok() {
                    continue;
                }
            }
            let _ = stop.send(Delivery::Stop);
            let _ = task.await;
        }
    }
}

/// What a webhook delivery task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Run,
    /// Deliver what is pending, then stop.
    Drain,
    Stop,
}

async fn connector_task(
    shared: Arc<Shared>,
    name: String,
    mut stop: watch::Receiver<bool>,
    mut stop_all: watch::Receiver<bool>,
) -> String {
    let mut built: Option<Built> = None;
    let stopped =
        |stop: &watch::Receiver<bool>, all: &watch::Receiver<bool>| *stop.borrow() || *all.borrow();
    loop {
        if stopped(&stop, &stop_all) {
            break;
        }
        let wait = match one_cycle(&shared, &name, &mut built, &mut stop, &mut stop_all).await {
            Ok(wait) => wait,
            Err((_, error)) if error.kind() == ErrorKind::Aborted && stopped(&stop, &stop_all) => {
                break;
            }
            Err((status, error)) => {
                let retry = shared
                    .options
                    .retry_interval
                    .min(poll_interval(built.as_ref()));
                record_status(&shared, &name, status, Some(&error.to_string()));
                lock(&shared.metrics)
                    .entry(name.clone())
                    .or_default()
                    .cycles_failed += 1;
                lock(&shared.report)
                    .failed
                    .insert(name.clone(), error.to_string());
                emit(
                    &shared,
                    ServiceEvent::CycleFailed {
                        connector: &name,
                        status,
                        error: &error,
                        retry_in: (!shared.options.once).then_some(retry),
                    },
                );
                retry
            }
        };
        if shared.options.once {
            break;
        }
        let clock = shared.options.clock.clone();
        tokio::select! {
            () = clock.sleep(wait) => {}
            _ = stop.changed() => {}
            _ = stop_all.changed() => {}
        }
    }
    lock(&shared.live).remove(&name);
    if let Some(b) = built.take() {
        b.retire(shared.options.once).await;
    }
    let reason = if *stop_all.borrow() {
        "the service is stopping"
    } else if shared.options.once {
        "one cycle done"
    } else {
        "paused or deleted"
    };
    emit(
        &shared,
        ServiceEvent::Stopped {
            connector: &name,
            reason,
        },
    );
    name
}

fn poll_interval(built: Option<&Built>) -> Duration {
    let secs = built
        .map(|b| b.config.scan.poll_interval_secs)
        .unwrap_or(60);
    Duration::from_secs(secs.max(1))
}

/// Loads the connector (building it again when its set-up changed) and runs one cycle.
/// Returns how long to wait before the next one.
async fn one_cycle(
    shared: &Arc<Shared>,
    name: &str,
    built: &mut Option<Built>,
    stop: &mut watch::Receiver<bool>,
    stop_all: &mut watch::Receiver<bool>,
) -> Result<Duration, (Status, Error)> {
    let loaded = shared.registry.load(name).map_err(|e| {
        let status = match e.kind() {
            // A key file that cannot be read or is not a key.
            ErrorKind::Config => Status::AuthFailed,
            _ => Status::from_error(&e),
        };
        (status, e)
    })?;
    let fp = fingerprint(&loaded);
    if built.as_ref().map(|b| &b.fingerprint) != Some(&fp) {
        if let Some(old) = built.take() {
            lock(&shared.live).remove(name);
            lock(&shared.metrics)
                .entry(name.to_string())
                .or_default()
                .retire_live();
            old.retire(false).await;
        }
        let new = build(shared, name, &loaded, fp).map_err(|e| (Status::from_error(&e), e))?;
        lock(&shared.live).insert(
            name.to_string(),
            Live {
                connector: Arc::clone(&new.connector),
                busy: false,
                done: ScanSummary::default(),
            },
        );
        *built = Some(new);
    }
    let Some(b) = built.as_ref() else {
        return Err((
            Status::Unreachable,
            Error::new(ErrorKind::State, "the connector was not built"),
        ));
    };
    let connector = Arc::clone(&b.connector);
    let historical = connector
        .last_cycle()
        .map_err(|e| (Status::Unreachable, e))?
        .is_none();
    emit(
        shared,
        ServiceEvent::Started {
            connector: name,
            historical,
        },
    );
    set_busy(shared, name, true);
    let result = {
        let cycle = async {
            if historical {
                connector
                    .historical_scan(Some(b.config.scan.lookback_days()))
                    .await
            } else {
                connector.forward_scan().await
            }
        };
        tokio::pin!(cycle);
        let stopping = tokio::select! {
            r = &mut cycle => Some(r),
            _ = stop.changed() => None,
            _ = stop_all.changed() => None,
        };
        match stopping {
            Some(r) => r,
            None => {
                // The cycle finishes the item it is on; one stuck in retries or rate-limit
                // waits is abandoned after a grace period, which is as safe as a kill: what
                // was not committed is done again at the next start.
                connector.request_stop();
                match tokio::time::timeout(STOP_GRACE, &mut cycle).await {
                    Ok(r) => r,
                    Err(_) => Err(Error::new(
                        ErrorKind::Aborted,
                        "stopped before the cycle finished; it resumes at the next start",
                    )),
                }
            }
        }
    };
    set_busy(shared, name, false);
    let summary = result.map_err(|e| (Status::from_error(&e), e))?;
    record_status(shared, name, Status::Connected, None);
    {
        let mut metrics = lock(&shared.metrics);
        let m = metrics.entry(name.to_string()).or_default();
        m.count_cycle(&summary);
        let now = time::OffsetDateTime::now_utc();
        m.last_cycle_unix = Some(now.unix_timestamp());
        m.lag_secs = connector.report(now).ok().and_then(|r| r.lag_secs(now));
    }
    if let Some(l) = lock(&shared.live).get_mut(name) {
        add_summary(&mut l.done, &summary);
    }
    *lock(&shared.report)
        .completed
        .entry(name.to_string())
        .or_default() += 1;
    lock(&shared.report).failed.remove(name);
    emit(
        shared,
        ServiceEvent::CycleDone {
            connector: name,
            summary: &summary,
        },
    );
    Ok(poll_interval(Some(b)))
}

fn set_busy(shared: &Shared, name: &str, busy: bool) {
    if let Some(l) = lock(&shared.live).get_mut(name) {
        l.busy = busy;
    }
}

fn add_summary(total: &mut ScanSummary, s: &ScanSummary) {
    total.log_files += s.log_files;
    total.messages_inspected += s.messages_inspected;
    total.conversation_files_inspected += s.conversation_files_inspected;
    total.gpt_files_inspected += s.gpt_files_inspected;
    total.app_logs_inspected += s.app_logs_inspected;
    total.findings += s.findings;
}

/// The engine of a configuration, shared by connectors with the same scan settings.
fn inspector(shared: &Shared, config: &Config) -> Result<Arc<dyn Inspector>, Error> {
    let key = format!("{:?}", config.scan);
    if let Some(found) = lock(&shared.inspectors).get(&key) {
        return Ok(Arc::clone(found));
    }
    let engine: Arc<dyn Inspector> = Arc::new(config.scan.build_engine(&shared.options.engine)?);
    lock(&shared.inspectors).insert(key, Arc::clone(&engine));
    Ok(engine)
}

fn build(
    shared: &Arc<Shared>,
    name: &str,
    loaded: &LoadedConnector,
    fingerprint: String,
) -> Result<Built, Error> {
    let config = loaded.config.clone();
    let mut sinks_config = shared.options.sinks.clone();
    sinks_config.extend(config.sinks.iter().cloned());
    let mut sink = ConnectorSink::new(
        name,
        &loaded.entry.workspace_id,
        shared.options.stdout.clone(),
        &sinks_config,
    )?;
    let observed = Arc::clone(shared);
    let observed_name = name.to_string();
    sink.observe(Box::new(move |record| {
        lock(&observed.metrics)
            .entry(observed_name.clone())
            .or_default()
            .count_record(record);
    }));
    let mut builder = Connector::builder(&loaded.entry.workspace_id, loaded.key.clone());
    builder
        .inspector(inspector(shared, &config)?)
        .config(config.clone())
        .clock(shared.options.clock.clone())
        .state_path(&loaded.state_path)?
        .sink(Box::new(sink));
    let connector = Arc::new(builder.build()?);
    let mut deliveries = Vec::new();
    for sink in &sinks_config {
        if let Some(hook) = Webhook::from_config(sink)? {
            let (stop, stop_rx) = watch::channel(Delivery::Run);
            let task = tokio::spawn(deliver(
                Arc::clone(shared),
                name.to_string(),
                loaded.entry.workspace_id.clone(),
                loaded.state_path.clone(),
                hook,
                stop_rx,
            ));
            deliveries.push((stop, task));
        }
    }
    Ok(Built {
        fingerprint,
        connector,
        config,
        deliveries,
    })
}

/// Delivers a connector's committed records to a webhook, in order, at least once: the
/// cursor in the state moves only past batches the receiver acknowledged with a 2xx.
async fn deliver(
    shared: Arc<Shared>,
    connector: String,
    workspace_id: String,
    state_path: std::path::PathBuf,
    hook: Webhook,
    mut stop: watch::Receiver<Delivery>,
) {
    let shown = sinks::redact(&hook.url);
    let http = match reqwest::Client::builder().timeout(hook.timeout).build() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(connector, webhook = %shown, error = %e, "cannot build the webhook client");
            return;
        }
    };
    let mut delay = Duration::from_secs(1);
    let failing = AtomicBool::new(false);
    let mut state: Option<StateStore> = None;
    loop {
        if *stop.borrow() == Delivery::Stop {
            return;
        }
        let batch = (|| -> Result<_, Error> {
            if state.is_none() {
                state = Some(StateStore::open(&state_path, &workspace_id)?);
            }
            let Some(s) = state.as_ref() else {
                return Ok((Vec::new(), 0));
            };
            let cursor = s.sink_cursor(&hook.cursor_name)?;
            Ok((
                s.records_after(cursor, hook.batch_size)?,
                s.count_after(cursor)?,
            ))
        })();
        let wait = match batch {
            Err(e) => {
                tracing::warn!(connector, error = %e, "webhook delivery cannot read the state");
                Duration::from_secs(5)
            }
            Ok((records, pending)) => {
                set_webhook(&shared, &connector, |m| {
                    m.webhook_pending.insert(hook.cursor_name.clone(), pending);
                });
                if records.is_empty() {
                    if *stop.borrow() == Delivery::Drain {
                        return;
                    }
                    Duration::from_secs(2)
                } else {
                    let mut body = String::from("[");
                    for (i, r) in records.iter().enumerate() {
                        if i > 0 {
                            body.push(',');
                        }
                        body.push_str(&sinks::tagged_json(&connector, &workspace_id, &r.record));
                    }
                    body.push(']');
                    let mut request = http
                        .post(&hook.url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body);
                    if let Some(token) = &hook.token {
                        request = request.bearer_auth(token);
                    }
                    let sent = tokio::select! {
                        r = request.send() => r,
                        _ = stop.wait_for(|s| *s == Delivery::Stop) => return,
                    };
                    let outcome = match sent {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(format!("answered {}", r.status())),
                        Err(e) => Err(if e.is_timeout() {
                            "timed out".to_string()
                        } else if e.is_connect() {
                            "cannot connect".to_string()
                        } else {
                            "the request failed".to_string()
                        }),
                    };
                    match outcome {
                        Ok(()) => {
                            let last = records.last().map(|r| r.seq).unwrap_or(0);
                            let saved = state
                                .as_mut()
                                .map(|s| s.set_sink_cursor(&hook.cursor_name, last));
                            if let Some(Err(e)) = saved {
                                tracing::warn!(connector, error = %e, "cannot save the webhook cursor; the batch will be sent again");
                            }
                            if failing.swap(false, Ordering::Relaxed) {
                                tracing::warn!(connector, webhook = %shown, "webhook delivers again");
                            }
                            set_webhook(&shared, &connector, |m| {
                                *m.webhook_delivered
                                    .entry(hook.cursor_name.clone())
                                    .or_default() += records.len() as u64;
                                m.webhook_pending.insert(
                                    hook.cursor_name.clone(),
                                    pending.saturating_sub(records.len() as u64),
                                );
                            });
                            delay = Duration::from_secs(1);
                            Duration::ZERO
                        }
                        Err(why) => {
                            if !failing.swap(true, Ordering::Relaxed) {
                                tracing::warn!(connector, webhook = %shown, why, pending,
                                    "webhook delivery failed; the records stay pending and are retried");
                            }
                            set_webhook(&shared, &connector, |m| {
                                *m.webhook_failures
                                    .entry(hook.cursor_name.clone())
                                    .or_default() += 1;
                            });
                            let wait = delay;
                            delay = (delay * 2).min(Duration::from_secs(300));
                            wait
                        }
                    }
                }
            }
        };
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

fn set_webhook(shared: &Shared, connector: &str, change: impl FnOnce(&mut ConnectorMetrics)) {
    change(
        lock(&shared.metrics)
            .entry(connector.to_string())
            .or_default(),
    );
}

/// Serves `/healthz` and `/metrics` on `listener` until `shutdown` completes.
pub async fn serve_http(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let metrics = {
        let service = Arc::clone(&service);
        move || {
            let service = Arc::clone(&service);
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    service.metrics_text(),
                )
                    .into_response()
            }
        }
    };
    let app = axum::Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
        .route("/metrics", get(metrics));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::new(ErrorKind::Output, format!("metrics endpoint: {e}")))
}
