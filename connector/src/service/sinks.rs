//! Where the service sends records: standard output, JSONL files with rotation, and HTTP
//! webhooks (a SIEM's event collector).
//!
//! Every record leaves with two more fields: `connector` (the connector's name) and
//! `record_id`, a stable id of the finding (the same finding found again has the same id), by
//! which a receiver can drop the duplicates that at-least-once delivery allows.
//!
//! Files are written exactly once per record: each connector has its own file, whose length
//! (and identity) is saved in the connector's state with the records' emitted marks, and a
//! restarted service truncates the file back to it before writing the unmarked records again.
//! Webhooks are delivered at least once, from a cursor in the state that advances only when the
//! receiver answered 2xx; an outage only delays them.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};
use crate::record::{Record, RecordSink};
use crate::sync::lock;

/// The placeholder of a JSONL sink's path replaced by the connector's name.
pub const CONNECTOR_PLACEHOLDER: &str = "{connector}";

/// The format of records written to standard output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// One line per finding, for people (skipped items are left out).
    #[default]
    Human,
    /// One JSON object per line, every record.
    Jsonl,
}

/// A sink, as configured in `[[sinks]]` (per connector, in its configuration, or for every
/// connector, in the service's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// Standard output.
    Stdout {
        /// `human` (default) or `jsonl`.
        #[serde(default)]
        format: OutputFormat,
    },
    /// JSON lines appended to a file per connector, rotated by size.
    Jsonl {
        /// The file; `{connector}` is replaced by the connector's name (required in the
        /// service's configuration, where every connector shares the sink). Its directory is
        /// created (0700) and the file is created readable by its owner only (0600).
        path: String,
        /// Rotate when the file would grow past this many bytes (default 100 MiB): `F` becomes
        /// `F.1`, `F.1` becomes `F.2`, and so on.
        #[serde(default = "default_max_bytes")]
        max_bytes: u64,
        /// Rotated files kept (default 5; 0 keeps none).
        #[serde(default = "default_keep")]
        keep: u32,
    },
    /// JSON batches POSTed to an HTTP endpoint, delivered at least once.
    Webhook {
        /// The endpoint (`https://...`, or `http://` for a collector on this machine).
        url: String,
        /// A file holding a bearer token sent as `Authorization: Bearer ...` (read at start).
        #[serde(default)]
        token_file: Option<PathBuf>,
        /// Records per POST (default 500, at most 10000).
        #[serde(default = "default_batch")]
        batch_size: usize,
        /// Seconds before a POST is abandoned and retried (default 30).
        #[serde(default = "default_timeout")]
        timeout_secs: u64,
    },
}

fn default_max_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_keep() -> u32 {
    5
}

fn default_batch() -> usize {
    500
}

fn default_timeout() -> u64 {
    30
}

impl SinkConfig {
    /// Checks the sink; `shared` when every connector uses it (a JSONL path then needs
    /// `{connector}`).
    pub fn validate(&self, shared: bool) -> Result<(), Error> {
        let err = |m: String| Error::new(ErrorKind::Config, format!("sinks: {m}"));
        match self {
            SinkConfig::Stdout { .. } => Ok(()),
            SinkConfig::Jsonl {
                path, max_bytes, ..
            } => {
                if path.trim().is_empty() {
                    return Err(err("a jsonl sink needs a path".into()));
                }
                if shared && !path.contains(CONNECTOR_PLACEHOLDER) {
                    return Err(err(format!(
                        "the jsonl path {path:?} must contain {CONNECTOR_PLACEHOLDER}: each \
                         connector writes its own file, so that a restarted service can resume \
                         it exactly"
                    )));
                }
                if *max_bytes < 4096 {
                    return Err(err(format!(
                        "max_bytes of {path:?} is {max_bytes}; give at least 4096"
                    )));
                }
                Ok(())
            }
            SinkConfig::Webhook {
                url,
                batch_size,
                timeout_secs,
                ..
            } => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| err(format!("invalid webhook url {:?}: {e}", redact(url))))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(err(format!(
                        "webhook url {:?} must be http or https",
                        redact(url)
                    )));
                }
                if !(1..=10_000).contains(batch_size) {
                    return Err(err(format!(
                        "batch_size {batch_size} must be between 1 and 10000"
                    )));
                }
                if !(1..=3600).contains(timeout_secs) {
                    return Err(err(format!(
                        "timeout_secs {timeout_secs} must be between 1 and 3600"
                    )));
                }
                Ok(())
            }
        }
    }

    /// The stable name of a webhook sink in the state's delivery cursors.
    pub fn cursor_name(&self) -> Option<String> {
        match self {
            SinkConfig::Webhook { url, .. } => {
                Some(format!("webhook:{}", &hex_digest(url.as_bytes())[..16]))
            }
            _ => None,
        }
    }
}

