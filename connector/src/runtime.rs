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

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what `systemctl stop` and `kill` send), whichever
/// comes first; each call waits for a new signal. If the signals cannot be watched, it never
/// completes.
pub async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return ctrl_c().await;
    };
    tokio::select! {
        () = ctrl_c() => {}
        _ = term.recv() => {}
    }
}
