//! Evidence capture: the inspected content of items with findings, kept for review in a local
//! directory, in S3 (or an S3-compatible server, through `dlp-store`), or in any other
//! `object_store` store.
//!
//! An item's evidence is kept under `[PREFIX/]<workspace id>/<item kind>/<item id>`
//! ([`Evidence::key`]), so that writing the same item twice (after a crash, or a retry)
//! replaces instead of duplicating. Local evidence is readable by its owner only: directories
//! are created 0700 and files 0600, each written to a temporary file, synced and renamed into
//! place, so that a reader never sees half an item.
//!
//! This module writes and deletes evidence and remembers whether its store is failing; what
//! happens to evidence that could not be written (it waits in the state database, and is
//! written again at the start of each cycle) is the scanner's business.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dlp_store::{AsyncStore, ObjectUrl};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

use crate::config::{EvidenceConfig, EvidenceMode, ServerSideEncryption};
use crate::error::{Error, ErrorKind};

/// Where evidence goes: nowhere, a local directory, or an object store.
///
/// Clones share the store and what is known of its health. `Debug` shows where evidence goes,
/// never credentials.
#[derive(Clone)]
pub struct Evidence {
    target: Target,
    /// Whether the last write failed. The scanner then keeps the cycle's evidence pending
    /// without trying the store for each item (each try can take the store's retries).
    failing: Arc<AtomicBool>,
}

#[derive(Clone)]
enum Target {
    None,
    /// Files under a local directory, written by this module (object_store's local store
    /// creates them world-readable).
    Directory(PathBuf),
    /// S3 or an S3-compatible server: `prefix` is the URL's key, without a final slash.
    S3 {
        store: AsyncStore,
        url: ObjectUrl,
        prefix: String,
    },
    /// Any other object store (in memory, or one given by the embedding program).
    Other {
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        location: String,
    },
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // object_store's S3 client shows its credentials in its Debug: only the location here.
        f.debug_struct("Evidence")
            .field("location", &self.location())
            .field("failing", &self.is_failing())
            .finish()
    }
}

