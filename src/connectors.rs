//! `dlp chatgpt connect|list|reauth|configure|pause|resume|delete`: the connectors registered
//! in `dlp`'s home (`dlp-connector`'s `Registry`), managed by name.
//!
//! Parsing and printing only. A key is checked against the API (one request) before it is
//! stored; keys are read from a file or `OPENAI_COMPLIANCE_API_KEY`, never from an argument,
//! and never printed.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use dlp_connector::{
    check_access, validate_name, validate_workspace_id, ApiKey, Config, Entry, Evidence,
    EvidenceMode, KeyInput, KeySource, NewConnector, Registry, StateReport, StateStore, Status,
};
use serde_json::json;
use time::OffsetDateTime;

/// Where the registry is.
#[derive(Debug, clap::Args)]
pub struct HomeArg {
    /// dlp's home, which holds the connector registry (default: DLP_HOME, else
    /// $XDG_STATE_HOME/dlp, else ~/.local/state/dlp).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
}

impl HomeArg {
    pub(crate) fn registry(&self) -> anyhow::Result<Registry> {
        Ok(match &self.home {
            Some(home) => Registry::new(home),
            None => Registry::in_default_home()?,
        })
    }
}

/// `dlp chatgpt connect`.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// A name for the connector (letters, digits, '-', '_').
    name: String,
    /// Workspace id (a UUID from the admin settings) or organization id (`org-...`).
    #[arg(long, value_name = "ID")]
    workspace_id: String,
    /// Read the API key from this file (referred to by its path, so a key rotated in place is
    /// picked up) instead of OPENAI_COMPLIANCE_API_KEY (which is copied into the registry, 0600).
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Keep a copy of the key file's key in the registry (0600) instead of its path.
    #[arg(long, requires = "api_key_file")]
    copy_key: bool,
    /// Connector configuration (TOML: scope, scan settings, limits; see the README).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// API base URL (default: the configuration's, else https://api.chatgpt.com/v1).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    #[command(flatten)]
    home: HomeArg,
}

/// `dlp chatgpt list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
    /// Check each connector's key against the API first (one request each; paused ones are
    /// not checked) and record its status.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    home: HomeArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Human,
    Json,
}

/// `dlp chatgpt reauth`.
#[derive(Debug, clap::Args)]
pub struct ReauthArgs {
    /// The connector.
    name: String,
    /// Read the new key from this file (else OPENAI_COMPLIANCE_API_KEY, copied).
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Keep a copy of the key file's key in the registry (0600) instead of its path.
    #[arg(long, requires = "api_key_file")]
    copy_key: bool,
    #[command(flatten)]
    home: HomeArg,
}

/// `dlp chatgpt configure`.
#[derive(Debug, clap::Args)]
pub struct ConfigureArgs {
    /// The connector.
    name: String,
    /// The new configuration (TOML), checked before it replaces the old one.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    home: HomeArg,
}

/// `dlp chatgpt pause` and `resume`.
#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// The connector.
    name: String,
    #[command(flatten)]
    home: HomeArg,
}

/// `dlp chatgpt delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The connector.
    name: String,
    /// Also delete its state database, key copy, configuration and evidence (without it they
    /// are kept, and the command says where).
    #[arg(long)]
    purge: bool,
    #[command(flatten)]
    home: HomeArg,
}

/// Reads the key of `--api-key-file` (kept as a path, or copied) or of the environment (copied).
fn key_input(file: Option<&Path>, copy: bool) -> anyhow::Result<(ApiKey, KeyInput)> {
    Ok(match file {
        Some(path) => {
            let key = ApiKey::from_file(path)?;
            let input = if copy {
                KeyInput::Copy(key.clone())
            } else {
                KeyInput::File(path.to_path_buf())
            };
            (key, input)
        }
        None => {
            let key = ApiKey::load(None)?;
            (key.clone(), KeyInput::Copy(key))
        }
    })
}

