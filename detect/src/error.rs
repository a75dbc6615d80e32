//! The detection crate's error type: opaque, with a [`ErrorKind`] to branch on and a message that names the
//! input and what to do about it.

use std::fmt;

/// What went wrong, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A rule file could not be read or parsed, or one of its rules is invalid.
    Rules,
    /// A detector id given to the builder does not exist.
    UnknownDetector,
    /// Reading an input failed.
    Io,
    /// A scanning thread died (a bug): the scan's findings are incomplete.
    Internal,
    /// A setting is not valid (a glob pattern of a bulk scan's selection, ...).
    Config,
}

/// An error from building an engine or reading its input.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with a message for a person (name the input and what to do). Public
    /// so that the crates composing detection (`dlp-engine`) report through the same type.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An [`ErrorKind::Io`] error: `context` says what was being read.
    pub fn io(context: impl Into<String>, err: std::io::Error) -> Self {
        Error {
            kind: ErrorKind::Io,
            message: format!("{}: {err}", context.into()),
            source: Some(Box::new(err)),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
