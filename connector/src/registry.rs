//! The connector registry: the ChatGPT workspaces that `dlp` follows, kept in `dlp`'s home so
//! that commands (and a long-running service) can manage them by name.
//!
//! Layout, under `<home>/chatgpt/` (directories 0700, files 0600):
//!
//! ```text
//! connectors.toml            the entries: name, workspace id, base URL, key reference, status
//! registry.lock              held (flock) by every change, so two commands never interleave
//! connectors/<name>/
//!     state.db               the connector's state (cursors, seen events, records)
//!     config.toml            its configuration, as given (validated), when one was given
//!     api-key                a copy of its key, when the key did not come from a file
//! deleted/<name>-<unix time>/  what `delete` without purge keeps
//! ```
//!
//! The key itself is never written to `connectors.toml`, never formatted into an error, and
//! never logged: an entry holds only where the key is (a file of the operator's, or the copy).
//! Every change is made under the lock, written to a temporary file, synced and renamed over
//! the old file, so a reader (a service re-reading the registry every cycle) sees the old
//! registry or the new one, never half of one. This module owns these files and must never
//! talk to the API: callers check a key ([`crate::check_access`]) before they store it.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{Config, EvidenceConfig, EvidenceMode};
use crate::credentials::ApiKey;
use crate::error::{Error, ErrorKind};
use crate::evidence::Evidence;
use crate::state::{format_time, StateStore};

/// The registry's directory under `dlp`'s home.
pub const REGISTRY_DIR: &str = "chatgpt";
const REGISTRY_FILE: &str = "connectors.toml";
const LOCK_FILE: &str = "registry.lock";
const SERVICE_LOCK_FILE: &str = "service.lock";
const CONNECTORS_DIR: &str = "connectors";
const DELETED_DIR: &str = "deleted";
const STATE_FILE: &str = "state.db";
const CONFIG_FILE: &str = "config.toml";
const KEY_COPY_FILE: &str = "api-key";
const FORMAT_VERSION: u32 = 1;
const HEADER: &str = "# dlp's ChatGPT connectors. Change them with `dlp chatgpt connect|configure|reauth|pause|\n\
                      # resume|delete`; a hand edit must keep this format. API keys are never here.\n";

/// What the connector last found when it used its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// The key reads the workspace.
    Connected,
    /// The key was refused (401): wrong or revoked.
    AuthFailed,
    /// The key lacks the Compliance API read scope (403, or a 404 after the connector was
    /// connected).
    ScopeMissing,
    /// The API could not be reached (network, timeouts, server errors, throttling).
    Unreachable,
}

impl Status {
    /// The status a failed request means, by its kind.
    pub fn from_error(error: &Error) -> Status {
        match error.kind() {
            ErrorKind::Unauthorized => Status::AuthFailed,
            ErrorKind::Forbidden | ErrorKind::NotFound => Status::ScopeMissing,
            _ => Status::Unreachable,
        }
    }

    /// Its name: `connected`, `auth_failed`, `scope_missing`, `unreachable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connected => "connected",
            Status::AuthFailed => "auth_failed",
            Status::ScopeMissing => "scope_missing",
            Status::Unreachable => "unreachable",
        }
    }
}

/// Where a connector's key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeySource {
    /// A file of the operator's (a mounted secret), read each time the key is needed, so a
    /// key rotated in place is picked up. Stored as `key = "file:/path"`.
    File(PathBuf),
    /// The copy in the connector's directory (`api-key`, 0600). Stored as `key = "copy"`.
    Copy,
}

impl From<KeySource> for String {
    fn from(source: KeySource) -> String {
        match source {
            KeySource::File(path) => format!("file:{}", path.display()),
            KeySource::Copy => "copy".to_string(),
        }
    }
}

impl TryFrom<String> for KeySource {
    type Error = String;
    fn try_from(text: String) -> Result<KeySource, String> {
        match text.strip_prefix("file:") {
            Some(path) if !path.is_empty() => Ok(KeySource::File(PathBuf::from(path))),
            _ if text == "copy" => Ok(KeySource::Copy),
            _ => Err(format!(
                "key must be \"copy\" or \"file:/path\", not {text:?}"
            )),
        }
    }
}

