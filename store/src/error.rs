//! What can go wrong: [`Error`] for URLs, opening a store, listing and writing; [`ReadError`]
//! for reading one object, which a scan turns into a skip. Messages name the URL and say what
//! to do; they never hold a secret key or a session token (the store scrubs them out of what
//! object_store reports before an error is made).

use dlp_extract::SkipReason;

/// What kind of [`Error`] happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not an object URL (`s3:/x`, an empty bucket, a bad key).
    InvalidUrl,
    /// No credentials in the environment, and no instance metadata service to ask.
    NoCredentials,
    /// The settings cannot make a store (one of a key pair missing, a bad endpoint or value).
    Config,
    /// The bucket does not exist.
    NotFound,
    /// The credentials were refused, or do not allow the operation.
    AccessDenied,
    /// The server or the network failed (after the retries).
    Other,
}

/// An error of object storage: a bad URL, missing credentials, a listing or write that failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// What kind of [`ReadError`] happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// There is no such object (or bucket).
    NotFound,
    /// The object is larger than the maximum asked for; it was not downloaded.
    TooLarge {
        /// The object's size in bytes.
        size: u64,
        /// The maximum asked for.
        max: u64,
    },
    /// The credentials were refused, or do not allow reading the object.
    AccessDenied,
    /// The server or the network failed (after the retries), or the key is not addressable.
    Other,
}

/// Why an object could not be read. [`ReadError::skip_reason`] says what a scan reports it as.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ReadError {
    kind: ReadErrorKind,
    message: String,
}

impl ReadError {
    pub(crate) fn new(kind: ReadErrorKind, message: impl Into<String>) -> Self {
        ReadError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ReadErrorKind {
        self.kind
    }

    /// The skip a scan reports for the object: `not_found`, `too_large`, or `unreadable`
    /// (access denied, network, server).
    pub fn skip_reason(&self) -> SkipReason {
        match self.kind {
            ReadErrorKind::NotFound => SkipReason::NotFound,
            ReadErrorKind::TooLarge { .. } => SkipReason::TooLarge,
            ReadErrorKind::AccessDenied | ReadErrorKind::Other => SkipReason::Unreadable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_errors_become_skips() {
        let cases = [
            (ReadErrorKind::NotFound, SkipReason::NotFound),
            (
                ReadErrorKind::TooLarge { size: 2, max: 1 },
                SkipReason::TooLarge,
            ),
            (ReadErrorKind::AccessDenied, SkipReason::Unreadable),
            (ReadErrorKind::Other, SkipReason::Unreadable),
        ];
        for (kind, reason) in cases {
            assert_eq!(ReadError::new(kind, "x").skip_reason(), reason, "{kind:?}");
        }
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn assert<T: Send + Sync + 'static>() {}
        assert::<Error>();
        assert::<ReadError>();
    }
}
