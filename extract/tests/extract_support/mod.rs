//! Shared helpers of the extraction tests: fixtures, event rendering, and a worker pool whose
//! workers are the test binary itself (re-executed to run only `extract_worker_entry`, which
//! every test binary using [`pool`] must define by calling [`worker_entry`]).

#![allow(dead_code)]

pub mod streams;

use std::path::PathBuf;
use std::process::Command;

use dlp_extract::isolate::{worker_main, WorkerPool};
use dlp_extract::{walk, Event, Filter, Limits};

const WORKER_ENV: &str = "DLP_EXTRACT_TEST_WORKER";

/// The body of the `extract_worker_entry` test: serves as a worker when so started.
pub fn worker_entry() {
    if std::env::var_os(WORKER_ENV).is_some() {
        std::process::exit(worker_main());
    }
}

/// A pool whose workers re-run this test binary as a worker.
pub fn pool(workers: usize, limits: Limits) -> WorkerPool {
    pool_with_env(workers, limits, &[])
}

/// [`pool`], with extra environment for the workers (`DLP_TESSERACT`).
pub fn pool_with_env(workers: usize, limits: Limits, env: &[(&str, &str)]) -> WorkerPool {
    let mut command = Command::new(std::env::current_exe().expect("test binary path"));
    command
        .args([
            "extract_worker_entry",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER_ENV, "1");
    for (key, value) in env {
        command.env(key, value);
    }
    WorkerPool::new(command, workers, limits).expect("worker pool starts")
}

/// What the OCR tests need, as the command that installs it.
pub const OCR_INSTALL: &str = "apt-get install tesseract-ocr tesseract-ocr-eng fonts-dejavu-core";

/// Fails the test, naming the install command, when Tesseract or its English data is missing.
pub fn require_tesseract() {
    let listed = Command::new("tesseract").arg("--list-langs").output();
    let ok = listed.is_ok_and(|out| {
        out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l == "eng")
    });
    assert!(
        ok,
        "the OCR tests need Tesseract with its English data on PATH: `{OCR_INSTALL}`"
    );
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo_path("fixtures/docs").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Renders an event as one line: `text [member] (location): ...`, `done [member] type`,
/// `skip [member] reason`.
pub fn render(event: Event<'_>) -> String {
    match event {
        Event::Text {
            member,
            location,
            text,
        } => format!(
            "text [{}] ({}): {}",
            member.unwrap_or(""),
            location.unwrap_or(""),
            text
        ),
        Event::OcrText {
            member,
            location,
            text,
        } => format!(
            "ocr [{}] ({}): {}",
            member.unwrap_or(""),
            location.unwrap_or(""),
            text
        ),
        Event::ItemDone { member, file_type } => {
            format!("done [{}] {}", member.unwrap_or(""), file_type)
        }
        Event::Skipped { member, reason, .. } => {
            format!("skip [{}] {}", member.unwrap_or(""), reason)
        }
    }
}

/// The rendered events of an in-process walk.
pub fn events(data: &[u8], limits: &Limits, filter: &Filter) -> Vec<String> {
    let mut out = Vec::new();
    walk(data, limits, filter, &mut |event| out.push(render(event)));
    out
}

/// The rendered events of a walk in the pool.
pub fn pool_events(pool: &WorkerPool, data: &[u8], filter: &Filter) -> Vec<String> {
    let mut out = Vec::new();
    pool.walk(data, filter, &mut |event| out.push(render(event)));
    out
}

/// The terminal event of the top-level item (the last event), as `(reason or "done", detail)`.
pub fn outcome(data: &[u8], limits: &Limits) -> (String, String) {
    let mut last = (String::new(), String::new());
    walk(data, limits, &Filter::default(), &mut |event| match event {
        Event::ItemDone { member: None, .. } => last = ("done".into(), String::new()),
        Event::Skipped {
            member: None,
            reason,
            detail,
        } => last = (reason.as_str().into(), detail.into()),
        _ => {}
    });
    last
}