/// A key to store for a connector.
#[derive(Debug, Clone)]
pub enum KeyInput {
    /// Refer to this file (made absolute); the key is not copied.
    File(PathBuf),
    /// Keep a copy of this key (0600) in the connector's directory.
    Copy(ApiKey),
}

/// One registered connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Its name (letters, digits, `-`, `_`), unique in the registry.
    pub name: String,
    /// The workspace (or organization) id, unique in the registry.
    pub workspace_id: String,
    /// API base URL, when not the configuration's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Where its key is.
    pub key: KeySource,
    /// What it last found with its key.
    pub status: Status,
    /// Why, when it is not `connected` (the API's words; never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    /// Since when it has had this status (RFC 3339).
    pub status_since: String,
    /// Paused connectors are not scanned.
    #[serde(default)]
    pub paused: bool,
    /// When it was added (RFC 3339).
    pub created_at: String,
}

impl Entry {
    /// The status to show: `paused` when paused, else [`Entry::status`]'s name.
    pub fn shown_status(&self) -> &'static str {
        if self.paused {
            "paused"
        } else {
            self.status.as_str()
        }
    }
}

/// A connector ready to run: its entry, key, configuration and state database.
#[derive(Debug, Clone)]
pub struct LoadedConnector {
    /// The entry.
    pub entry: Entry,
    /// Its key, read now (from its file or the copy).
    pub key: ApiKey,
    /// Its configuration (defaults when none was given), with the entry's base URL applied.
    pub config: Config,
    /// Its state database.
    pub state_path: PathBuf,
}

/// A new connector for [`Registry::add`].
#[derive(Debug, Clone)]
pub struct NewConnector {
    /// Its name.
    pub name: String,
    /// The workspace id (checked by the caller against the API).
    pub workspace_id: String,
    /// API base URL, when not the configuration's.
    pub base_url: Option<String>,
    /// Its key.
    pub key: KeyInput,
    /// Its configuration, as TOML (validated before anything is written).
    pub config: Option<String>,
}

/// What [`Registry::remove`] did.
#[derive(Debug, Clone)]
pub struct Removal {
    /// The entry removed.
    pub entry: Entry,
    /// Without purge: where its state, key copy and configuration were moved.
    pub kept: Option<PathBuf>,
    /// With purge: the files and directories deleted.
    pub deleted: Vec<PathBuf>,
    /// Its evidence configuration: without purge the evidence stays there; with purge, a
    /// local evidence directory was deleted, and evidence in an object store is for the caller
    /// to delete ([`Evidence::purge`], which is asynchronous).
    pub evidence: EvidenceConfig,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    version: u32,
    #[serde(default, rename = "connector")]
    connectors: Vec<Entry>,
}

