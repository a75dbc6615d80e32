//! `dlp chatgpt run` (every registered connector, as a service) and `dlp chatgpt findings`
//! (the findings a connector's state keeps).
//!
//! Parsing, signals and printing only; `dlp-connector`'s `service` does the work.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use dlp_connector::service::{
    serve_http, OutputFormat, Service, ServiceConfig, ServiceEvent, ServiceOptions, SharedStdout,
};
use dlp_connector::{Record, StateStore};
use time::OffsetDateTime;

use crate::connectors::HomeArg;

/// `dlp chatgpt run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    home: HomeArg,
    /// Service configuration (TOML: listen, stdout, reload_secs, [[sinks]]); default
    /// <home>/chatgpt/service.toml when it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run one cycle of every connector (the historical scan where due), then exit.
    #[arg(long)]
    once: bool,
    /// Format of records on standard output.
    #[arg(long, value_enum, default_value_t = StdoutFormat::Human)]
    format: StdoutFormat,
    /// Do not write records to standard output (only to the configured sinks).
    #[arg(long)]
    no_stdout: bool,
    /// Serve /healthz and /metrics (Prometheus) on this address (a port alone: 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Custom detection rules (TOML), for every connector.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Show a progress line on a terminal (default: when standard error is one).
    #[arg(long, value_enum, default_value_t = When::Auto)]
    progress: When,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StdoutFormat {
    Human,
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum When {
    Auto,
    Always,
    Never,
}

/// `dlp chatgpt findings`.
#[derive(Debug, clap::Args)]
pub struct FindingsArgs {
    /// The connector.
    name: String,
    #[command(flatten)]
    home: HomeArg,
    /// Only records committed since this time: RFC 3339 (2026-11-30T00:00:00Z), a date
    /// (2026-11-30), or an age (90m, 24h, 7d).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    format: ExportFormat,
    /// Include skipped items (JSONL only).
    #[arg(long)]
    skipped: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
}

/// A progress line on standard error, cleared before other messages.
struct Status {
    line: Mutex<bool>,
    enabled: bool,
}

impl Status {
    fn say(&self, message: &str) {
        let mut shown = self.line.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        if *shown {
            let _ = write!(err, "\r\x1b[K");
            *shown = false;
        }
        let _ = writeln!(err, "{message}");
    }

    fn show(&self, line: &str) {
        if !self.enabled {
            return;
        }
        let mut shown = self.line.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
        *shown = true;
    }
}

fn listen_addr(text: &str) -> anyhow::Result<std::net::SocketAddr> {
    let text = text.trim();
    let full = if text.chars().all(|c| c.is_ascii_digit()) {
        format!("127.0.0.1:{text}")
    } else {
        text.to_string()
    };
    full.parse().with_context(|| {
        format!("--listen {text:?}: give a port (9464) or an address and port (127.0.0.1:9464)")
    })
}

/// Runs `dlp chatgpt run`; returns the exit code.
pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    let config_path = args
        .config
        .clone()
        .or_else(|| Some(registry.dir().join("service.toml")).filter(|p| p.exists()));
    let config = match &config_path {
        Some(path) => ServiceConfig::from_file(path)?,
        None => ServiceConfig::default(),
    };
    let entries = registry.entries()?;
    if entries.is_empty() && args.once {
        eprintln!(
            "dlp: no connectors in {} (add one with `dlp chatgpt connect`)",
            registry.dir().display()
        );
        return Ok(2);
    }
    let stdout_on = !args.no_stdout && config.stdout.unwrap_or(config.sinks.is_empty());
    let stdout: Option<(SharedStdout, OutputFormat)> = stdout_on.then(|| {
        let out: SharedStdout = Arc::new(Mutex::new(Box::new(std::io::stdout())));
        let format = match args.format {
            StdoutFormat::Human => OutputFormat::Human,
            StdoutFormat::Jsonl => OutputFormat::Jsonl,
        };
        (out, format)
    });
    let listen = match args.listen.as_deref().or(config.listen.as_deref()) {
        Some(text) => Some(listen_addr(text)?),
        None => None,
    };
    let status = Arc::new(Status {
        line: Mutex::new(false),
        enabled: match args.progress {
            When::Always => true,
            When::Never => false,
            When::Auto => std::io::stderr().is_terminal(),
        },
    });
    let on_event = {
        let status = Arc::clone(&status);
        Arc::new(move |event: &ServiceEvent| match event {
            ServiceEvent::Started {
                connector,
                historical: true,
            } => status.say(&format!(
                "dlp: {connector}: historical scan of its lookback (first cycle)"
            )),
            ServiceEvent::Started { .. } => {}
            ServiceEvent::CycleDone { connector, summary } => {
                let skipped: u64 = summary.skipped.values().sum();
                let requests: u64 = summary.requests.values().sum();
                status.say(&format!(
                    "dlp: {connector}: {} cycle done: {} log files, {} events, {} findings, {} skipped, {} requests ({} throttled){}",
                    summary.mode,
                    summary.log_files,
                    summary.events,
                    summary.findings,
                    skipped,
                    requests,
                    summary.throttled,
                    pending(summary)
                ));
                for w in &summary.lost_windows {
                    status.say(&format!(
                        "dlp: {connector}: LOST {} events from {} to {} ({}): past the 30-day retention",
                        w.event_type.as_str(),
                        w.from,
                        w.to,
                        w.reason
                    ));
                }
            }
            ServiceEvent::CycleFailed {
                connector,
                status: s,
                error,
                retry_in,
            } => {
                let what = match s {
                    dlp_connector::Status::AuthFailed => format!(
                        " (give a new key with `dlp chatgpt reauth {connector} --api-key-file F`)"
                    ),
                    dlp_connector::Status::ScopeMissing => {
                        " (the key needs the Compliance API read scope for this workspace)".into()
                    }
                    _ => String::new(),
                };
                let retry = match retry_in {
                    Some(d) => format!("; retrying in {} s", d.as_secs()),
                    None => String::new(),
                };
                status.say(&format!(
                    "dlp: {connector}: {}: {error}{what}{retry}",
                    s.as_str()
                ));
            }
            ServiceEvent::Stopped { connector, reason } => {
                status.say(&format!("dlp: {connector}: stopped ({reason})"))
            }
        })
    };
    let mut engine = dlp_engine::EngineBuilder::new();
    if let Some(rules) = &args.rules {
        engine
            .rules_file(rules)
            .with_context(|| format!("rules {}", rules.display()))?;
    }
    let options = ServiceOptions {
        once: args.once,
        reload_interval: Duration::from_secs(config.reload_secs),
        engine,
        sinks: config.sinks.clone(),
        stdout,
        on_event: Some(on_event),
        ..Default::default()
    };
    let service = Arc::new(Service::new(registry.clone(), options)?);
    let runtime = dlp_connector::runtime()?;
    let report = runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        if let Some(addr) = listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--listen {addr}: cannot listen"))?;
            status.say(&format!(
                "dlp: serving /healthz and /metrics on http://{addr}"
            ));
            let mut rx = stop_rx.clone();
            let shutdown = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            let service = Arc::clone(&service);
            tokio::spawn(async move {
                if let Err(e) = serve_http(service, listener, shutdown).await {
                    eprintln!("dlp: {e}");
                }
            });
        }
        if !args.once {
            status.say(&format!(
                "dlp: running {} connectors from {} (Ctrl-C or SIGTERM to stop)",
                entries.iter().filter(|e| !e.paused).count(),
                registry.dir().display()
            ));
        }
        let progress = {
            let service = Arc::clone(&service);
            let status = Arc::clone(&status);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let p = service.progress();
                    status.show(&format!(
                        "{} connectors ({} scanning) · {} log files · {} items · {} findings · {} requests ({} waiting for the rate limit) · {} throttled",
                        p.connectors, p.busy, p.log_files, p.items, p.findings, p.requests, p.waiting, p.throttled
                    ));
                }
            })
        };
        let shutdown = {
            let status = Arc::clone(&status);
            async move {
                dlp_connector::stop_signal().await;
                status.say("dlp: stopping, finishing the current item (Ctrl-C again to exit at once)");
                tokio::spawn(async move {
                    dlp_connector::stop_signal().await;
                    eprintln!("\ndlp: exiting now; the state is consistent (work not committed is redone at the next start)");
                    std::process::exit(130);
                });
            }
        };
        let report = service.run(shutdown).await;
        progress.abort();
        let _ = stop_tx.send(true);
        anyhow::Ok(report?)
    })?;
    status.show("");
    status.say(if args.once {
        "dlp: one cycle of every connector done"
    } else {
        "dlp: stopped; state saved"
    });
    // With --once, a connector whose cycle failed fails the run; a service stopped by a
    // signal stopped as asked.
    Ok(if args.once && !report.failed.is_empty() {
        2
    } else {
        0
    })
}

