//! The connector's error type: an opaque [`Error`] with a [`kind`](Error::kind) that says what
//! a caller (or the retry layer) should do about it. Messages never contain the API key.

use std::fmt;

/// What went wrong, in the terms that decide what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: the key is missing, invalid or revoked.
    Unauthorized,
    /// 403: the key lacks the Compliance API read scope or is not authorized for the workspace.
    Forbidden,
    /// 404: unknown item, or the workspace is not on an Enterprise/Edu plan.
    NotFound,
    /// 410: the file has expired (uploads are kept 48 hours).
    Expired,
    /// 429: rate limited, and the retry budget is spent.
    Throttled,
    /// 5xx: the server failed, and the retry budget is spent.
    Server,
    /// Connection errors, timeouts and truncated or corrupt bodies, after retries.
    Transient,
    /// Another 4xx: the request was wrong (a bug or an unsupported API version).
    Client,
    /// A response that does not follow the API contract.
    Protocol,
    /// The configuration or the credentials are unusable.
    Config,
    /// The state database is unusable, or belongs to another workspace.
    State,
    /// Writing output or evidence failed.
    Output,
    /// The scan was stopped on purpose (shutdown or a test's crash hook).
    Aborted,
    /// The connector registry has no connector of that name.
    UnknownConnector,
    /// A connector of that name, or for that workspace, is already registered.
    AlreadyRegistered,
    /// The connector registry's files are unusable (unreadable, corrupt, not writable).
    Registry,
}

impl ErrorKind {
    /// Whether a retry may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Server | ErrorKind::Transient
        )
    }

    /// Whether a polling loop ([`crate::Connector::watch`]) must stop on this error rather
    /// than try again at its next poll: a refused key (`Unauthorized`, `Forbidden`) or an
    /// unusable state, which waiting does not mend, and the failures that cannot come from the
    /// API (`Config`, a deliberate stop). A server or network failure, a throttled or refused
    /// request, or an output that could not be written are tried again: the state keeps what
    /// was done.
    pub fn ends_polling(self) -> bool {
        matches!(
            self,
            ErrorKind::Unauthorized
                | ErrorKind::Forbidden
                | ErrorKind::State
                | ErrorKind::Config
                | ErrorKind::Aborted
                | ErrorKind::UnknownConnector
                | ErrorKind::AlreadyRegistered
                | ErrorKind::Registry
        )
    }
}

/// An error from the connector.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            status: None,
        }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Error {
        self.status = Some(status);
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status that caused it, if any.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::new(ErrorKind::State, format!("state database: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::new(ErrorKind::Output, format!("I/O: {e}"))
    }
}