/// The registry of connectors in one `dlp` home.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    /// The registry in `home` (`<home>/chatgpt`). Nothing is created until a change.
    pub fn new(home: &Path) -> Registry {
        Registry {
            dir: home.join(REGISTRY_DIR),
        }
    }

    /// The registry in `dlp`'s default home (`DLP_HOME`, else `$XDG_STATE_HOME/dlp`, else
    /// `~/.local/state/dlp`).
    pub fn in_default_home() -> Result<Registry, Error> {
        dlp_engine::home_dir()
            .map(|home| Registry::new(&home))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "no home directory for the connector registry: set {} or give --home",
                        dlp_engine::HOME_ENV
                    ),
                )
            })
    }

    /// The registry's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn connector_dir(&self, name: &str) -> PathBuf {
        self.dir.join(CONNECTORS_DIR).join(name)
    }

    /// The state database of connector `name`.
    pub fn state_path(&self, name: &str) -> PathBuf {
        self.connector_dir(name).join(STATE_FILE)
    }

    /// The configuration file of connector `name` (absent: defaults).
    pub fn config_path(&self, name: &str) -> PathBuf {
        self.connector_dir(name).join(CONFIG_FILE)
    }

    /// Where the copy of connector `name`'s key is kept, when it is copied.
    pub fn key_copy_path(&self, name: &str) -> PathBuf {
        self.connector_dir(name).join(KEY_COPY_FILE)
    }

    /// Every entry, in the order they were added. A registry not yet created is empty.
    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        Ok(self.read()?.connectors)
    }

    /// The entry of connector `name`.
    pub fn entry(&self, name: &str) -> Result<Entry, Error> {
        let entries = self.entries()?;
        find(&entries, name).cloned()
    }

    /// Connector `name` with its key read, its configuration parsed and its state's path.
    pub fn load(&self, name: &str) -> Result<LoadedConnector, Error> {
        let entry = self.entry(name)?;
        let key = match &entry.key {
            KeySource::File(path) => ApiKey::from_file(path),
            KeySource::Copy => ApiKey::from_file(&self.key_copy_path(name)),
        }
        .map_err(|e| {
            Error::new(
                e.kind(),
                format!("connector {name}: {e}; give a new key with `dlp chatgpt reauth {name}`"),
            )
        })?;
        let config = self.config(&entry)?;
        Ok(LoadedConnector {
            state_path: self.state_path(name),
            entry,
            key,
            config,
        })
    }

    /// Connector `name`'s configuration (defaults when none was given), with its base URL.
    pub fn config_of(&self, name: &str) -> Result<Config, Error> {
        self.config(&self.entry(name)?)
    }

    fn config(&self, entry: &Entry) -> Result<Config, Error> {
        let path = self.config_path(&entry.name);
        let mut config = if path.exists() {
            Config::from_file(&path)?
        } else {
            Config::default()
        };
        if let Some(url) = &entry.base_url {
            config.api.base_url = url.clone();
        }
        Ok(config)
    }

    /// Refuses, without changing anything, a new connector whose name is taken or invalid or
    /// whose workspace is registered already; callers check this before they ask the API.
    pub fn check_new(&self, name: &str, workspace_id: &str) -> Result<(), Error> {
        validate_name(name)?;
        check_free(&self.entries()?, name, workspace_id)
    }

    /// Adds a connector: its directory, key copy, configuration and state database, then the
    /// entry (status `connected`: the caller checked the key). Refused when the name or the
    /// workspace is registered already.
    pub fn add(&self, new: NewConnector) -> Result<Entry, Error> {
        validate_name(&new.name)?;
        if let Some(text) = &new.config {
            Config::from_toml(text)?;
        }
        let key = resolve_key(new.key)?;
        self.update(|entries| {
            check_free(entries, &new.name, &new.workspace_id)?;
            let dir = self.connector_dir(&new.name);
            let created = !dir.exists();
            let made = self.populate(&new.name, &new.workspace_id, &key, new.config.as_deref());
            if let Err(e) = made {
                if created {
                    let _ = fs::remove_dir_all(&dir);
                }
                return Err(e);
            }
            let now = now();
            let entry = Entry {
                name: new.name.clone(),
                workspace_id: new.workspace_id.clone(),
                base_url: new.base_url.clone(),
                key: match &key {
                    KeyInput::File(path) => KeySource::File(path.clone()),
                    KeyInput::Copy(_) => KeySource::Copy,
                },
                status: Status::Connected,
                status_detail: None,
                status_since: now.clone(),
                paused: false,
                created_at: now,
            };
            entries.push(entry.clone());
            Ok(entry)
        })
    }

    fn populate(
        &self,
        name: &str,
        workspace_id: &str,
        key: &KeyInput,
        config: Option<&str>,
    ) -> Result<(), Error> {
        create_private_dir(&self.connector_dir(name))?;
        if let KeyInput::Copy(key) = key {
            write_private(&self.key_copy_path(name), key.expose().as_bytes())?;
        }
        if let Some(text) = config {
            write_private(&self.config_path(name), text.as_bytes())?;
        }
        // Created now, so that it is the workspace's from the start (and 0600).
        StateStore::open(&self.state_path(name), workspace_id)?;
        Ok(())
    }

    /// Gives connector `name` a new key (checked by the caller), keeping its state. A key
    /// copy it no longer needs is deleted. Its status becomes `connected`.
    pub fn set_key(&self, name: &str, key: KeyInput) -> Result<Entry, Error> {
        let key = resolve_key(key)?;
        self.update(|entries| {
            let entry = find_mut(entries, name)?;
            let copy = self.key_copy_path(name);
            match &key {
                KeyInput::Copy(key) => {
                    write_private(&copy, key.expose().as_bytes())?;
                    entry.key = KeySource::Copy;
                }
                KeyInput::File(path) => {
                    entry.key = KeySource::File(path.clone());
                }
            }
            set_status(entry, Status::Connected, None);
            Ok(entry.clone())
        })
        .and_then(|entry| {
            // After the registry no longer points at it.
            if matches!(entry.key, KeySource::File(_)) {
                remove_if_exists(&self.key_copy_path(name))?;
            }
            Ok(entry)
        })
    }

    /// Replaces connector `name`'s configuration with `text`, which must parse and validate
    /// ([`Config::from_toml`]); nothing is written otherwise. Returns the configuration.
    pub fn set_config(&self, name: &str, text: &str) -> Result<Config, Error> {
        let config = Config::from_toml(text)?;
        self.update(|entries| {
            find(entries, name)?;
            write_private(&self.config_path(name), text.as_bytes())
        })?;
        Ok(config)
    }

    /// Pauses or resumes connector `name`. Returns its entry.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<Entry, Error> {
        self.update(|entries| {
            let entry = find_mut(entries, name)?;
            entry.paused = paused;
            Ok(entry.clone())
        })
    }

    /// Records what connector `name` found when it last used its key. The registry is written
    /// only when the status or its detail changed. Returns whether it changed.
    pub fn record_status(
        &self,
        name: &str,
        status: Status,
        detail: Option<&str>,
    ) -> Result<bool, Error> {
        let entry = self.entry(name)?;
        if entry.status == status && entry.status_detail.as_deref() == detail {
            return Ok(false);
        }
        self.update(|entries| {
            let entry = find_mut(entries, name)?;
            Ok(set_status(entry, status, detail))
        })
    }

    /// Removes connector `name`. Without `purge`, its directory (state, key copy,
    /// configuration) is moved to `deleted/<name>-<unix time>` and its evidence stays; with
    /// `purge`, they are deleted, and so is its evidence in a local evidence directory.
    pub fn remove(&self, name: &str, purge: bool) -> Result<Removal, Error> {
        self.update(|entries| {
            let index = entries
                .iter()
                .position(|e| e.name == name)
                .ok_or_else(|| unknown(name))?;
            let entry = entries[index].clone();
            let evidence = self.config(&entry).map(|c| c.evidence).unwrap_or_default();
            let dir = self.connector_dir(name);
            let mut removal = Removal {
                entry: entries.remove(index),
                kept: None,
                deleted: Vec::new(),
                evidence,
            };
            if purge {
                if dir.exists() {
                    fs::remove_dir_all(&dir).map_err(|e| registry_io(&dir, e))?;
                    removal.deleted.push(dir);
                }
                if let (EvidenceMode::Local, Some(root)) =
                    (removal.evidence.mode, &removal.evidence.path)
                {
                    let key = Evidence::key(&removal.entry.workspace_id, "x", "x");
                    let workspace = key.split('/').next().unwrap_or_default();
                    let evidence = root.join(workspace);
                    if !workspace.is_empty() && evidence.exists() {
                        fs::remove_dir_all(&evidence).map_err(|e| registry_io(&evidence, e))?;
                        removal.deleted.push(evidence);
                    }
                }
            } else if dir.exists() {
                let deleted = self.dir.join(DELETED_DIR);
                create_private_dir(&deleted)?;
                let kept = deleted.join(format!(
                    "{name}-{}",
                    OffsetDateTime::now_utc().unix_timestamp()
                ));
                fs::rename(&dir, &kept).map_err(|e| registry_io(&dir, e))?;
                removal.kept = Some(kept);
            }
            Ok(removal)
        })
    }

    fn read(&self) -> Result<RegistryFile, Error> {
        let path = self.dir.join(REGISTRY_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RegistryFile {
                    version: FORMAT_VERSION,
                    connectors: Vec::new(),
                })
            }
            Err(e) => return Err(registry_io(&path, e)),
        };
        let file: RegistryFile = toml::from_str(&text).map_err(|e| {
            Error::new(
                ErrorKind::Registry,
                format!("the connector registry {} is corrupt: {e}", path.display()),
            )
        })?;
        if file.version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::Registry,
                format!(
                    "the connector registry {} has format version {}; this dlp reads version \
                     {FORMAT_VERSION}",
                    path.display(),
                    file.version
                ),
            ));
        }
        Ok(file)
    }

    /// Reads, changes and writes the registry under its lock.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut Vec<Entry>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        create_private_dir(&self.dir)?;
        let _lock = RegistryLock::acquire(&self.dir.join(LOCK_FILE))?;
        let mut file = self.read()?;
        let result = change(&mut file.connectors)?;
        let text = toml::to_string(&file).map_err(|e| {
            Error::new(
                ErrorKind::Registry,
                format!("cannot write the registry: {e}"),
            )
        })?;
        write_private(
            &self.dir.join(REGISTRY_FILE),
            format!("{HEADER}{text}").as_bytes(),
        )?;
        Ok(result)
    }
}