fn key_place(registry: &Registry, entry: &Entry) -> String {
    match &entry.key {
        KeySource::File(path) => format!("read from {}", path.display()),
        KeySource::Copy => format!(
            "copied to {} (0600)",
            registry.key_copy_path(&entry.name).display()
        ),
    }
}

pub fn connect(args: ConnectArgs) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    validate_name(&args.name)?;
    validate_workspace_id(&args.workspace_id)?;
    registry.check_new(&args.name, &args.workspace_id)?;
    let config_text = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Config::from_toml(&text).with_context(|| format!("{}", path.display()))?;
            Some(text)
        }
        None => None,
    };
    let mut config = match &config_text {
        Some(text) => Config::from_toml(text)?,
        None => Config::default(),
    };
    if let Some(url) = &args.base_url {
        config.api.base_url = url.clone();
    }
    let (key, input) = key_input(args.api_key_file.as_deref(), args.copy_key)?;
    let access = dlp_connector::runtime()?
        .block_on(check_access(&config.api, &args.workspace_id, &key))
        .with_context(|| format!("cannot connect {}", args.name))?;
    let entry = registry.add(NewConnector {
        name: args.name.clone(),
        workspace_id: args.workspace_id.clone(),
        base_url: args.base_url.clone(),
        key: input,
        config: config_text,
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "connected {}: workspace {} at {} (newest conversation event: {})",
        entry.name,
        entry.workspace_id,
        config.api.base_url,
        access.newest_event.as_deref().unwrap_or("none yet")
    )?;
    writeln!(out, "  key: {}", key_place(&registry, &entry))?;
    writeln!(
        out,
        "  state: {}",
        registry.state_path(&entry.name).display()
    )?;
    writeln!(
        out,
        "  configuration: {}",
        if registry.config_path(&entry.name).exists() {
            registry.config_path(&entry.name).display().to_string()
        } else {
            "defaults (change with `dlp chatgpt configure`)".to_string()
        }
    )?;
    Ok(0)
}

pub fn reauth(args: ReauthArgs) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    let entry = registry.entry(&args.name)?;
    let config = registry.config_of(&args.name)?;
    let (key, input) = key_input(args.api_key_file.as_deref(), args.copy_key)?;
    dlp_connector::runtime()?
        .block_on(check_access(&config.api, &entry.workspace_id, &key))
        .with_context(|| {
            format!(
                "the new key does not work for {} (the old one is kept)",
                args.name
            )
        })?;
    let entry = registry.set_key(&args.name, input)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "reauthenticated {}: the new key reads workspace {}",
        entry.name, entry.workspace_id
    )?;
    writeln!(out, "  key: {}", key_place(&registry, &entry))?;
    writeln!(
        out,
        "  state kept: {}",
        registry.state_path(&entry.name).display()
    )?;
    Ok(0)
}

pub fn configure(args: ConfigureArgs) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    registry.entry(&args.name)?;
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    registry
        .set_config(&args.name, &text)
        .with_context(|| format!("{} (nothing changed)", args.config.display()))?;
    writeln!(
        std::io::stdout().lock(),
        "configured {}: saved to {}; it applies from the connector's next cycle",
        args.name,
        registry.config_path(&args.name).display()
    )?;
    Ok(0)
}

pub fn pause(args: NameArgs, paused: bool) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    let entry = registry.set_paused(&args.name, paused)?;
    let mut out = std::io::stdout().lock();
    if paused {
        writeln!(
            out,
            "paused {}: not scanned until `dlp chatgpt resume {}`; its state is kept",
            entry.name, entry.name
        )?;
    } else {
        writeln!(
            out,
            "resumed {}: scanned again from its saved cursors (status {})",
            entry.name,
            entry.status.as_str()
        )?;
    }
    Ok(0)
}

