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
    /// Wraps a key. Surrounding ASCII whitespace (a trailing newline in a key file) is removed.
    ///
    /// Keys are printable ASCII. Anything else is refused here, with what is wrong and where
    /// (never the key itself), because it cannot be sent in an HTTP header: a byte-order mark
    /// left by an editor, a non-ASCII character from a formatted document, whitespace inside.
    /// Left to the HTTP client, such a key would fail every request as a transport error and be
    /// retried as if the server were at fault.
    pub fn new(key: impl Into<String>) -> Result<ApiKey, Error> {
        let key = key.into();
        let key = key.trim_matches(|c: char| c.is_ascii_whitespace());
        let bad = |what: String| Err(Error::new(ErrorKind::Config, what));
        if key.is_empty() {
            return bad("the API key is empty".into());
        }
        if key.starts_with('\u{feff}') {
            return bad(
                "the API key starts with a byte-order mark (U+FEFF): save it as plain ASCII \
                 text without a BOM"
                    .into(),
            );
        }
        if let Some((at, c)) = key.char_indices().find(|(_, c)| !c.is_ascii()) {
            let position = key[..at].chars().count() + 1;
            return bad(format!(
                "the API key has a non-ASCII character (U+{:04X}) at position {position}: keys \
                 are printable ASCII; copy the key again as plain text",
                u32::from(c)
            ));
        }
        if key.chars().any(|c| c.is_ascii_whitespace()) {
            return bad(
                "the API key contains whitespace: a key is one word; is the file holding \
                 something else, or two keys?"
                    .into(),
            );
        }
        if key.chars().any(|c| c.is_ascii_control()) {
            return bad("the API key contains control characters".into());
        }
        Ok(ApiKey(key.to_string()))
    }

    /// Reads the key from `file` when given, else from `OPENAI_COMPLIANCE_API_KEY`.
    pub fn load(file: Option<&Path>) -> Result<ApiKey, Error> {
        match file {
            Some(path) => ApiKey::from_file(path),
            None => match std::env::var_os(API_KEY_ENV) {
                Some(key) => match key.into_string() {
                    Ok(key) => ApiKey::new(key)
                        .map_err(|e| Error::new(e.kind(), format!("{API_KEY_ENV}: {e}"))),
                    Err(_) => Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "{API_KEY_ENV}: the API key has non-ASCII bytes: keys are printable \
                             ASCII"
                        ),
                    )),
                },
                None => Err(Error::new(
                    ErrorKind::Config,
                    format!("no API key: set {API_KEY_ENV} or pass --api-key-file"),
                )),
            },
        }
    }

    /// Reads the key from a file (its only content, a trailing newline allowed). The error
    /// names the file and what is wrong with its content, never the content.
    pub fn from_file(path: &Path) -> Result<ApiKey, Error> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read the API key file {}: {e}", path.display()),
            )
        })?;
        let in_file = |what: String| {
            Error::new(
                ErrorKind::Config,
                format!("API key file {}: {what}", path.display()),
            )
        };
        // Checked on bytes: a key file in UTF-16 or Latin-1 is not valid UTF-8 at all.
        if let Some(at) = bytes.iter().position(|b| !b.is_ascii()) {
            if bytes.starts_with(&[0xef, 0xbb, 0xbf])
                || bytes.starts_with(&[0xff, 0xfe])
                || bytes.starts_with(&[0xfe, 0xff])
            {
                return Err(in_file(
                    "it starts with a byte-order mark: save the key as plain ASCII text \
                     without a BOM (e.g. `printf %s KEY > FILE`)"
                        .into(),
                ));
            }
            return Err(in_file(format!(
                "it has a non-ASCII byte at offset {at}: keys are printable ASCII; copy the \
                 key again as plain text"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| in_file("not ASCII".into()))?;
        ApiKey::new(text).map_err(|e| in_file(e.to_string()))
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

    #[test]
    fn keys_that_cannot_be_sent_are_refused_with_the_reason() {
        for (text, reason) in [
            ("", "empty"),
            (" \n", "empty"),
            ("\u{feff}sk-abc", "byte-order mark"),
            ("sk-\u{e9}abc", "non-ASCII character (U+00E9) at position 4"),
            ("sk-\u{a0}abc", "non-ASCII"),
            ("sk-abc def", "whitespace"),
            ("sk-abc\tdef", "whitespace"),
            ("sk-abc\u{7f}", "control"),
        ] {
            let err = ApiKey::new(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(reason), "{text:?}: {err}");
            assert!(!err.to_string().contains("abc"), "{err}");
        }
        assert_eq!(ApiKey::new("  sk-abc\r\n").unwrap().expose(), "sk-abc");
    }

    #[test]
    fn key_files_with_a_bom_or_other_bytes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (content, reason) in [
            (&b"\xef\xbb\xbfsk-abc\n"[..], "byte-order mark"),
            (&b"\xff\xfes\x00k\x00"[..], "byte-order mark"),
            (&b"sk-\xe9abc"[..], "non-ASCII byte at offset 3"),
            (&b"\n"[..], "empty"),
            (&b"sk-abc\nsk-def\n"[..], "whitespace"),
        ] {
            let path = dir.path().join("key");
            std::fs::write(&path, content).unwrap();
            let err = ApiKey::from_file(&path).unwrap_err();
            assert!(err.to_string().contains(reason), "{err}");
            assert!(err.to_string().contains("API key file"), "{err}");
        }
        std::fs::write(dir.path().join("key"), "sk-abc\n").unwrap();
        let key = ApiKey::from_file(&dir.path().join("key")).unwrap();
        assert_eq!(key.expose(), "sk-abc");
    }
}