/// Held by the one service (`dlp chatgpt run`) of a registry: an exclusive `flock` on
/// `service.lock`, released when dropped or when the process dies.
#[derive(Debug)]
pub struct ServiceLock(#[allow(dead_code)] RegistryLock);

impl Registry {
    /// Takes the registry's service lock, or says that another service holds it: two services
    /// on one registry would scan each connector twice and interleave its output files.
    pub fn lock_service(&self) -> Result<ServiceLock, Error> {
        create_private_dir(&self.dir)?;
        let path = self.dir.join(SERVICE_LOCK_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| registry_io(&path, e))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                let mut holder = String::new();
                let _ = std::io::Read::read_to_string(&mut file, &mut holder);
                let holder = holder.trim();
                return Err(Error::new(
                    ErrorKind::Registry,
                    format!(
                        "another `dlp chatgpt run` is running on {}{}: stop it first (each \
                         connector must be scanned by one process)",
                        self.dir.display(),
                        if holder.is_empty() {
                            String::new()
                        } else {
                            format!(" (process {holder})")
                        }
                    ),
                ));
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Registry,
                    format!("cannot lock {}: {e}", path.display()),
                ))
            }
        }
        // Who holds it, for the message above.
        let _ = file.set_len(0);
        let _ = std::io::Write::write_all(&mut file, std::process::id().to_string().as_bytes());
        Ok(ServiceLock(RegistryLock(file)))
    }
}