pub fn delete(args: DeleteArgs) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    let removal = registry.remove(&args.name, args.purge)?;
    let ws = &removal.entry.workspace_id;
    let mut out = std::io::stdout().lock();
    writeln!(out, "deleted {} (workspace {ws})", removal.entry.name)?;
    let evidence = match (
        removal.evidence.mode,
        &removal.evidence.path,
        &removal.evidence.url,
    ) {
        (EvidenceMode::Local, Some(path), _) => Some(path.display().to_string()),
        (EvidenceMode::ObjectStore, _, Some(url)) => Some(url.clone()),
        _ => None,
    };
    if args.purge {
        for path in &removal.deleted {
            writeln!(out, "  deleted {}", path.display())?;
        }
        if removal.evidence.mode == EvidenceMode::ObjectStore {
            let store = Evidence::from_config(&removal.evidence)?;
            let n = dlp_connector::runtime()?.block_on(store.purge(ws))?;
            writeln!(
                out,
                "  deleted {n} evidence objects of the workspace in {}",
                evidence.unwrap_or_default()
            )?;
        }
        if let KeySource::File(path) = &removal.entry.key {
            writeln!(
                out,
                "  the key file {} is yours and was not touched",
                path.display()
            )?;
        }
    } else {
        match &removal.kept {
            Some(kept) => writeln!(
                out,
                "  kept its state database, key copy and configuration in {} (delete that \
                 directory, or use --purge, to remove them)",
                kept.display()
            )?,
            None => writeln!(out, "  it had no files left")?,
        }
        if let Some(evidence) = evidence {
            writeln!(out, "  its evidence stays in {evidence} (under {ws}/)")?;
        }
    }
    Ok(0)
}

/// What `list` shows of one connector.
struct Row {
    entry: Entry,
    state_path: PathBuf,
    report: Result<Option<StateReport>, String>,
}

