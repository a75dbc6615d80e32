//! Evidence capture: the inspected content of items with findings, kept in a local directory or
//! an object store for review. Objects are keyed by workspace, item kind and item id, so that
//! writing the same item twice (after a crash) overwrites instead of duplicating.

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

use crate::config::{EvidenceConfig, EvidenceMode};
use crate::error::{Error, ErrorKind};

/// Where evidence goes.
#[derive(Debug, Clone)]
pub struct Evidence {
    store: Option<(Arc<dyn ObjectStore>, ObjectPath)>,
}

impl Evidence {
    /// No evidence capture.
    pub fn none() -> Evidence {
        Evidence { store: None }
    }

    /// Evidence capture as configured.
    pub fn from_config(config: &EvidenceConfig) -> Result<Evidence, Error> {
        let err = |e: String| Error::new(ErrorKind::Config, format!("evidence: {e}"));
        match config.mode {
            EvidenceMode::None => Ok(Evidence::none()),
            EvidenceMode::Local => {
                let path = config
                    .path
                    .as_ref()
                    .ok_or_else(|| err("mode local needs path".into()))?;
                std::fs::create_dir_all(path)
                    .map_err(|e| err(format!("cannot create {}: {e}", path.display())))?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(path)
                    .map_err(|e| err(e.to_string()))?;
                Ok(Evidence {
                    store: Some((Arc::new(store), ObjectPath::default())),
                })
            }
            EvidenceMode::ObjectStore => {
                let url = config
                    .url
                    .as_ref()
                    .ok_or_else(|| err("mode object_store needs url".into()))?;
                let url = reqwest::Url::parse(url)
                    .map_err(|e| err(format!("invalid url {url:?}: {e}")))?;
                let (store, prefix) =
                    object_store::parse_url(&url).map_err(|e| err(e.to_string()))?;
                Ok(Evidence {
                    store: Some((Arc::from(store), prefix)),
                })
            }
        }
    }

    /// An evidence store over any object store (tests use the in-memory one).
    pub fn with_store(store: Arc<dyn ObjectStore>) -> Evidence {
        Evidence {
            store: Some((store, ObjectPath::default())),
        }
    }

    /// Whether evidence is captured.
    pub fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    /// The key an item's evidence is stored under.
    pub fn key(workspace_id: &str, item: &str, item_id: &str) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!("{}/{}/{}", clean(workspace_id), clean(item), clean(item_id))
    }

    /// Deletes every item stored for `workspace_id` (the objects under its prefix). Returns how
    /// many were deleted.
    pub async fn purge(&self, workspace_id: &str) -> Result<u64, Error> {
        use futures::TryStreamExt;
        let Some((store, prefix)) = &self.store else {
            return Ok(0);
        };
        let workspace = Evidence::key(workspace_id, "x", "x");
        let workspace = workspace.split('/').next().unwrap_or_default();
        let prefix = prefix.child(workspace);
        let fail = |e: object_store::Error| {
            Error::new(
                ErrorKind::Output,
                format!("evidence of workspace {workspace_id}: {e}"),
            )
        };
        let objects: Vec<_> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(fail)?;
        for object in &objects {
            match store.delete(&object.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(fail(e)),
            }
        }
        Ok(objects.len() as u64)
    }

    /// Stores an item's content under `key`.
    pub async fn put(&self, key: &str, content: &[u8]) -> Result<(), Error> {
        let Some((store, prefix)) = &self.store else {
            return Ok(());
        };
        let mut path = prefix.clone();
        for part in key.split('/') {
            path = path.child(part);
        }
        store
            .put(&path, PutPayload::from(content.to_vec()))
            .await
            .map(|_| ())
            .map_err(|e| Error::new(ErrorKind::Output, format!("evidence {key}: {e}")))
    }
}
