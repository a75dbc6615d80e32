//! `dlp scan` of a large compressed file (issue #15: a 300 MB text gzipped was skipped as
//! `limit_exceeded` after using 852 MB of memory): its text streams out of the worker into the
//! scanner, so memory stays bounded whatever the content's size.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{temp_dir, test_home};

/// Writes `blocks` MiB of seeded text, gzipped (fastest level), to `path`, with a card number
/// on the first line, an AWS key at the start of the middle block and an SSN as the last line.
/// Returns the number of lines (the SSN's line) and the middle block's first line.
fn write_gzipped_text(path: &std::path::Path, blocks: usize) -> (u64, u64) {
    const WORDS: [&str; 10] = [
        "ledger",
        "of",
        "the",
        "quarterly",
        "meeting",
        "shipment",
        "notes",
        "review",
        "budget",
        "invoice",
    ];
    // One MiB of lines, varied by a seeded generator, written again and again (deflate's
    // window is 32 KiB, so each copy is compressed anew).
    let mut block = Vec::with_capacity(1 << 20);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut words = 0;
    while block.len() < (1 << 20) - 64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        block.extend_from_slice(WORDS[(state % 10) as usize].as_bytes());
        words += 1;
        block.push(if words % 9 == 0 { b'\n' } else { b' ' });
    }
    block.push(b'\n');
    let block_lines = block.iter().filter(|&&b| b == b'\n').count() as u64;
    let file = std::fs::File::create(path).unwrap();
    let mut gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    let mut lines = 0;
    let mut middle_line = 0;
    gz.write_all(b"card 4111 1111 1111 1111\n").unwrap();
    lines += 1;
    for i in 0..blocks {
        if i == blocks / 2 {
            middle_line = lines + 1;
            gz.write_all(b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")
                .unwrap();
            lines += 1;
        }
        gz.write_all(&block).unwrap();
        lines += block_lines;
    }
    gz.write_all(b"ssn: 536-22-8813").unwrap();
    lines += 1;
    gz.finish().unwrap().flush().unwrap();
    (lines, middle_line)
}

/// The peak resident memory (VmHWM) of a live process, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The children of a live process.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Regression test for issue #15: 256 MiB of text in a gzip file of about 70 MiB is scanned
/// whole (findings at its start, middle and very end, with their lines), by a worker, in
/// bounded memory: the peak resident memory of `dlp` and of its worker (each process's
/// VmHWM, sampled from /proc while it runs) stays under 100 MiB, far below the content.
#[test]
fn a_large_gzip_streams_in_bounded_memory() {
    const CONTENT_MIB: usize = 256;
    let dir = temp_dir("gzip-memory");
    let path = dir.join("big.txt.gz");
    let started = std::time::Instant::now();
    let (lines, middle_line) = write_gzipped_text(&path, CONTENT_MIB);
    let written = started.elapsed();
    let summary = dir.join("summary.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dlp"))
        .env("DLP_HOME", test_home())
        .env_remove("DLP_FINGERPRINT_KEY")
        .args(["scan", "--format", "jsonl", "-q", "--summary"])
        .arg(&summary)
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Each process's own high-water mark, read while it lives (the last reading is at most
    // 20 ms old). Not wait4's ru_maxrss: a child started by this (large, multi-test) process
    // inherits this process's resident size as its maximum when it execs.
    let (mut dlp_peak, mut worker_peak, mut workers_seen) = (0u64, 0u64, Vec::new());
    // Output is small (three findings): the pipes cannot fill up while this samples.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        dlp_peak = dlp_peak.max(peak_kib(pid).unwrap_or(0));
        for worker in children(pid) {
            if !workers_seen.contains(&worker) {
                workers_seen.push(worker);
            }
            worker_peak = worker_peak.max(peak_kib(worker).unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let scanned = started.elapsed() - written;
    let mut stdout = String::new();
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{stderr}");
    let findings: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, u64, &str)> = findings
        .iter()
        .map(|f| {
            (
                f["detector"].as_str().unwrap(),
                f["line"].as_u64().unwrap(),
                f["member"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("credit_card", 1, "content"),
            ("aws_access_key_id", middle_line, "content"),
            ("us_ssn", lines, "content"),
        ],
        "{stderr}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["items_scanned"], 2, "{s}");
    assert_eq!(s["items_skipped"], serde_json::json!({}), "{s}");
    assert_eq!(workers_seen.len(), 1, "the gzip was inflated by one worker");
    eprintln!(
        "{CONTENT_MIB} MiB of gzipped text ({} MiB), written in {written:.1?}, scanned in \
         {scanned:.1?}: peak RSS of dlp {} MiB, of its worker {} MiB",
        std::fs::metadata(&path).unwrap().len() >> 20,
        dlp_peak >> 10,
        worker_peak >> 10
    );
    let limit_kib = 100 << 10;
    assert!(dlp_peak > 0 && worker_peak > 0);
    assert!(dlp_peak < limit_kib, "dlp's peak RSS {dlp_peak} KiB");
    assert!(
        worker_peak < limit_kib,
        "the worker's peak RSS {worker_peak} KiB"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