/// A URL with its user information and query (which may hold tokens) left out.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            if u.query().is_some() {
                u.set_query(Some("..."));
            }
            u.to_string()
        }
        Err(_) => "<invalid url>".to_string(),
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    crate::client::hex(&Sha256::digest(bytes))
}

/// The stable id of a record: a digest of its workspace and its JSON, so the same finding
/// (same item, detector, place, value and provenance) found again has the same id.
pub fn record_id(workspace_id: &str, record_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(workspace_id.as_bytes());
    h.update([0]);
    h.update(record_json.as_bytes());
    crate::client::hex(&h.finalize())[..32].to_string()
}

/// The record's JSON with `connector` and `record_id` first.
pub fn tagged_json(connector: &str, workspace_id: &str, record: &Record) -> String {
    let json = record.to_json();
    let id = record_id(workspace_id, &json);
    let rest = json.strip_prefix('{').unwrap_or(&json);
    let name = serde_json::Value::String(connector.to_string()).to_string();
    format!("{{\"connector\":{name},\"record_id\":\"{id}\",{rest}")
}

/// Called with each record a [`ConnectorSink`] writes.
pub type Observer = Box<dyn FnMut(&Record) + Send>;

/// Standard output, shared by every connector's sink; a line is written whole.
pub type SharedStdout = Arc<Mutex<Box<dyn Write + Send>>>;

/// The output of one connector in the service: standard output (optional) and its JSONL
/// files. Webhooks are delivered by [`crate::service`]'s delivery tasks from the state.
pub struct ConnectorSink {
    connector: String,
    workspace_id: String,
    stdout: Option<(SharedStdout, OutputFormat)>,
    files: Vec<RotatingFile>,
    /// Called with each record written (metrics).
    observer: Option<Observer>,
}

impl std::fmt::Debug for ConnectorSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorSink")
            .field("connector", &self.connector)
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

impl ConnectorSink {
    /// The sink of connector `connector` (of `workspace_id`): standard output in `format` when
    /// given, and a file for each JSONL sink of `sinks` (other kinds are ignored here).
    pub fn new(
        connector: &str,
        workspace_id: &str,
        stdout: Option<(SharedStdout, OutputFormat)>,
        sinks: &[SinkConfig],
    ) -> Result<ConnectorSink, Error> {
        let mut files = Vec::new();
        for sink in sinks {
            if let SinkConfig::Jsonl {
                path,
                max_bytes,
                keep,
            } = sink
            {
                let path = PathBuf::from(path.replace(CONNECTOR_PLACEHOLDER, connector));
                files.push(RotatingFile::open(path, *max_bytes, *keep)?);
            }
        }
        Ok(ConnectorSink {
            connector: connector.to_string(),
            workspace_id: workspace_id.to_string(),
            stdout,
            files,
            observer: None,
        })
    }

    /// Calls `observer` with each record written.
    pub fn observe(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }
}