/// An exclusive `flock` on the registry's lock file, released when dropped (or when the
/// process dies, so a killed command never leaves the registry locked).
#[derive(Debug)]
struct RegistryLock(File);

impl RegistryLock {
    fn acquire(path: &Path) -> Result<RegistryLock, Error> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| registry_io(path, e))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
            Error::new(
                ErrorKind::Registry,
                format!("cannot lock {}: {e}", path.display()),
            )
        })?;
        Ok(RegistryLock(file))
    }
}

impl Drop for RegistryLock {
    fn drop(&mut self) {
        let _ = rustix::fs::flock(&self.0, rustix::fs::FlockOperation::Unlock);
    }
}

/// Checks a connector name: 1 to 64 ASCII letters, digits, `-` and `_`, starting with a
/// letter or digit (it names a directory).
pub fn validate_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "invalid connector name {name:?}: use 1 to 64 letters, digits, '-' and '_', \
                 starting with a letter or digit"
            ),
        ))
    }
}

fn check_free(entries: &[Entry], name: &str, workspace_id: &str) -> Result<(), Error> {
    if entries.iter().any(|e| e.name == name) {
        return Err(Error::new(
            ErrorKind::AlreadyRegistered,
            format!(
                "a connector named {name} exists already: choose another name, or change it \
                 with `dlp chatgpt configure|reauth {name}`"
            ),
        ));
    }
    if let Some(other) = entries
        .iter()
        .find(|e| e.workspace_id.eq_ignore_ascii_case(workspace_id))
    {
        return Err(Error::new(
            ErrorKind::AlreadyRegistered,
            format!(
                "workspace {workspace_id} is connected already, as connector {}: one connector \
                 per workspace (a new key: `dlp chatgpt reauth {}`)",
                other.name, other.name
            ),
        ));
    }
    Ok(())
}

