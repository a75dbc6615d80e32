//! `dlp chatgpt`: the ChatGPT Enterprise connector's commands (scan, watch, simulate, demo; the
//! registry's connect, list, reauth, configure, pause, resume and delete are in `connectors`).
//!
//! Parsing and printing only; the connector (`dlp-connector`) does the work, inspecting with
//! `dlp-engine` as `dlp scan` does: documents are parsed in worker processes (this executable,
//! re-run by `main` as a worker). The API key is read from `OPENAI_COMPLIANCE_API_KEY` or
//! `--api-key-file`, never from an argument.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use dlp_connector::sim::{SimConfig, Simulator, WorkspaceSpec};
use dlp_connector::{
    ApiKey, Config, Connector, DemoOptions, JsonlSink, Record, RecordSink, ScanSummary, SystemClock,
};
use dlp_engine::EngineBuilder;

/// Arguments of `dlp chatgpt`.
#[derive(Debug, clap::Args)]
pub struct ChatgptArgs {
    #[command(subcommand)]
    command: ChatgptCommand,
}

#[derive(Debug, Subcommand)]
enum ChatgptCommand {
    /// Historical scan of a workspace (the last N days, at most 30), then a summary.
    Scan(ScanArgs),
    /// Forward scans of a workspace until interrupted (Ctrl-C saves state and stops).
    Watch(WatchArgs),
    /// Run the Compliance API simulator on 127.0.0.1 (for trying the connector offline).
    Simulate(SimulateArgs),
    /// Run the simulator embedded and scan it: the connector end to end, no account needed.
    Demo(DemoArgs),
    /// Register a workspace as a named connector, after checking its key with one request.
    Connect(crate::connectors::ConnectArgs),
    /// The registered connectors: status, last cycle, lag, recent findings, lost windows.
    List(crate::connectors::ListArgs),
    /// Give a connector a new API key (checked first); its state is kept.
    Reauth(crate::connectors::ReauthArgs),
    /// Replace a connector's configuration (scope, scan settings), checked before it is saved.
    Configure(crate::connectors::ConfigureArgs),
    /// Stop scanning a connector until it is resumed.
    Pause(crate::connectors::NameArgs),
    /// Scan a paused connector again.
    Resume(crate::connectors::NameArgs),
    /// Remove a connector (with --purge, also its state, key copy and evidence).
    Delete(crate::connectors::DeleteArgs),
    /// Run every registered connector as a service: historical scans, then forward scans,
    /// until Ctrl-C or SIGTERM; --once runs one cycle of each and exits.
    Run(crate::run::RunArgs),
    /// Re-export the findings a connector's state keeps (JSONL or CSV).
    Findings(crate::run::FindingsArgs),
}

#[derive(Debug, clap::Args)]
struct ConnectArgs {
    /// Workspace id (a UUID from the admin settings) or organization id (`org-...`).
    #[arg(long, value_name = "ID")]
    workspace_id: String,
    /// API base URL (default: the configuration's, else https://api.chatgpt.com/v1).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// State database (cursors, seen events, findings); created if missing.
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Connector configuration (TOML; see the README for every field).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read the API key from this file instead of OPENAI_COMPLIANCE_API_KEY.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Custom detection rules (TOML).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Output format of findings on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, clap::Args)]
struct ScanArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Days to look back (capped at 30, the logs' retention; default: the configuration's, else 30).
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Exit with status 1 when the scan reported findings.
    #[arg(long)]
    fail_on_findings: bool,
}

#[derive(Debug, clap::Args)]
struct WatchArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Seconds between polls (default: the configuration's, else 60).
    #[arg(long, value_name = "SECS")]
    interval: Option<u64>,
    /// Run one forward cycle and exit.
    #[arg(long)]
    once: bool,
}

#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Seed of the generated workspace.
    #[arg(long, default_value_t = WorkspaceSpec::default().seed)]
    seed: u64,
    /// Users of the generated workspace (its activity grows with them).
    #[arg(long, default_value_t = WorkspaceSpec::default().users)]
    users: usize,
    /// Rate limit of list routes, per minute.
    #[arg(long, default_value_t = 50)]
    list_per_minute: u32,
    /// Rate limit of get and file routes, per minute.
    #[arg(long, default_value_t = 100)]
    get_per_minute: u32,
    /// Add a custom GPT whose knowledge files attack parsers (a PDF that overflows the parser's
    /// stack, a nested zip bomb, an XML entity expansion, a file over the size limit).
    #[arg(long)]
    hostile_files: bool,
    /// Hours of activity published after the start, as (simulated) time passes: new log files
    /// for forward scans (`dlp chatgpt watch` or `run`).
    #[arg(long, default_value_t = 0)]
    future_hours: u32,
    /// Run the simulated time this many times faster than real time (3600: an hour a second),
    /// so that --future-hours of activity arrive in minutes. Rate limits count in simulated
    /// time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    time_scale: u32,
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Seed of the simulated workspace.
    #[arg(long, default_value_t = WorkspaceSpec::default().seed)]
    seed: u64,
    /// Days to look back.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Users of the simulated workspace (its activity grows with them).
    #[arg(long, default_value_t = WorkspaceSpec::default().users)]
    users: usize,
    /// Wait out the rate limits in real time (minutes) instead of on a virtual clock.
    #[arg(long)]
    real_time: bool,
    /// Output format of findings on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Custom detection rules (TOML).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Add a custom GPT whose knowledge files attack parsers; each must end as a skipped record.
    #[arg(long)]
    hostile_files: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Jsonl,
}

