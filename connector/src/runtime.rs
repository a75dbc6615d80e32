//! The async runtime of a program that runs the connector, for callers (the CLI) that do not
//! depend on tokio themselves: a multi-threaded runtime, and Ctrl-C as a shutdown future.
//! Document inspection runs on this runtime's blocking pool, never on its worker threads.

use crate::error::{Error, ErrorKind};

/// A multi-threaded tokio runtime with I/O and timers enabled.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// Completes on Ctrl-C (SIGINT). If the signal cannot be watched, it never completes.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