fn find<'a>(entries: &'a [Entry], name: &str) -> Result<&'a Entry, Error> {
    entries
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| unknown(name))
}

fn find_mut<'a>(entries: &'a mut [Entry], name: &str) -> Result<&'a mut Entry, Error> {
    entries
        .iter_mut()
        .find(|e| e.name == name)
        .ok_or_else(|| unknown(name))
}

fn unknown(name: &str) -> Error {
    Error::new(
        ErrorKind::UnknownConnector,
        format!("no connector named {name:?}: see `dlp chatgpt list`"),
    )
}

fn set_status(entry: &mut Entry, status: Status, detail: Option<&str>) -> bool {
    let changed = entry.status != status || entry.status_detail.as_deref() != detail;
    if entry.status != status {
        entry.status_since = now();
    }
    entry.status = status;
    entry.status_detail = detail.map(str::to_string);
    changed
}

/// A key file is referred to by its absolute path; it must be readable, and hold a valid key.
fn resolve_key(key: KeyInput) -> Result<KeyInput, Error> {
    match key {
        KeyInput::Copy(key) => Ok(KeyInput::Copy(key)),
        KeyInput::File(path) => {
            ApiKey::from_file(&path)?;
            let absolute = fs::canonicalize(&path).map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("cannot resolve the API key file {}: {e}", path.display()),
                )
            })?;
            if absolute.to_str().is_none() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "the API key file's path {} is not UTF-8: move the file",
                        absolute.display()
                    ),
                ));
            }
            Ok(KeyInput::File(absolute))
        }
    }
}

fn now() -> String {
    format_time(
        OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc()),
    )
}

fn registry_io(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Registry, format!("{}: {e}", path.display()))
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| registry_io(dir, e))
}

fn remove_if_exists(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(registry_io(path, e)),
        _ => Ok(()),
    }
}