/// Runs `dlp chatgpt ...`; returns the exit code.
pub fn run(args: ChatgptArgs) -> anyhow::Result<u8> {
    match args.command {
        ChatgptCommand::Scan(args) => scan(args),
        ChatgptCommand::Watch(args) => watch(args),
        ChatgptCommand::Simulate(args) => simulate(args),
        ChatgptCommand::Demo(args) => demo(args),
        ChatgptCommand::Connect(args) => crate::connectors::connect(args),
        ChatgptCommand::List(args) => crate::connectors::list(args),
        ChatgptCommand::Reauth(args) => crate::connectors::reauth(args),
        ChatgptCommand::Configure(args) => crate::connectors::configure(args),
        ChatgptCommand::Pause(args) => crate::connectors::pause(args, true),
        ChatgptCommand::Resume(args) => crate::connectors::pause(args, false),
        ChatgptCommand::Delete(args) => crate::connectors::delete(args),
        ChatgptCommand::Run(args) => crate::run::run(args),
        ChatgptCommand::Findings(args) => crate::run::findings(args),
    }
}

/// The engine the connector builds (with its configuration's file filter): every built-in
/// detector plus `rules`, default limits, documents parsed in isolated workers.
fn engine(rules: Option<&Path>) -> anyhow::Result<EngineBuilder> {
    let mut builder = EngineBuilder::new();
    if let Some(rules) = rules {
        builder
            .rules_file(rules)
            .with_context(|| format!("rules {}", rules.display()))?;
    }
    Ok(builder)
}

fn sink(format: Format) -> Box<dyn RecordSink> {
    match format {
        Format::Jsonl => Box::new(JsonlSink::new(std::io::stdout())),
        Format::Human => Box::new(HumanSink(std::io::stdout())),
    }
}

fn connector(args: &ConnectArgs, poll_interval: Option<u64>) -> anyhow::Result<Connector> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(url) = &args.base_url {
        config.api.base_url = url.clone();
    }
    if let Some(secs) = poll_interval {
        config.scan.poll_interval_secs = secs;
    }
    let key = ApiKey::load(args.api_key_file.as_deref())?;
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("dlp-chatgpt-{}.db", args.workspace_id)));
    let mut builder = Connector::builder(&args.workspace_id, key);
    builder
        .engine(engine(args.rules.as_deref())?)
        .config(config)
        .clock(SystemClock::shared())
        .state_path(&state)?
        .sink(sink(args.format));
    Ok(builder.build()?)
}

fn scan(args: ScanArgs) -> anyhow::Result<u8> {
    let connector = connector(&args.connect, None)?;
    let summary = dlp_connector::runtime()?.block_on(connector.historical_scan(args.days))?;
    print_summary(&summary);
    Ok(if args.fail_on_findings && summary.findings > 0 {
        1
    } else {
        0
    })
}

fn watch(args: WatchArgs) -> anyhow::Result<u8> {
    let connector = connector(&args.connect, args.interval)?;
    let runtime = dlp_connector::runtime()?;
    if args.once {
        let summary = runtime.block_on(connector.forward_scan())?;
        print_summary(&summary);
        return Ok(0);
    }
    eprintln!(
        "dlp: watching workspace {} (Ctrl-C to stop)",
        args.connect.workspace_id
    );
    runtime.block_on(
        connector.watch_outcomes(dlp_connector::ctrl_c(), |outcome| {
            match outcome {
                Ok(summary) => print_summary(summary),
                // The state keeps what was done; the next poll goes on from there.
                Err(e) => eprintln!("dlp: poll failed: {e}; trying again at the next poll"),
            }
        }),
    )?;
    eprintln!("dlp: stopped; state saved");
    Ok(0)
}