impl Evidence {
    fn new(target: Target) -> Evidence {
        Evidence {
            target,
            failing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// No evidence capture.
    pub fn none() -> Evidence {
        Evidence::new(Target::None)
    }

    /// Evidence capture as configured; an `s3://` URL is reached with the settings of the
    /// `AWS_*` environment variables ([`dlp_store::Config::from_env`]). No request is sent.
    pub fn from_config(config: &EvidenceConfig) -> Result<Evidence, Error> {
        Evidence::from_config_with(config, &dlp_store::Config::from_env())
    }

    /// Evidence capture as configured, an `s3://` URL reached with `store` (credentials,
    /// region, endpoint, timeouts and retries); the configuration's `sse` and `sse_kms_key_id`
    /// are added to it. No request is sent.
    pub fn from_config_with(
        config: &EvidenceConfig,
        store: &dlp_store::Config,
    ) -> Result<Evidence, Error> {
        let err = |e: String| Error::new(ErrorKind::Config, format!("evidence: {e}"));
        match config.mode {
            EvidenceMode::None => Ok(Evidence::none()),
            EvidenceMode::Local => {
                let path = config
                    .path
                    .as_ref()
                    .ok_or_else(|| err("mode local needs path".into()))?;
                Evidence::directory(path)
            }
            EvidenceMode::ObjectStore => {
                let url = config
                    .url
                    .as_deref()
                    .ok_or_else(|| err("mode object_store needs url".into()))?;
                let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
                match scheme.as_deref() {
                    Some("s3") => {
                        let url = ObjectUrl::parse(url).map_err(|e| err(e.to_string()))?;
                        let mut store = store.clone();
                        match config.sse {
                            Some(ServerSideEncryption::Aes256) => {
                                store.encryption(dlp_store::Encryption::S3Managed);
                            }
                            Some(ServerSideEncryption::AwsKms) => {
                                store.encryption(dlp_store::Encryption::Kms {
                                    key_id: config.sse_kms_key_id.clone(),
                                });
                            }
                            None => {}
                        }
                        let s3 =
                            AsyncStore::open_with(&url, &store).map_err(|e| err(e.to_string()))?;
                        let prefix = url.key().trim_end_matches('/').to_string();
                        Ok(Evidence::new(Target::S3 {
                            store: s3,
                            url,
                            prefix,
                        }))
                    }
                    Some("file") => {
                        let path = reqwest::Url::parse(url)
                            .ok()
                            .and_then(|u| u.to_file_path().ok())
                            .ok_or_else(|| {
                                err(format!(
                                    "`{url}` is not a local directory; use file:///PATH"
                                ))
                            })?;
                        Evidence::directory(&path)
                    }
                    Some("memory") => Ok(Evidence::new(Target::Other {
                        store: Arc::new(object_store::memory::InMemory::new()),
                        prefix: ObjectPath::default(),
                        location: "memory://".into(),
                    })),
                    _ => Err(err(format!(
                        "`{url}` is not supported: use s3://BUCKET/PREFIX, file:///PATH or \
                         memory://"
                    ))),
                }
            }
        }
    }

    /// Evidence files under `root`, created (0700) if missing.
    fn directory(root: &Path) -> Result<Evidence, Error> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("evidence: cannot create {}: {e}", root.display()),
                )
            })?;
        Ok(Evidence::new(Target::Directory(root.to_path_buf())))
    }

    /// An evidence store over any object store (tests use the in-memory one).
    pub fn with_store(store: Arc<dyn ObjectStore>) -> Evidence {
        Evidence::new(Target::Other {
            location: store.to_string(),
            store,
            prefix: ObjectPath::default(),
        })
    }

    /// Whether evidence is captured.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.target, Target::None)
    }

    /// Where evidence goes, for messages: `s3://bucket/prefix/`, a directory, or the store's
    /// name. Never credentials.
    pub fn location(&self) -> String {
        match &self.target {
            Target::None => "nowhere".into(),
            Target::Directory(root) => root.display().to_string(),
            Target::S3 { url, .. } => url.to_string(),
            Target::Other { location, .. } => location.clone(),
        }
    }

    /// Whether the last write failed (after the store's retries), and no write succeeded
    /// since.
    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// Forgets that the store was failing, so that the next writer tries it again.
    pub(crate) fn clear_failing(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }

    /// The key an item's evidence is stored under: `<workspace id>/<item kind>/<item id>`,
    /// each part with every character other than ASCII letters, digits, `-`, `_` and `.`
    /// replaced by `_`, and a part that would be empty, `.` or `..` made of underscores.
    pub fn key(workspace_id: &str, item: &str, item_id: &str) -> String {
        format!(
            "{}/{}/{}",
            key_part(workspace_id),
            key_part(item),
            key_part(item_id)
        )
    }

    /// Deletes every item stored for `workspace_id` (everything under its part of the key).
    /// Returns how many were deleted.
    pub async fn purge(&self, workspace_id: &str) -> Result<u64, Error> {
        use futures::TryStreamExt;
        let workspace = key_part(workspace_id);
        let fail = |e: String| {
            Error::new(
                ErrorKind::Output,
                format!("evidence of workspace {workspace_id}: {e}"),
            )
        };
        match &self.target {
            Target::None => Ok(0),
            Target::Directory(root) => {
                let dir = root.join(&workspace);
                tokio::task::spawn_blocking(move || remove_counting(&dir))
                    .await
                    .map_err(|e| fail(e.to_string()))?
                    .map_err(|e| fail(e.to_string()))
            }
            Target::S3 {
                store, url, prefix, ..
            } => {
                let folder = url.object(&join(prefix, &format!("{workspace}/")));
                let mut objects = store.list(&folder);
                let mut deleted = 0;
                loop {
                    let object = match objects.try_next().await {
                        Ok(Some(object)) => object,
                        Ok(None) => break,
                        // No bucket, no evidence.
                        Err(e) if e.kind() == dlp_store::ErrorKind::NotFound => break,
                        Err(e) => return Err(fail(e.to_string())),
                    };
                    store
                        .delete(&object.key)
                        .await
                        .map_err(|e| fail(e.to_string()))?;
                    deleted += 1;
                }
                Ok(deleted)
            }
            Target::Other { store, prefix, .. } => {
                let prefix = prefix.child(workspace.as_str());
                let objects: Vec<_> = store
                    .list(Some(&prefix))
                    .try_collect()
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                for object in &objects {
                    match store.delete(&object.location).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(fail(e.to_string())),
                    }
                }
                Ok(objects.len() as u64)
            }
        }
    }

    /// Stores an item's content under `key`, replacing what was there. An S3 write is retried
    /// by the store (connection errors, timeouts, throttling and server errors, with
    /// exponential backoff, as its configuration says); an error is what remained after that.
    /// Either way the outcome is remembered ([`Evidence::is_failing`]).
    pub async fn put(&self, key: &str, content: &[u8]) -> Result<(), Error> {
        let result = self.write(key, content).await;
        self.failing.store(result.is_err(), Ordering::SeqCst);
        result.map_err(|e| Error::new(ErrorKind::Output, format!("evidence {key}: {e}")))
    }

    async fn write(&self, key: &str, content: &[u8]) -> Result<(), String> {
        match &self.target {
            Target::None => Ok(()),
            Target::Directory(root) => {
                let root = root.clone();
                let key = key.to_string();
                let content = content.to_vec();
                tokio::task::spawn_blocking(move || write_private(&root, &key, &content))
                    .await
                    .map_err(|e| e.to_string())?
            }
            Target::S3 { store, prefix, .. } => store
                .put(&join(prefix, key), content.to_vec())
                .await
                .map_err(|e| e.to_string()),
            Target::Other { store, prefix, .. } => {
                let mut path = prefix.clone();
                for part in key.split('/') {
                    path = path.child(part);
                }
                store
                    .put(&path, PutPayload::from(content.to_vec()))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// One part of a key: safe as a file name and as an S3 key segment.
fn key_part(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    // `.` and `..` would climb out of a directory; an empty part would make `//`.
    if clean.chars().all(|c| c == '.') {
        "_".repeat(clean.len().max(1))
    } else {
        clean
    }
}

/// `key` under `prefix` (which has no final slash).
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

/// Writes `content` as `root/key`, readable by its owner only: missing directories are created
/// 0700, then the file is written whole or not at all ([`dlp_engine::write_private`]).
fn write_private(root: &Path, key: &str, content: &[u8]) -> Result<(), String> {
    let parts: Vec<&str> = key.split('/').collect();
    if parts.iter().any(|p| matches!(*p, "" | "." | "..")) {
        return Err(format!(
            "`{key}` has an empty, `.` or `..` part; it cannot be a file under {}",
            root.display()
        ));
    }
    let path: PathBuf = parts
        .iter()
        .fold(root.to_path_buf(), |p, part| p.join(part));
    let (Some(dir), Some(_)) = (path.parent(), path.file_name()) else {
        return Err(format!("`{key}` names no file"));
    };
    let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io(dir, e))?;
    dlp_engine::write_private(&path, content).map_err(|e| io(&path, e))
}

/// Deletes `dir` and everything under it; returns how many files it held (0 if it is absent).
fn remove_counting(dir: &Path) -> std::io::Result<u64> {
    fn count(dir: &Path) -> std::io::Result<u64> {
        let mut n = 0;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                n += count(&entry.path())?;
            } else {
                n += 1;
            }
        }
        Ok(n)
    }
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
        Ok(meta) if !meta.is_dir() => {
            std::fs::remove_file(dir)?;
            return Ok(1);
        }
        Ok(_) => {}
    }
    let n = count(dir)?;
    std::fs::remove_dir_all(dir)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_safe_paths() {
        let cases = [
            (("ws-1", "message", "evt_1"), "ws-1/message/evt_1"),
            (("ws", "gpt_file", "file/../x y"), "ws/gpt_file/file_.._x_y"),
            (("ws", "message", ".."), "ws/message/__"),
            (("ws", "message", "."), "ws/message/_"),
            (("ws", "message", ""), "ws/message/_"),
            (("", "app_log", "ünï"), "_/app_log/_n_"),
            (("ws", "message", ".hidden"), "ws/message/.hidden"),
        ];
        for ((ws, item, id), want) in cases {
            assert_eq!(Evidence::key(ws, item, id), want, "{ws:?} {item:?} {id:?}");
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn local(mode: EvidenceMode, root: &Path) -> Evidence {
        let config = EvidenceConfig {
            mode,
            path: Some(root.to_path_buf()),
            url: Some(format!("file://{}", root.display())),
            ..Default::default()
        };
        Evidence::from_config(&config).unwrap()
    }

    #[tokio::test]
    async fn local_evidence_is_readable_by_its_owner_only() {
        for evidence_mode in [EvidenceMode::Local, EvidenceMode::ObjectStore] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("evidence/new");
            let evidence = local(evidence_mode, &root);
            assert_eq!(evidence.location(), root.display().to_string());
            let key = Evidence::key("ws-1", "message", "evt-1");
            evidence.put(&key, b"first").await.unwrap();
            evidence.put(&key, b"4111 1111 1111 1111").await.unwrap();
            let other = Evidence::key("ws-1", "gpt_file", "file-1");
            evidence.put(&other, &[0, 1, 2]).await.unwrap();
            let file = root.join("ws-1/message/evt-1");
            assert_eq!(std::fs::read(&file).unwrap(), b"4111 1111 1111 1111");
            assert_eq!(mode(&file), 0o600, "{evidence_mode:?}");
            assert_eq!(mode(&root.join("ws-1/gpt_file/file-1")), 0o600);
            for created in ["evidence", "evidence/new"] {
                assert_eq!(mode(&dir.path().join(created)), 0o700, "{created}");
            }
            for created in ["ws-1", "ws-1/message", "ws-1/gpt_file"] {
                assert_eq!(mode(&root.join(created)), 0o700, "{created}");
            }
            // No temporary file is left behind.
            let names: Vec<_> = std::fs::read_dir(root.join("ws-1/message"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["evt-1"]);
            assert!(!evidence.is_failing());

            assert_eq!(evidence.purge("ws-2").await.unwrap(), 0);
            assert_eq!(evidence.purge("ws-1").await.unwrap(), 2);
            assert!(!root.join("ws-1").exists());
            assert!(root.exists());
        }
    }

    #[tokio::test]
    async fn a_failed_write_is_an_output_error_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let evidence = local(EvidenceMode::Local, dir.path());
        // A file where the workspace's directory should be.
        std::fs::write(dir.path().join("ws"), b"").unwrap();
        let err = evidence.put("ws/message/e1", b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Output);
        assert!(err.to_string().contains("evidence ws/message/e1"), "{err}");
        assert!(evidence.is_failing());
        assert!(evidence.clone().is_failing(), "clones share the state");
        evidence.put("other/message/e1", b"x").await.unwrap();
        assert!(!evidence.is_failing());
        let err = evidence.put("ws/../x", b"x").await.unwrap_err();
        assert!(err.to_string().contains("`.` or `..`"), "{err}");
        evidence.clear_failing();
        assert!(!evidence.is_failing());
    }

    #[test]
    fn urls_of_object_store_mode() {
        let config = |url: &str| EvidenceConfig {
            mode: EvidenceMode::ObjectStore,
            url: Some(url.into()),
            ..Default::default()
        };
        let mut s3 = dlp_store::Config::new();
        s3.var("AWS_ACCESS_KEY_ID", "id")
            .var("AWS_SECRET_ACCESS_KEY", "secret-access-key-value");
        let evidence = Evidence::from_config_with(&config("s3://bucket/dlp/ev/"), &s3).unwrap();
        assert_eq!(evidence.location(), "s3://bucket/dlp/ev/");
        let debug = format!("{evidence:?}");
        assert!(!debug.contains("secret-access-key-value"), "{debug}");
        let memory = Evidence::from_config_with(&config("memory://"), &s3).unwrap();
        assert!(memory.is_enabled());
        for (url, want) in [
            ("gs://bucket/x", "is not supported"),
            ("s3://b/x", "3 to 255 characters"),
            ("file://host/x", "is not a local directory"),
        ] {
            let err = Evidence::from_config_with(&config(url), &s3).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{url}");
            assert!(err.to_string().contains(want), "{url}: {err}");
        }
        // Half a key pair: the store's own check.
        let mut half = dlp_store::Config::new();
        half.var("AWS_ACCESS_KEY_ID", "id");
        let err = Evidence::from_config_with(&config("s3://bucket/x"), &half).unwrap_err();
        assert!(err.to_string().contains("set both"), "{err}");
        assert!(!Evidence::none().is_enabled());
    }
}