/// What a cycle left for the next one, if anything: `, 2 file downloads, 1 log file pending`.
fn pending(summary: &dlp_connector::ScanSummary) -> String {
    let parts: Vec<String> = [
        (summary.pending_files, "file download"),
        (summary.pending_log_files, "log file"),
        (summary.pending_evidence, "evidence write"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(", {} pending (retried next cycle)", parts.join(", "))
    }
}

/// Parses `--since`: RFC 3339, a date, or an age.
fn parse_since(text: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    let t = text.trim();
    if let Ok(time) = OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
        return Ok(time);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(t, &date_format) {
        return Ok(date.midnight().assume_utc());
    }
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = number.parse().unwrap_or(-1);
    let seconds = match unit {
        "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        _ => None,
    };
    match seconds {
        Some(s) if n >= 0 => Ok(now - time::Duration::seconds(n.saturating_mul(s))),
        _ => anyhow::bail!(
            "--since {text:?}: give an RFC 3339 time (2026-11-30T08:00:00Z), a date (2026-11-30) or an age (90m, 24h, 7d)"
        ),
    }
}

const CSV_COLUMNS: [&str; 20] = [
    "connector",
    "record_id",
    "detector",
    "category",
    "confidence",
    "item",
    "timestamp",
    "user_email",
    "conversation_id",
    "conversation_title",
    "message_id",
    "file_id",
    "file_name",
    "gpt_id",
    "gpt_name",
    "app_name",
    "member",
    "location",
    "masked",
    "fingerprint",
];

/// A JSON value as a CSV field (`null` as nothing), quoted and defused as `dlp scan
/// --format csv` writes them.
fn csv_field(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => crate::output::csv_field(s),
        other => crate::output::csv_field(&other.to_string()),
    }
}