pub fn list(args: ListArgs) -> anyhow::Result<u8> {
    let registry = args.home.registry()?;
    if args.check {
        check_all(&registry)?;
    }
    let now = OffsetDateTime::now_utc();
    let rows: Vec<Row> = registry
        .entries()?
        .into_iter()
        .map(|entry| {
            let state_path = registry.state_path(&entry.name);
            let report = if state_path.exists() {
                StateStore::open(&state_path, &entry.workspace_id)
                    .and_then(|s| s.report(now - time::Duration::hours(24)))
                    .map(Some)
                    .map_err(|e| e.to_string())
            } else {
                Ok(None)
            };
            Row {
                entry,
                state_path,
                report,
            }
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        ListFormat::Json => {
            let list: Vec<_> = rows.iter().map(|r| row_json(r, now)).collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        ListFormat::Human => {
            if rows.is_empty() {
                writeln!(
                    out,
                    "no connectors in {} (add one with `dlp chatgpt connect`)",
                    registry.dir().display()
                )?;
                return Ok(0);
            }
            writeln!(
                out,
                "{:<16} {:<36} {:<13} {:<24} {:<8} {:>12} {:>11}  LOST WINDOWS",
                "NAME", "WORKSPACE", "STATUS", "LAST CYCLE", "LAG", "FINDINGS 24H", "SKIPPED 24H"
            )?;
            for row in &rows {
                write_row(&mut out, row, now)?;
            }
        }
    }
    Ok(0)
}

/// Checks every connector that is not paused, and records its status.
fn check_all(registry: &Registry) -> anyhow::Result<()> {
    let runtime = dlp_connector::runtime()?;
    for entry in registry.entries()? {
        if entry.paused {
            continue;
        }
        let checked = registry.load(&entry.name).and_then(|loaded| {
            runtime.block_on(check_access(
                &loaded.config.api,
                &loaded.entry.workspace_id,
                &loaded.key,
            ))
        });
        match checked {
            Ok(_) => registry.record_status(&entry.name, Status::Connected, None)?,
            Err(e) => {
                let status = match e.kind() {
                    dlp_connector::ErrorKind::Config => Status::AuthFailed,
                    _ => Status::from_error(&e),
                };
                registry.record_status(&entry.name, status, Some(&e.to_string()))?
            }
        };
    }
    Ok(())
}

fn ago(now: OffsetDateTime, then: &str) -> Option<String> {
    let then = OffsetDateTime::parse(then, &time::format_description::well_known::Rfc3339).ok()?;
    Some(duration((now - then).whole_seconds()))
}

fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        7200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// The lag: how long ago the newest log file processed ended, for the event type that is
/// furthest behind (the oldest cursor).
fn write_row(out: &mut impl Write, row: &Row, now: OffsetDateTime) -> anyhow::Result<()> {
    let e = &row.entry;
    let (last, lag, findings, skipped, lost) = match &row.report {
        Ok(Some(report)) => (
            report
                .last_cycle
                .as_ref()
                .map(|c| {
                    format!(
                        "{} ago ({})",
                        ago(now, &c.ended_at).unwrap_or_else(|| "?".into()),
                        c.mode
                    )
                })
                .unwrap_or_else(|| "never".into()),
            report
                .lag_secs(now)
                .map(duration)
                .unwrap_or_else(|| "never".into()),
            report.recent_findings.to_string(),
            report.recent_skipped.to_string(),
            if report.lost_windows.is_empty() {
                "none".to_string()
            } else {
                report.lost_windows.len().to_string()
            },
        ),
        Ok(None) => (
            "never (no state yet)".into(),
            "never".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ),
        Err(_) => (
            "? (state unreadable)".into(),
            "?".into(),
            "?".into(),
            "?".into(),
            "?".into(),
        ),
    };
    writeln!(
        out,
        "{:<16} {:<36} {:<13} {:<24} {:<8} {:>12} {:>11}  {}",
        e.name,
        e.workspace_id,
        e.shown_status(),
        last,
        lag,
        findings,
        skipped,
        lost
    )?;
    if let Some(detail) = &e.status_detail {
        writeln!(
            out,
            "    {} since {}: {}",
            e.status.as_str(),
            e.status_since,
            detail
        )?;
    }
    match &row.report {
        Ok(Some(report)) => {
            for w in &report.lost_windows {
                writeln!(
                    out,
                    "    LOST {} events from {} to {} ({})",
                    w.event_type.as_str(),
                    w.from,
                    w.to,
                    w.reason
                )?;
            }
            if report.pending_log_files > 0 {
                writeln!(
                    out,
                    "    {} log files whose download failed, retried at every cycle",
                    report.pending_log_files
                )?;
            }
        }
        Err(err) => writeln!(out, "    state {}: {err}", row.state_path.display())?,
        Ok(None) => {}
    }
    Ok(())
}

fn row_json(row: &Row, now: OffsetDateTime) -> serde_json::Value {
    let e = &row.entry;
    let mut value = json!({
        "name": e.name,
        "workspace_id": e.workspace_id,
        "base_url": e.base_url,
        "status": e.shown_status(),
        "key_status": e.status.as_str(),
        "status_detail": e.status_detail,
        "status_since": e.status_since,
        "paused": e.paused,
        "created_at": e.created_at,
        "key": match &e.key {
            KeySource::File(path) => json!({"file": path}),
            KeySource::Copy => json!("copy"),
        },
        "state": row.state_path,
        "last_cycle": null,
        "lag_secs": null,
        "cursors": {},
        "findings_24h": null,
        "skipped_24h": null,
        "findings_total": null,
        "lost_windows": null,
        "pending_log_files": null,
        "state_error": null,
    });
    match &row.report {
        Ok(Some(report)) => {
            value["last_cycle"] = json!(report.last_cycle);
            value["lag_secs"] = json!(report.lag_secs(now));
            value["cursors"] = report
                .cursors
                .iter()
                .map(|(t, c)| (t.as_str().to_string(), json!(c)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            value["findings_24h"] = json!(report.recent_findings);
            value["skipped_24h"] = json!(report.recent_skipped);
            value["findings_total"] = json!(report.total_findings);
            value["lost_windows"] = json!(report.lost_windows);
            value["pending_log_files"] = json!(report.pending_log_files);
        }
        Ok(None) => {}
        Err(err) => value["state_error"] = json!(err),
    }
    value
}
