//! Where the fingerprint key comes from: the key that makes fingerprints HMAC-SHA-256, shared by
//! every front door of one installation (`dlp scan`, the connector, embedders) so that the same
//! value has the same fingerprint everywhere, and unknown to anyone who only sees the output.
//!
//! In order: `DLP_FINGERPRINT_KEY` (64 hexadecimal digits), else the key file in `dlp`'s home
//! (`DLP_HOME`, else `$XDG_STATE_HOME/dlp`, else `~/.local/state/dlp`), created on first use
//! with 256 random bits, readable by its owner only (0600, in a 0700 directory). To share one
//! key across machines, copy the file or set the variable (or give `--fingerprint-key-file`).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use dlp_detect::{Error, ErrorKind, Fingerprints, KEY_LEN};

/// The environment variable that gives the key as 64 hexadecimal digits.
pub const KEY_ENV: &str = "DLP_FINGERPRINT_KEY";

/// The environment variable that names `dlp`'s home directory.
pub const HOME_ENV: &str = "DLP_HOME";

/// The key file's name in `dlp`'s home.
pub const KEY_FILE: &str = "fingerprint.key";

/// Where fingerprints' key comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FingerprintKey {
    /// `DLP_FINGERPRINT_KEY`, else the installation's key file, created on first use.
    #[default]
    Installation,
    /// This key file (64 hexadecimal digits).
    File(PathBuf),
    /// These fingerprints: a key given directly, or plain SHA-256 ([`Fingerprints::Sha256`]),
    /// which anyone can reverse for low-entropy values such as SSNs.
    Given(Fingerprints),
}

impl FingerprintKey {
    /// The fingerprints this source gives, reading or creating the key file as needed.
    pub fn resolve(&self) -> Result<Fingerprints, Error> {
        match self {
            FingerprintKey::Given(f) => Ok(f.clone()),
            FingerprintKey::File(path) => read_key_file(path),
            FingerprintKey::Installation => {
                if let Some(text) = std::env::var_os(KEY_ENV) {
                    let text = text.to_string_lossy();
                    return Fingerprints::from_hex(&text)
                        .map_err(|e| Error::new(ErrorKind::Io, format!("{KEY_ENV}: {e}")));
                }
                let home = home_dir().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Io,
                        format!(
                            "no home directory for the fingerprint key: set {HOME_ENV}, or give \
                             the key in {KEY_ENV} or a key file"
                        ),
                    )
                })?;
                installation_key(&home)
            }
        }
    }
}

/// `dlp`'s home: `DLP_HOME`, else `$XDG_STATE_HOME/dlp`, else `~/.local/state/dlp`.
pub fn home_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(home) = non_empty(HOME_ENV) {
        return Some(PathBuf::from(home));
    }
    if let Some(state) = non_empty("XDG_STATE_HOME") {
        return Some(PathBuf::from(state).join("dlp"));
    }
    non_empty("HOME").map(|home| PathBuf::from(home).join(".local/state/dlp"))
}

/// Reads a key file.
pub fn read_key_file(path: &Path) -> Result<Fingerprints, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(
            format!("cannot read the fingerprint key file {}", path.display()),
            e,
        )
    })?;
    Fingerprints::from_hex(&text)
        .map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", path.display())))
}

/// The key in `home`, created (0600, its directory 0700) with fresh random bytes if there is
/// none yet. Two processes creating it at once end with the same key.
pub fn installation_key(home: &Path) -> Result<Fingerprints, Error> {
    let path = home.join(KEY_FILE);
    if path.exists() {
        return read_key_file(&path);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(home)
        .map_err(|e| Error::io(format!("cannot create {}", home.display()), e))?;
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key)
        .map_err(|e| Error::new(ErrorKind::Io, format!("no random bytes for a key: {e}")))?;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut file) => {
            let text = format!("{}\n", Fingerprints::key_to_hex(&key));
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            Ok(Fingerprints::Keyed(Box::new(key)))
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(&path),
        Err(e) => Err(Error::io(
            format!(
                "cannot create the fingerprint key {} (set {KEY_ENV} or give a key file)",
                path.display()
            ),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_key_is_made_once_private_and_reused() {
        let home = std::env::temp_dir().join(format!("dlp-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let a = installation_key(&home.join("nested")).unwrap();
        let b = installation_key(&home.join("nested")).unwrap();
        assert_eq!(a, b);
        assert!(matches!(a, Fingerprints::Keyed(_)));
        let file = home.join("nested").join(KEY_FILE);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(home.join("nested"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(read_key_file(&file).unwrap(), a);
        std::fs::write(&file, "not a key").unwrap();
        let err = read_key_file(&file).unwrap_err().to_string();
        assert!(err.contains("64 hexadecimal digits"), "{err}");
        std::fs::remove_dir_all(home).unwrap();
    }
}