/// Writes `content` to `path` atomically, readable by its owner only (see
/// [`dlp_engine::write_private`]).
fn write_private(path: &Path, content: &[u8]) -> Result<(), Error> {
    dlp_engine::write_private(path, content).map_err(|e| registry_io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const WS: &str = "ec779c36-93f8-4501-8ed9-eeb4936de39d";
    const WS2: &str = "0c779c36-93f8-4501-8ed9-eeb4936de39d";

    fn new(name: &str, ws: &str, key: &str) -> NewConnector {
        NewConnector {
            name: name.into(),
            workspace_id: ws.into(),
            base_url: Some("http://127.0.0.1:1/v1".into()),
            key: KeyInput::Copy(ApiKey::new(key).unwrap()),
            config: Some("[scan]\noverlap_minutes = 10\n".into()),
        }
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn add_load_and_the_files_it_makes() {
        let home = tempfile::tempdir().unwrap();
        let r = Registry::new(home.path());
        assert!(r.entries().unwrap().is_empty());
        r.add(new("acme", WS, "sk-acme-secret")).unwrap();
        let loaded = r.load("acme").unwrap();
        assert_eq!(loaded.key.expose(), "sk-acme-secret");
        assert_eq!(loaded.config.scan.overlap_minutes, 10);
        assert_eq!(loaded.config.api.base_url, "http://127.0.0.1:1/v1");
        assert_eq!(loaded.entry.shown_status(), "connected");
        assert_eq!(mode(r.dir()), 0o700);
        assert_eq!(mode(&r.connector_dir("acme")), 0o700);
        for f in [
            r.dir().join(REGISTRY_FILE),
            r.dir().join(LOCK_FILE),
            r.key_copy_path("acme"),
            r.config_path("acme"),
            r.state_path("acme"),
        ] {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        let text = fs::read_to_string(r.dir().join(REGISTRY_FILE)).unwrap();
        assert!(!text.contains("sk-acme-secret"), "{text}");
        assert!(text.contains("key = \"copy\""), "{text}");
    }

    #[test]
    fn names_and_workspaces_are_unique() {
        let home = tempfile::tempdir().unwrap();
        let r = Registry::new(home.path());
        r.add(new("acme", WS, "k1")).unwrap();
        let e = r.add(new("acme", WS2, "k2")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyRegistered);
        let e = r.add(new("other", &WS.to_uppercase(), "k2")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyRegistered);
        assert!(e.to_string().contains("as connector acme"), "{e}");
        assert!(r.check_new("other", WS).is_err());
        r.check_new("other", WS2).unwrap();
        for bad in ["", "-a", "a/b", "..", "a b", &"x".repeat(65)] {
            assert!(r.check_new(bad, WS2).is_err(), "{bad}");
        }
        assert_eq!(r.entries().unwrap().len(), 1);
    }

    #[test]
    fn status_pause_config_and_key_changes() {
        let home = tempfile::tempdir().unwrap();
        let r = Registry::new(home.path());
        r.add(new("acme", WS, "k1")).unwrap();
        assert!(r
            .record_status("acme", Status::AuthFailed, Some("401"))
            .unwrap());
        assert!(!r
            .record_status("acme", Status::AuthFailed, Some("401"))
            .unwrap());
        assert_eq!(r.entry("acme").unwrap().status, Status::AuthFailed);
        r.set_paused("acme", true).unwrap();
        assert_eq!(r.entry("acme").unwrap().shown_status(), "paused");
        r.set_paused("acme", false).unwrap();
        let e = r.set_config("acme", "[scan]\nmax_days = 3\n").unwrap_err();
        assert!(e.to_string().contains("max_days"), "{e}");
        assert_eq!(r.load("acme").unwrap().config.scan.overlap_minutes, 10);
        r.set_config("acme", "[scan]\noverlap_minutes = 20\n")
            .unwrap();
        assert_eq!(r.load("acme").unwrap().config.scan.overlap_minutes, 20);
        // A key file instead of the copy: the copy goes.
        let key = home.path().join("key");
        fs::write(&key, "k2\n").unwrap();
        let entry = r.set_key("acme", KeyInput::File(key.clone())).unwrap();
        assert_eq!(entry.status, Status::Connected);
        assert!(!r.key_copy_path("acme").exists());
        assert_eq!(r.load("acme").unwrap().key.expose(), "k2");
        assert!(matches!(entry.key, KeySource::File(p) if p.is_absolute()));
        assert_eq!(
            r.set_paused("nope", true).unwrap_err().kind(),
            ErrorKind::UnknownConnector
        );
    }

    #[test]
    fn remove_keeps_or_purges() {
        let home = tempfile::tempdir().unwrap();
        let r = Registry::new(home.path());
        r.add(new("acme", WS, "k1")).unwrap();
        let removal = r.remove("acme", false).unwrap();
        let kept = removal.kept.unwrap();
        assert!(kept.join(STATE_FILE).exists() && kept.join(KEY_COPY_FILE).exists());
        assert!(r.entries().unwrap().is_empty());
        // The same name and workspace can be connected again.
        r.add(new("acme", WS, "k1")).unwrap();
        let removal = r.remove("acme", true).unwrap();
        assert!(removal.kept.is_none());
        assert!(!r.connector_dir("acme").exists());
        assert_eq!(
            r.remove("acme", true).unwrap_err().kind(),
            ErrorKind::UnknownConnector
        );
    }

    #[test]
    fn concurrent_changes_are_all_kept() {
        let home = tempfile::tempdir().unwrap();
        let r = Registry::new(home.path());
        std::thread::scope(|s| {
            for i in 0..8 {
                let r = r.clone();
                s.spawn(move || {
                    let ws = format!("{i:08x}-93f8-4501-8ed9-eeb4936de39d");
                    r.add(new(&format!("c{i}"), &ws, "k")).unwrap();
                });
            }
        });
        assert_eq!(r.entries().unwrap().len(), 8);
    }

    #[test]
    fn a_corrupt_registry_is_an_error_naming_the_file() {
        let home = tempfile::tempdir().unwrap();
        let r = Registry::new(home.path());
        fs::create_dir_all(r.dir()).unwrap();
        fs::write(
            r.dir().join(REGISTRY_FILE),
            "version = 1\n[[connector]]\nname = 3\n",
        )
        .unwrap();
        let e = r.entries().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Registry);
        assert!(e.to_string().contains(REGISTRY_FILE), "{e}");
    }
}