fn simulate(args: SimulateArgs) -> anyhow::Result<u8> {
    let runtime = dlp_connector::runtime()?;
    runtime.block_on(async {
        let config = SimConfig {
            spec: WorkspaceSpec {
                seed: args.seed,
                users: args.users,
                hostile_files: args.hostile_files,
                future_hours: args.future_hours,
                ..Default::default()
            },
            port: args.port,
            list_per_minute: args.list_per_minute,
            get_per_minute: args.get_per_minute,
            ..Default::default()
        };
        let clock = if args.time_scale > 1 {
            dlp_connector::ScaledClock::shared(args.time_scale)
        } else {
            SystemClock::shared()
        };
        let sim = Simulator::start(config, clock).await?;
        let ws = sim.workspace();
        eprintln!("Compliance API simulator on {}", sim.base_url());
        eprintln!(
            "workspace id: {}   (organization id: {})",
            ws.id,
            ws.org_id()
        );
        eprintln!("API key (simulated): {}", sim.api_key());
        eprintln!(
            "a key without the Compliance API scope (answered 403): {}",
            SimConfig::default().unscoped_keys.join(", ")
        );
        eprintln!(
            "{} users, {} log files, {} files, {} GPTs, {} planted values",
            ws.users.len(),
            ws.log_files.len(),
            ws.files.len(),
            ws.gpts.len(),
            ws.planted.len()
        );
        eprintln!(
            "try: OPENAI_COMPLIANCE_API_KEY={} dlp chatgpt scan --workspace-id {} --base-url {}",
            sim.api_key(),
            ws.id,
            sim.base_url()
        );
        dlp_connector::ctrl_c().await;
        eprintln!("dlp: simulator stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}

fn demo(args: DemoArgs) -> anyhow::Result<u8> {
    let options = DemoOptions {
        seed: args.seed,
        days: args.days,
        users: args.users,
        real_time: args.real_time,
        hostile_files: args.hostile_files,
    };
    let engine = engine(args.rules.as_deref())?;
    let report = dlp_connector::runtime()?.block_on(dlp_connector::run_demo(
        engine,
        &options,
        sink(args.format),
    ))?;
    print_summary(&report.summary);
    let mut err = std::io::stderr().lock();
    writeln!(err, "demo: simulated workspace {}", report.workspace_id)?;
    writeln!(
        err,
        "demo: {} of {} planted values found, {} missed, {} findings not planted",
        report.found,
        report.expected,
        report.missed.len(),
        report.unplanted_findings
    )?;
    for p in &report.missed {
        writeln!(
            err,
            "  missed: {} in {:?} {}",
            p.detector,
            p.item,
            p.file_name.as_deref().unwrap_or("")
        )?;
    }
    let peaks: Vec<String> = report
        .max_per_minute
        .iter()
        .map(|(e, n)| format!("{e} {n}"))
        .collect();
    writeln!(
        err,
        "demo: peak requests per rolling minute: {} (limits 50 list, 100 get)",
        peaks.join(", ")
    )?;
    writeln!(
        err,
        "demo: {:.1} min at the API's rate limits ({}), {:.2} s real",
        report.api_time.as_secs_f64() / 60.0,
        if args.real_time {
            "real time"
        } else {
            "virtual clock"
        },
        report.real_time.as_secs_f64()
    )?;
    Ok(0)
}

fn print_summary(s: &ScanSummary) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{} scan of {}: window {} .. {}",
        s.mode,
        s.workspace_id,
        s.window_start.as_deref().unwrap_or("?"),
        s.window_end.as_deref().unwrap_or("?")
    );
    for w in &s.lost_windows {
        let _ = writeln!(
            err,
            "  LOST {} events from {} to {} ({}): past the 30-day retention, cannot be recovered",
            w.event_type.as_str(),
            w.from,
            w.to,
            w.reason
        );
    }
    let _ = writeln!(
        err,
        "  {} log files, {} events ({} duplicates, {} out of scope, {} malformed lines, {} other types)",
        s.log_files, s.events, s.duplicate_events, s.out_of_scope_events, s.malformed_lines, s.ignored_events
    );
    let _ = writeln!(
        err,
        "  inspected: {} messages, {} conversation files, {} GPT knowledge files ({} GPTs), {} tool calls",
        s.messages_inspected, s.conversation_files_inspected, s.gpt_files_inspected, s.gpts_in_scope, s.app_logs_inspected
    );
    let by: Vec<String> = s
        .findings_by_detector
        .iter()
        .map(|(d, n)| format!("{d} {n}"))
        .collect();
    let _ = writeln!(err, "  findings: {} ({})", s.findings, by.join(", "));
    let skipped: Vec<String> = s.skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let _ = writeln!(
        err,
        "  skipped: {}",
        if skipped.is_empty() {
            "none".to_string()
        } else {
            skipped.join(", ")
        }
    );
    if s.pending_log_files > 0 {
        let _ = writeln!(
            err,
            "  {} log file downloads failed; kept pending, retried on the next run",
            s.pending_log_files
        );
    }
    if s.pending_files > 0 {
        let _ = writeln!(
            err,
            "  {} file downloads failed; retried on the next run",
            s.pending_files
        );
    }
    if s.pending_evidence > 0 {
        let _ = writeln!(
            err,
            "  evidence of {} items is waiting for its store (kept in the state database); \
             written on the next run",
            s.pending_evidence
        );
    }
    let requests: u64 = s.requests.values().sum();
    let _ = writeln!(
        err,
        "  {} API requests ({} throttled, {} retries), {:.1} MB downloaded, {:.1} s",
        requests,
        s.throttled,
        s.retries,
        s.downloaded_bytes as f64 / 1e6,
        s.elapsed_secs
    );
}

/// One line per finding, for people.
struct HumanSink<W: Write + Send>(W);

impl<W: Write + Send> RecordSink for HumanSink<W> {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        match dlp_connector::service::sinks::human_line("", record) {
            Some(line) => writeln!(self.0, "{line}"),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