/// Runs `dlp chatgpt findings`; returns the exit code.
pub fn findings(args: FindingsArgs) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    let entry = registry.entry(&args.name)?;
    let path = registry.state_path(&entry.name);
    if !path.exists() {
        anyhow::bail!(
            "connector {} has no state yet at {} (it has not run)",
            entry.name,
            path.display()
        );
    }
    let now = OffsetDateTime::now_utc();
    let since = match &args.since {
        Some(text) => parse_since(text, now)?.unix_timestamp(),
        None => 0,
    };
    let state = StateStore::open(&path, &entry.workspace_id)?;
    let records = state.records_since(since, args.skipped && args.format == ExportFormat::Jsonl)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.format == ExportFormat::Csv {
        writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    }
    for stored in &records {
        let line = dlp_connector::service::sinks::tagged_json(
            &entry.name,
            &entry.workspace_id,
            &stored.record,
        );
        match args.format {
            ExportFormat::Jsonl => writeln!(out, "{line}")?,
            ExportFormat::Csv => {
                if !matches!(stored.record, Record::Finding(_)) {
                    continue;
                }
                let value: serde_json::Value = serde_json::from_str(&line)?;
                let row: Vec<String> = CSV_COLUMNS.iter().map(|c| csv_field(&value[*c])).collect();
                writeln!(out, "{}", row.join(","))?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_dates_and_ages() {
        let now = OffsetDateTime::parse(
            "2026-11-30T12:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(
            parse_since("24h", now).unwrap(),
            now - time::Duration::hours(24)
        );
        assert_eq!(
            parse_since("7d", now).unwrap(),
            now - time::Duration::days(7)
        );
        assert_eq!(
            parse_since("2026-11-29", now).unwrap().unix_timestamp(),
            now.unix_timestamp() - 86_400 - 12 * 3600
        );
        assert_eq!(
            parse_since("2026-11-30T11:00:00Z", now).unwrap(),
            now - time::Duration::hours(1)
        );
        for bad in ["yesterday", "-3h", "3w", ""] {
            let e = parse_since(bad, now).unwrap_err().to_string();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field(&serde_json::json!("a,b")), "\"a,b\"");
        assert_eq!(
            csv_field(&serde_json::json!("say \"x\"")),
            "\"say \"\"x\"\"\""
        );
        assert_eq!(
            csv_field(&serde_json::json!("=HYPERLINK()")),
            "'=HYPERLINK()"
        );
        assert_eq!(csv_field(&serde_json::Value::Null), "");
        assert_eq!(csv_field(&serde_json::json!(12)), "12");
    }

    #[test]
    fn listen_takes_a_port_or_an_address() {
        assert_eq!(listen_addr("9464").unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(listen_addr("0.0.0.0:80").unwrap().to_string(), "0.0.0.0:80");
        assert!(listen_addr("localhost").is_err());
    }
}
