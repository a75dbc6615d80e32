//! Robustness on the public corpus of real, often damaged documents (`../shared/corpus/`,
//! relative to the repository root): every file must end as extracted text or as a skip with a
//! reason, through the isolating worker pool, with no crash and no hang.
//!
//! `corpus_is_fully_accounted_for` walks every file (about 2 s in a debug build; set
//! `DLP_CORPUS_STRIDE=N` to walk only every N-th file in sorted order). `corpus_throughput` (ignored; run with
//! `--release -- --ignored --nocapture`) walks everything with one worker and prints files/s
//! and MB/s per detected type, `pdftotext` on the same PDFs in the same run, and peak memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dlp_extract::{Event, FileType, Filter, Limits};
use extract_support::{pool, repo_path};

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

/// The tests proper, in a module so that `cargo test extract` selects them.
mod extract {
    #![allow(clippy::wildcard_imports)]
    use super::*;

    fn corpus_files() -> Option<Vec<PathBuf>> {
        let root = repo_path("../shared/corpus");
        if !root.is_dir() {
            eprintln!("corpus not found at {}: skipped", root.display());
            return None;
        }
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("corpus directory is readable") {
                let path = entry.expect("corpus entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.file_name().is_some_and(|n| n != "README.md") {
                    files.push(path);
                }
            }
        }
        files.sort();
        Some(files)
    }

    fn limits() -> Limits {
        Limits {
            time_per_item: Duration::from_secs(10),
            max_worker_memory: 1 << 30,
            ..Limits::default()
        }
    }

    /// What one walk ended as: the top-level outcome and the text extracted.
    struct Walked {
        outcome: String,
        terminals: usize,
        last_is_terminal: bool,
        text: String,
    }

    fn walk_file(pool: &dlp_extract::isolate::WorkerPool, data: &[u8]) -> Walked {
        let mut walked = Walked {
            outcome: String::new(),
            terminals: 0,
            last_is_terminal: false,
            text: String::new(),
        };
        pool.walk(data, &Filter::default(), &mut |event| {
            walked.last_is_terminal = false;
            match event {
                Event::Text { text, .. } => {
                    walked.text.push_str(text);
                    walked.text.push('\n');
                }
                Event::ItemDone { member: None, .. } => {
                    walked.outcome = "done".into();
                    walked.terminals += 1;
                    walked.last_is_terminal = true;
                }
                Event::Skipped {
                    member: None,
                    reason,
                    ..
                } => {
                    walked.outcome = reason.as_str().into();
                    walked.terminals += 1;
                    walked.last_is_terminal = true;
                }
                _ => {}
            }
        });
        walked
    }

    #[test]
    fn corpus_is_fully_accounted_for() {
        let Some(files) = corpus_files() else { return };
        let stride: usize = std::env::var("DLP_CORPUS_STRIDE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let pool = pool(2, limits());
        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        let started = Instant::now();
        let sample: Vec<&PathBuf> = files.iter().step_by(stride).collect();
        // Two threads share the pool, as a scan does.
        let results: Vec<(PathBuf, Walked)> = std::thread::scope(|scope| {
            let halves: Vec<Vec<&PathBuf>> = vec![
                sample.iter().copied().step_by(2).collect(),
                sample.iter().copied().skip(1).step_by(2).collect(),
            ];
            let handles: Vec<_> = halves
                .into_iter()
                .map(|paths| {
                    let pool = &pool;
                    scope.spawn(move || {
                        paths
                            .into_iter()
                            .map(|path| {
                                let data = std::fs::read(path).expect("corpus file is readable");
                                (path.clone(), walk_file(pool, &data))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("walker thread"))
                .collect()
        });
        for (path, walked) in &results {
            assert_eq!(walked.terminals, 1, "{}", path.display());
            assert!(walked.last_is_terminal, "{}", path.display());
            *outcomes.entry(walked.outcome.clone()).or_default() += 1;
        }
        assert_eq!(results.len(), sample.len());
        eprintln!(
            "{} of {} corpus files in {:.1?}: {outcomes:?}",
            sample.len(),
            files.len(),
            started.elapsed()
        );
        assert!(outcomes.get("done").copied().unwrap_or(0) * 2 > sample.len());
    }

    fn words(text: &str) -> std::collections::HashSet<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect()
    }

    /// Per detected type: files, bytes, seconds, outcomes.
    type TypeStats = (usize, u64, f64, BTreeMap<String, usize>);

    #[test]
    #[ignore = "measurement: run with --release -- --ignored --nocapture"]
    fn corpus_throughput() {
        let Some(files) = corpus_files() else { return };
        let pool = pool(1, limits());
        let mut per_type: BTreeMap<&'static str, TypeStats> = BTreeMap::new();
        let mut pdfs: Vec<(PathBuf, String, f64)> = Vec::new();
        let total = Instant::now();
        for path in &files {
            let data = std::fs::read(path).expect("corpus file is readable");
            let file_type = dlp_extract::detect(&data);
            let started = Instant::now();
            let walked = walk_file(&pool, &data);
            let seconds = started.elapsed().as_secs_f64();
            let row = per_type.entry(file_type.name()).or_default();
            row.0 += 1;
            row.1 += data.len() as u64;
            row.2 += seconds;
            *row.3.entry(walked.outcome.clone()).or_default() += 1;
            if file_type == FileType::Pdf {
                pdfs.push((path.clone(), walked.text, seconds));
            }
        }
        let ours_total = total.elapsed().as_secs_f64();
        drop(pool);
        let worker_peak_kib = children_max_rss_kib();

        println!("| type | files | MB | files/s | MB/s | outcomes |");
        println!("|---|---|---|---|---|---|");
        for (name, (n, bytes, secs, outcomes)) in &per_type {
            let mb = *bytes as f64 / 1e6;
            println!(
                "| {name} | {n} | {mb:.1} | {:.0} | {:.2} | {outcomes:?} |",
                *n as f64 / secs,
                mb / secs
            );
        }
        println!("all {} files in {ours_total:.1} s", files.len());

        // pdftotext on the same PDFs, in the same run, with the same 10 s budget.
        let mut their_secs = 0.0;
        let mut their_failures = 0;
        let mut their_words = 0usize;
        let mut shared_words = 0usize;
        let mut ours_empty_theirs_not = 0;
        let pdf_bytes: u64 = pdfs
            .iter()
            .map(|(p, _, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum();
        for (path, ours, _) in &pdfs {
            let started = Instant::now();
            let output = std::process::Command::new("timeout")
                .args(["10", "pdftotext", "-q"])
                .arg(path)
                .arg("-")
                .output();
            their_secs += started.elapsed().as_secs_f64();
            let Ok(output) = output else {
                eprintln!("pdftotext not installed: comparison skipped");
                return;
            };
            if !output.status.success() {
                their_failures += 1;
            }
            let theirs = words(&String::from_utf8_lossy(&output.stdout));
            let ours = words(ours);
            their_words += theirs.len();
            shared_words += theirs.intersection(&ours).count();
            if ours.is_empty() && !theirs.is_empty() {
                ours_empty_theirs_not += 1;
            }
        }
        let ours_secs: f64 = pdfs.iter().map(|(_, _, s)| s).sum();
        println!(
        "pdf: ours {} files in {ours_secs:.1} s ({:.0} files/s, {:.2} MB/s); pdftotext {their_secs:.1} s ({:.0} files/s, {:.2} MB/s), {their_failures} failures",
        pdfs.len(),
        pdfs.len() as f64 / ours_secs,
        pdf_bytes as f64 / 1e6 / ours_secs,
        pdfs.len() as f64 / their_secs,
        pdf_bytes as f64 / 1e6 / their_secs,
    );
        println!(
        "pdf text: {:.1}% of pdftotext's distinct words found by ours; {ours_empty_theirs_not} files empty for us but not for pdftotext",
        100.0 * shared_words as f64 / their_words.max(1) as f64
    );
        println!(
            "peak RSS: walker process {} MiB, largest worker {} MiB, largest child incl. pdftotext {} MiB",
            self_max_rss_kib() / 1024,
            worker_peak_kib / 1024,
            children_max_rss_kib() / 1024
        );
    }

    fn rusage(who: libc::c_int) -> i64 {
        // SAFETY: getrusage writes into the zeroed struct we own.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut usage);
            usage.ru_maxrss
        }
    }

    fn children_max_rss_kib() -> i64 {
        rusage(libc::RUSAGE_CHILDREN)
    }

    fn self_max_rss_kib() -> i64 {
        rusage(libc::RUSAGE_SELF)
    }

    #[test]
    #[ignore = "diagnosis: prints every corpus file that is not read, with the reason and detail"]
    fn corpus_report() {
        let Some(files) = corpus_files() else { return };
        let pool = pool(2, limits());
        for path in &files {
            let data = std::fs::read(path).expect("corpus file is readable");
            let file_type = dlp_extract::detect(&data);
            pool.walk(&data, &Filter::default(), &mut |event| {
                if let Event::Skipped {
                    member,
                    reason,
                    detail,
                } = event
                {
                    println!(
                        "{}\t{file_type}\t{}\t{reason}\t{detail}",
                        path.display(),
                        member.unwrap_or("-")
                    );
                }
            });
        }
    }
}