impl RecordSink for ConnectorSink {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        let line = tagged_json(&self.connector, &self.workspace_id, record);
        for file in &mut self.files {
            file.write_line(&line)?;
        }
        if let Some((out, format)) = &self.stdout {
            let text = match format {
                OutputFormat::Jsonl => Some(line.clone()),
                OutputFormat::Human => human_line(&self.connector, record),
            };
            if let Some(text) = text {
                let mut out = lock(out);
                out.write_all(text.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        if let Some(observer) = &mut self.observer {
            observer(record);
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        for file in &mut self.files {
            file.flush()?;
        }
        if let Some((out, _)) = &self.stdout {
            lock(out).flush()?;
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> std::io::Result<Option<String>> {
        if self.files.is_empty() {
            return Ok(None);
        }
        let mut positions = BTreeMap::new();
        for file in &mut self.files {
            positions.insert(file.path.display().to_string(), file.position()?);
        }
        Ok(serde_json::to_string(&Checkpoint { files: positions }).ok())
    }

    fn resume(&mut self, checkpoint: Option<&str>) -> std::io::Result<()> {
        let saved: Checkpoint = checkpoint
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        for file in &mut self.files {
            if let Some(position) = saved.files.get(&file.path.display().to_string()) {
                file.resume(position)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    files: BTreeMap<String, Position>,
}

/// Where a file stood: its identity (device and inode) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    dev: u64,
    ino: u64,
    len: u64,
}

/// A JSONL file rotated by size. Rotation happens only before the first line of a batch (right
/// after a checkpoint), so a rotated file never holds lines of records not yet marked emitted.
struct RotatingFile {
    path: PathBuf,
    file: File,
    len: u64,
    max_bytes: u64,
    keep: u32,
    at_batch_start: bool,
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Output,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

impl RotatingFile {
    fn open(path: PathBuf, max_bytes: u64, keep: u32) -> Result<RotatingFile, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io_err(dir, "create the directory", e))?;
        }
        let file = open_append(&path).map_err(|e| io_err(&path, "open", e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err(&path, "read the size of", e))?
            .len();
        Ok(RotatingFile {
            path,
            file,
            len,
            max_bytes,
            keep,
            at_batch_start: true,
        })
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let size = line.len() as u64 + 1;
        if self.at_batch_start && self.len > 0 && self.len + size > self.max_bytes {
            self.rotate()?;
        }
        self.at_batch_start = false;
        self.file.write_all(line.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.len += size;
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.sync_data()
    }

    fn position(&mut self) -> std::io::Result<Position> {
        let meta = self.file.metadata()?;
        self.at_batch_start = true;
        Ok(Position {
            dev: meta.dev(),
            ino: meta.ino(),
            len: self.len,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let numbered = |n: u32| {
            let mut name = self.path.clone().into_os_string();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                match std::fs::rename(numbered(n), numbered(n + 1)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, numbered(1))?;
        }
        self.file = open_append(&self.path)?;
        self.len = 0;
        Ok(())
    }

    /// Goes back to `saved`: lines written after it belong to records not marked emitted,
    /// which are written again.
    fn resume(&mut self, saved: &Position) -> std::io::Result<()> {
        let meta = self.file.metadata()?;
        let truncate_to = if (meta.dev(), meta.ino()) == (saved.dev, saved.ino) {
            (meta.len() > saved.len).then_some(saved.len)
        } else {
            // Rotated after the checkpoint (the saved file is now `F.1`): everything in the new
            // file came after it. Any other file is not ours to cut.
            let mut first = self.path.clone().into_os_string();
            first.push(".1");
            let rotated = std::fs::metadata(PathBuf::from(first))
                .is_ok_and(|m| (m.dev(), m.ino()) == (saved.dev, saved.ino));
            rotated.then_some(0)
        };
        if let Some(len) = truncate_to {
            tracing::info!(file = %self.path.display(), from = meta.len(), to = len,
                "output file cut back to its last checkpoint; the records after it are written again");
            self.file.set_len(len)?;
            self.len = len;
        } else {
            self.len = meta.len();
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// One line per finding, for people; `None` for skipped items.
pub fn human_line(connector: &str, record: &Record) -> Option<String> {
    let Record::Finding(f) = record else {
        return None;
    };
    let m = &f.meta;
    let item = m.item.map(|i| i.as_str()).unwrap_or("item");
    let place = match (
        &m.conversation_title,
        &m.file_name,
        &m.gpt_name,
        &m.app_name,
    ) {
        (_, Some(file), Some(gpt), _) => format!("GPT \"{gpt}\" / {file}"),
        (Some(title), Some(file), _, _) => format!("\"{title}\" / {file}"),
        (Some(title), None, _, _) => format!("\"{title}\""),
        (_, _, _, Some(app)) => format!("app {app}"),
        _ => String::new(),
    };
    let who = match (&m.user_email, &m.author_role) {
        (Some(e), Some(r)) => format!("{e} ({r})"),
        (Some(e), None) => e.clone(),
        _ => String::new(),
    };
    let prefix = if connector.is_empty() {
        String::new()
    } else {
        format!("{connector}  ")
    };
    Some(format!(
        "{prefix}{}  {:<18} {:<17} {}  {}  {}{}",
        m.timestamp.as_deref().unwrap_or("-"),
        f.detector,
        item,
        place,
        who,
        f.masked,
        f.location
            .as_deref()
            .map(|l| format!("  @{l}"))
            .unwrap_or_default()
    ))
}

/// What a webhook delivery task needs.
#[derive(Clone)]
pub(crate) struct Webhook {
    pub url: String,
    pub token: Option<String>,
    pub batch_size: usize,
    pub timeout: Duration,
    pub cursor_name: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &redact(&self.url))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Webhook {
    pub(crate) fn from_config(config: &SinkConfig) -> Result<Option<Webhook>, Error> {
        let SinkConfig::Webhook {
            url,
            token_file,
            batch_size,
            timeout_secs,
        } = config
        else {
            return Ok(None);
        };
        let token = match token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!(
                            "sinks: cannot read the webhook token file {}: {e}",
                            path.display()
                        ),
                    )
                })?;
                let token = text.trim().to_string();
                if token.is_empty() || token.chars().any(|c| c.is_whitespace() || !c.is_ascii()) {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "sinks: the webhook token file {} must hold one token of printable ASCII",
                            path.display()
                        ),
                    ));
                }
                Some(token)
            }
            None => None,
        };
        Ok(Some(Webhook {
            url: url.clone(),
            token,
            batch_size: *batch_size,
            timeout: Duration::from_secs(*timeout_secs),
            cursor_name: config.cursor_name().unwrap_or_default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FindingRecord, ItemMeta};

    fn finding(n: usize) -> Record {
        Record::Finding(FindingRecord {
            detector: "credit_card".into(),
            category: dlp_engine::Category::Pii,
            confidence: dlp_engine::Confidence::High,
            meta: ItemMeta {
                event_id: Some(format!("ev-{n}")),
                ..Default::default()
            },
            member: None,
            location: None,
            start: n,
            end: n + 16,
            line: 1,
            column: 1,
            masked: "4111 **** **** 1111".into(),
            fingerprint: format!("fp{n}"),
            ocr: false,
        })
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_file_resumes_at_its_checkpoint_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("out/{connector}.jsonl");
        let sinks = [SinkConfig::Jsonl {
            path: template.display().to_string(),
            max_bytes: default_max_bytes(),
            keep: 2,
        }];
        let path = dir.path().join("out/acme.jsonl");
        let mut sink = ConnectorSink::new("acme", "ws", None, &sinks).unwrap();
        sink.resume(None).unwrap();
        sink.write(&finding(1)).unwrap();
        sink.flush().unwrap();
        let saved = sink.checkpoint().unwrap().unwrap();
        // Written but not marked emitted when the process dies.
        sink.write(&finding(2)).unwrap();
        sink.flush().unwrap();
        drop(sink);
        assert_eq!(lines(&path).len(), 2);
        let mut sink = ConnectorSink::new("acme", "ws", None, &sinks).unwrap();
        sink.resume(Some(&saved)).unwrap();
        assert_eq!(lines(&path).len(), 1, "cut back to the checkpoint");
        sink.write(&finding(2)).unwrap();
        sink.flush().unwrap();
        let got = lines(&path);
        assert_eq!(got.len(), 2);
        let v: serde_json::Value = serde_json::from_str(&got[1]).unwrap();
        assert_eq!(v["connector"], "acme");
        assert_eq!(v["detector"], "credit_card");
        assert_eq!(v["record_id"].as_str().unwrap().len(), 32);
        // Owner only.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn rotation_keeps_every_line_once_across_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let sinks = [SinkConfig::Jsonl {
            path: path.display().to_string(),
            max_bytes: 4096,
            keep: 50,
        }];
        let mut sink = ConnectorSink::new("a", "ws", None, &sinks).unwrap();
        let line = tagged_json("a", "ws", &finding(10)).len() as u64 + 1;
        let mut saved = None;
        let mut marked = 0;
        // Enough batches to rotate twice, and to leave the file without room for one more.
        while marked < 12 || std::fs::metadata(&path).unwrap().len() + line <= 4096 {
            sink.write(&finding(10 + marked)).unwrap();
            sink.flush().unwrap();
            saved = sink.checkpoint().unwrap();
            marked += 1;
        }
        // A batch that rotates the file first, then dies before its mark.
        sink.write(&finding(1000)).unwrap();
        sink.flush().unwrap();
        assert_eq!(lines(&path).len(), 1, "the last batch rotated the file");
        drop(sink);
        let mut sink = ConnectorSink::new("a", "ws", None, &sinks).unwrap();
        sink.resume(saved.as_deref()).unwrap();
        let all: Vec<String> = (1..50)
            .rev()
            .map(|n| format!(".{n}"))
            .chain([String::new()])
            .flat_map(|s| lines(&PathBuf::from(format!("{}{s}", path.display()))))
            .collect();
        assert_eq!(
            all.len(),
            marked,
            "every marked line once, the unmarked one gone"
        );
        let mut ids: Vec<String> = all
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record_id"].to_string())
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), marked);
        for f in [".1", ".2"] {
            let len = std::fs::metadata(format!("{}{f}", path.display()))
                .unwrap()
                .len();
            assert!(len <= 4096, "{f} is {len} bytes");
        }
    }

    #[test]
    fn shared_jsonl_paths_need_the_connector_and_urls_are_checked() {
        let jsonl = SinkConfig::Jsonl {
            path: "/var/log/dlp/findings.jsonl".into(),
            max_bytes: default_max_bytes(),
            keep: 5,
        };
        assert!(jsonl.validate(false).is_ok());
        let e = jsonl.validate(true).unwrap_err().to_string();
        assert!(e.contains("{connector}"), "{e}");
        let hook = |url: &str| SinkConfig::Webhook {
            url: url.into(),
            token_file: None,
            batch_size: 10,
            timeout_secs: 5,
        };
        assert!(hook("https://siem.example/collector")
            .validate(true)
            .is_ok());
        let e = hook("ftp://user:secret@x/")
            .validate(true)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
        assert!(hook("not a url").validate(true).is_err());
    }

    #[test]
    fn human_lines_name_the_connector_and_leave_out_skips() {
        let line = human_line("acme", &finding(3)).unwrap();
        assert!(line.starts_with("acme  "), "{line}");
        assert!(line.contains("4111 **** **** 1111"));
        let skip = Record::Skipped(crate::record::SkippedRecord::item(
            crate::record::SkipReason::Expired,
            ItemMeta::default(),
        ));
        assert!(human_line("acme", &skip).is_none());
    }
}
