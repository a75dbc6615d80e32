//! The connector with the real engine, documents parsed in isolated workers (this test binary,
//! re-run to serve as one): the demo finds every planted value in readable items and keeps the
//! rate limits, and hostile knowledge files end as `skipped` records while the scan goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use dlp_connector::sim::{HOSTILE_FILES, HOSTILE_GPT_NAME};
use dlp_connector::{run_demo, DemoOptions, MemorySink, Record};
use dlp_engine::{EngineBuilder, Isolation, WorkerCommand};

const WORKER_ENV: &str = "DLP_CONNECTOR_TEST_WORKER";

/// Serves as an extraction worker when this test binary is started as one.
#[test]
fn extract_worker_entry() {
    if std::env::var_os(WORKER_ENV).is_some() {
        std::process::exit(dlp_engine::extract::isolate::worker_main());
    }
}

/// An engine whose workers re-run this test binary to execute only `extract_worker_entry`.
fn isolated_engine() -> EngineBuilder {
    let mut command = WorkerCommand::new(std::env::current_exe().unwrap());
    command
        .arg("extract_worker_entry")
        .arg("--exact")
        .arg("--nocapture")
        .arg("--test-threads=1")
        .env(WORKER_ENV, "1");
    let mut engine = EngineBuilder::new();
    engine.isolation(Isolation::Workers {
        command,
        workers: 2,
    });
    engine
}

#[tokio::test]
async fn demo_with_the_engine_finds_every_planted_value() {
    let options = DemoOptions::default();
    let report = run_demo(isolated_engine(), &options, Box::new(MemorySink::new()))
        .await
        .unwrap();
    let missed: Vec<String> = report
        .missed
        .iter()
        .map(|p| format!("{} in {:?}: {}", p.detector, p.item, p.value))
        .collect();
    assert!(missed.is_empty(), "missed {missed:#?}");
    assert!(report.expected > 100, "{}", report.expected);
    assert_eq!(report.rate_limit_violations, 0);
    for (endpoint, max) in &report.max_per_minute {
        assert!(*max <= 100, "{endpoint}: {max}");
    }
    println!(
        "demo: {} planted found, {} other findings, {:.1} min of API time, {:?} real",
        report.found,
        report.unplanted_findings,
        report.api_time.as_secs_f64() / 60.0,
        report.real_time
    );
}

/// The in-process counterpart of `tests/connector_hostile.rs` (which runs the `dlp` binary and
/// measures its memory): every hostile knowledge file is a `skipped` record with an expected
/// reason and the GPT's ids, the value planted beside the zip bomb is found, and so is every
/// other planted value.
#[tokio::test]
async fn hostile_knowledge_files_are_skipped_and_the_scan_goes_on() {
    let options = DemoOptions {
        users: 4,
        hostile_files: true,
        ..DemoOptions::default()
    };
    let sink = MemorySink::new();
    let report = run_demo(isolated_engine(), &options, Box::new(sink.clone()))
        .await
        .unwrap();
    assert!(report.missed.is_empty(), "missed {:#?}", report.missed);
    let mut skips: BTreeMap<String, Vec<(Option<String>, String)>> = BTreeMap::new();
    let mut bomb_findings = 0;
    for record in sink.records() {
        match record {
            Record::Skipped(s) if s.meta.gpt_name.as_deref() == Some(HOSTILE_GPT_NAME) => {
                assert!(s.meta.gpt_id.is_some() && s.meta.file_id.is_some(), "{s:?}");
                skips
                    .entry(s.meta.file_name.clone().unwrap())
                    .or_default()
                    .push((s.member.clone(), s.reason.to_string()));
            }
            Record::Finding(f) if f.meta.file_name.as_deref() == Some("nested_bomb.zip") => {
                assert_eq!(f.member.as_deref(), Some("notes.txt"));
                bomb_findings += 1;
            }
            _ => {}
        }
    }
    for (name, reasons) in HOSTILE_FILES {
        let got = skips
            .get(*name)
            .unwrap_or_else(|| panic!("{name}: no skip in {skips:?}"));
        assert!(
            got.iter().any(|(_, r)| reasons.contains(&r.as_str())),
            "{name}: {got:?}, want one of {reasons:?}"
        );
        let member = got.iter().any(|(m, _)| m.is_some());
        assert_eq!(member, *name == "nested_bomb.zip", "{name}: {got:?}");
    }
    assert_eq!(bomb_findings, 1, "the value beside the bomb is found");
}
