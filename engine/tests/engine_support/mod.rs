//! Shared by the engine's test binaries: extraction workers that are the test binary itself,
//! re-run to serve as a worker (every binary using [`worker_command`] defines the test
//! `extract_worker_entry` by calling [`worker_entry`]).

#![allow(dead_code)]

use dlp_engine::WorkerCommand;

const WORKER_ENV: &str = "DLP_ENGINE_TEST_WORKER";

/// The body of the `extract_worker_entry` test: serves as a worker when so started.
pub fn worker_entry() {
    if std::env::var_os(WORKER_ENV).is_some() {
        std::process::exit(dlp_engine::extract::isolate::worker_main());
    }
}

/// The command that re-runs this test binary as an extraction worker.
pub fn worker_command() -> WorkerCommand {
    let mut command = WorkerCommand::new(std::env::current_exe().expect("test binary path"));
    for arg in [
        "extract_worker_entry",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ] {
        command.arg(arg);
    }
    command.env(WORKER_ENV, "1");
    command
}
