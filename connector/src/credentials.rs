//! The Compliance API key: where it comes from, and the guarantee that it is never shown.

use std::fmt;
use std::path::Path;

use crate::error::{Error, ErrorKind};

/// The environment variable the key is read from.
pub const API_KEY_ENV: &str = "OPENAI_COMPLIANCE_API_KEY";

/// A Compliance API key. Its `Debug` and `Display` print `<redacted>`; only the HTTP client
/// reads the secret.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. Surrounding whitespace (a trailing newline in a key file) is removed.
    pub fn new(key: impl Into<String>) -> Result<ApiKey, Error> {
        let key = key.into().trim().to_string();
        if key.is_empty() {
            return Err(Error::new(ErrorKind::Config, "the API key is empty"));
        }
        if key.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::new(
                ErrorKind::Config,
                "the API key contains whitespace or control characters",
            ));
        }
        Ok(ApiKey(key))
    }

    /// Reads the key from `file` when given, else from `OPENAI_COMPLIANCE_API_KEY`.
    pub fn load(file: Option<&Path>) -> Result<ApiKey, Error> {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("cannot read the API key file {}: {e}", path.display()),
                    )
                })?;
                ApiKey::new(text)
            }
            None => match std::env::var(API_KEY_ENV) {
                Ok(key) => ApiKey::new(key),
                Err(_) => Err(Error::new(
                    ErrorKind::Config,
                    format!("no API key: set {API_KEY_ENV} or pass --api-key-file"),
                )),
            },
        }
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_never_printed() {
        let key = ApiKey::new("sk-secret-123\n").unwrap();
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(format!("{key}"), "<redacted>");
        assert_eq!(key.expose(), "sk-secret-123");
    }
}
