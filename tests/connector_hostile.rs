//! `dlp chatgpt demo --hostile-files`: hostile knowledge files served by the simulator end as
//! `skipped` records with their reasons, every other planted value is found, and the connector
//! process's peak memory stays bounded while an isolated worker is killed for inflating a PDF
//! stream to 1 GiB (the regression of the connector's in-process extraction: a stack overflow
//! that aborted `dlp chatgpt scan`, and 8.5 GB for one PDF).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dlp_connector::sim::{HOSTILE_FILES, HOSTILE_GPT_NAME};

/// The connector's own peak resident memory must stay under this (its figure is printed). It
/// includes the embedded simulator, which holds the 50 MiB `oversize.txt`; the 1 GiB inflation
/// happens in a worker process, whose memory is capped separately.
const PEAK_RSS_BOUND_KB: u64 = 256 * 1024;

/// `VmHWM` (peak resident set) of a live process, in KiB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn chatgpt_hostile_files_are_skipped_and_memory_stays_bounded() {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dlp"))
        .env("DLP_HOME", crate::util::test_home())
        .args([
            "chatgpt",
            "demo",
            "--hostile-files",
            "--users",
            "4",
            "--format",
            "jsonl",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dlp starts");
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    // VmHWM only grows: the last reading before the process exits is its peak (to within the
    // last few milliseconds, when it is shutting down).
    let mut peak_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Some(kb) = peak_rss_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the scan did not end"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains(" 0 missed"), "{stderr}");

    let mut skips: BTreeMap<String, Vec<(Option<String>, String)>> = BTreeMap::new();
    let mut beside_the_bomb = 0;
    for line in stdout.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = r["file_name"].as_str().unwrap_or_default().to_string();
        if r["record"] == "skipped" && r["gpt_name"] == HOSTILE_GPT_NAME {
            assert!(r["gpt_id"].is_string() && r["file_id"].is_string(), "{r}");
            let member = r["member"].as_str().map(str::to_string);
            skips
                .entry(file)
                .or_default()
                .push((member, r["reason"].as_str().unwrap().to_string()));
        } else if r["record"] == "finding" && file == "nested_bomb.zip" {
            assert_eq!(r["member"], "notes.txt", "{r}");
            beside_the_bomb += 1;
        }
    }
    for (name, reasons) in HOSTILE_FILES {
        let got = skips
            .get(*name)
            .unwrap_or_else(|| panic!("{name}: no skipped record in {skips:?}"));
        assert!(
            got.iter().any(|(_, r)| reasons.contains(&r.as_str())),
            "{name}: {got:?}, want one of {reasons:?}"
        );
        // The bomb is a member of a file that also had a finding; the others are whole files.
        let in_member = got.iter().all(|(m, _)| m.is_some());
        assert_eq!(in_member, *name == "nested_bomb.zip", "{name}: {got:?}");
    }
    assert_eq!(beside_the_bomb, 1, "the value planted beside the bomb");

    println!(
        "dlp chatgpt demo --hostile-files: peak RSS of the connector process {:.1} MiB \
         (bound {} MiB), {:.1} s",
        peak_kb as f64 / 1024.0,
        PEAK_RSS_BOUND_KB / 1024,
        started.elapsed().as_secs_f64()
    );
    assert!(peak_kb > 0, "VmHWM was read");
    assert!(
        peak_kb < PEAK_RSS_BOUND_KB,
        "peak RSS {peak_kb} KiB over {PEAK_RSS_BOUND_KB} KiB"
    );
}
