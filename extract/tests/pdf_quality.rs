//! PDF text quality against `pdftotext -layout` (poppler-utils) on the public corpus
//! (`../shared/corpus/pdf`, read in place).
//!
//! `pdf_text_quality` (ignored: run it with `bash .ci/pdf-quality`, or
//! `cargo test --release -p dlp-extract --test pdf_quality -- --ignored --nocapture`) walks every
//! PDF of the corpus through the isolated worker pool, keeps those on which `pdftotext -layout`
//! finds at least 5 words, and compares distinct words per file: a word is a maximal run of
//! letters and digits of the NFKC-normalised, lower-cased text. Recall is the share of
//! pdftotext's words that we find, precision the share of ours that pdftotext finds. It prints
//! the mean and median recall, the share of files below 0.8, the mean precision, how many of the
//! kept files end as `broken_file`, and files per second (ours and pdftotext's), and fails under
//! the targets of issue 12: mean recall >= 0.95, share below 0.8 <= 5%, no kept file
//! `broken_file`, mean precision >= 0.95. Text recognised by OCR on pages without a text layer
//! is left out of the comparison (pdftotext reads no images) and counted apart: the pages with
//! OCR text, and the files they are in.
//!
//! pdftotext's output is cached under the target directory (keyed by file name and size), so
//! that runs after the first one only time our side. Environment: `PDF_QUALITY_FILTER=substring`
//! keeps only matching file names (diagnosis; the targets are then not asserted);
//! `PDF_QUALITY_REPORT=path` writes one tab-separated line per kept file (recall, precision,
//! outcome, name, a few missed and extra words); `PDF_QUALITY_SHOW=1` prints both texts of
//! every file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod extract_support;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dlp_extract::{Event, Filter, Limits};
use extract_support::{pool, repo_path};
use unicode_normalization::UnicodeNormalization;

#[test]
fn extract_worker_entry() {
    extract_support::worker_entry();
}

/// The distinct words of a text: maximal runs of letters and digits, NFKC, lower case.
fn words(text: &str) -> HashSet<String> {
    let normal: String = text.nfkc().collect();
    normal
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn word_count(text: &str) -> usize {
    let normal: String = text.nfkc().collect();
    normal
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count()
}

/// pdftotext's text of a file and the seconds it took, from the cache when there.
fn pdftotext(path: &Path, cache: &Path) -> Option<(String, f64)> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let size = std::fs::metadata(path).ok()?.len();
    let text_path = cache.join(format!("{name}.{size}.txt"));
    let secs_path = cache.join(format!("{name}.{size}.secs"));
    if let (Ok(text), Ok(secs)) = (
        std::fs::read_to_string(&text_path),
        std::fs::read_to_string(&secs_path),
    ) {
        if let Ok(secs) = secs.trim().parse() {
            return Some((text, secs));
        }
    }
    let started = Instant::now();
    let output = Command::new("timeout")
        .args(["10", "pdftotext", "-q", "-layout"])
        .arg(path)
        .arg("-")
        .output()
        .ok()?;
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    std::fs::write(&text_path, &text).ok()?;
    std::fs::write(&secs_path, format!("{secs}")).ok()?;
    Some((text, secs))
}

fn pdftotext_available() -> bool {
    Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
}

/// Our text of one file through the pool, the top-level outcome, and how many pages were
/// OCR'd (their text is left out: pdftotext reads no images, so OCR'd words cannot be compared).
fn ours(pool: &dlp_extract::isolate::WorkerPool, data: &[u8]) -> (String, String, usize) {
    let mut text = String::new();
    let mut outcome = String::new();
    let mut ocr_pages = 0;
    pool.walk(data, &Filter::default(), &mut |event| match event {
        Event::OcrText { .. } => ocr_pages += 1,
        Event::Text { text: t, .. } => {
            text.push_str(t);
            text.push('\n');
        }
        Event::ItemDone { member: None, .. } => outcome = "done".into(),
        Event::Skipped {
            member: None,
            reason,
            detail,
        } => {
            outcome = reason.as_str().into();
            if std::env::var_os("PDF_QUALITY_SHOW").is_some() {
                println!("skip detail: {detail}");
            }
        }
        _ => {}
    });
    (text, outcome, ocr_pages)
}

struct FileScore {
    name: String,
    recall: f64,
    precision: Option<f64>,
    outcome: String,
    missed: Vec<String>,
    extra: Vec<String>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn sample(set: &HashSet<&String>, n: usize) -> Vec<String> {
    let mut v: Vec<String> = set.iter().map(|s| (*s).clone()).collect();
    v.sort();
    v.truncate(n);
    v
}

#[test]
#[ignore = "measurement: bash .ci/pdf-quality (needs pdftotext and ../shared/corpus/pdf)"]
fn pdf_text_quality() {
    let root = repo_path("../shared/corpus/pdf");
    if !root.is_dir() {
        eprintln!("corpus not found at {}: skipped", root.display());
        return;
    }
    assert!(
        pdftotext_available(),
        "pdftotext not found: install poppler-utils (bash .ci/pdf-quality does)"
    );
    let filter = std::env::var("PDF_QUALITY_FILTER").ok();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("corpus directory is readable") {
            let path = entry.expect("corpus entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| {
                n != "README.md"
                    && filter
                        .as_deref()
                        .is_none_or(|f| n.to_string_lossy().contains(f))
            }) {
                files.push(path);
            }
        }
    }
    files.sort();
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pdf-quality-pdftotext");
    std::fs::create_dir_all(&cache).expect("cache directory");

    let limits = Limits {
        time_per_item: Duration::from_secs(10),
        max_worker_memory: 1 << 30,
        ..Limits::default()
    };
    let pool = pool(1, limits);
    let mut scores: Vec<FileScore> = Vec::new();
    let (mut our_secs, mut their_secs) = (0.0, 0.0);
    let mut all_files = 0usize;
    // Files with OCR'd pages and those pages: among all files, among the kept ones.
    let (mut ocr_files, mut ocr_pages, mut ocr_kept) = (0usize, 0usize, 0usize);
    for path in &files {
        let data = std::fs::read(path).expect("corpus file is readable");
        let started = Instant::now();
        let (text, outcome, ocred) = ours(&pool, &data);
        ocr_files += usize::from(ocred > 0);
        ocr_pages += ocred;
        our_secs += started.elapsed().as_secs_f64();
        let (theirs, secs) = pdftotext(path, &cache).expect("pdftotext runs");
        if std::env::var_os("PDF_QUALITY_SHOW").is_some() {
            println!(
                "==== {} ({outcome})\n{text}\n---- pdftotext\n{theirs}",
                path.display()
            );
        }
        their_secs += secs;
        all_files += 1;
        if word_count(&theirs) < 5 {
            continue;
        }
        ocr_kept += usize::from(ocred > 0);
        let theirs = words(&theirs);
        let ours = words(&text);
        let found = theirs.intersection(&ours).count();
        let missed: HashSet<&String> = theirs.difference(&ours).collect();
        let extra: HashSet<&String> = ours.difference(&theirs).collect();
        scores.push(FileScore {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            recall: found as f64 / theirs.len() as f64,
            precision: (!ours.is_empty()).then(|| found as f64 / ours.len() as f64),
            outcome,
            missed: sample(&missed, 8),
            extra: sample(&extra, 8),
        });
    }

    let n = scores.len().max(1) as f64;
    let mut recalls: Vec<f64> = scores.iter().map(|s| s.recall).collect();
    let mean_recall = recalls.iter().fold(0.0, |a, b| a + b) / n;
    let median_recall = median(&mut recalls);
    let below = scores.iter().filter(|s| s.recall < 0.8).count();
    let precisions: Vec<f64> = scores.iter().filter_map(|s| s.precision).collect();
    let mean_precision = precisions.iter().fold(0.0, |a, b| a + b) / precisions.len().max(1) as f64;
    let broken = scores.iter().filter(|s| s.outcome == "broken_file").count();
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    for s in &scores {
        *outcomes.entry(s.outcome.as_str()).or_default() += 1;
    }

    if let Ok(report) = std::env::var("PDF_QUALITY_REPORT") {
        let mut sorted: Vec<&FileScore> = scores.iter().collect();
        sorted.sort_by(|a, b| a.recall.total_cmp(&b.recall));
        let mut out = std::fs::File::create(&report).expect("report file");
        for s in sorted {
            writeln!(
                out,
                "{:.3}\t{}\t{}\t{}\tmissed {:?}\textra {:?}",
                s.recall,
                s.precision.map_or("-".into(), |p| format!("{p:.3}")),
                s.outcome,
                s.name,
                s.missed,
                s.extra
            )
            .expect("report line");
        }
    }

    println!(
        "PDF text quality on {} of {all_files} PDFs (pdftotext -layout finds >= 5 words):",
        scores.len()
    );
    println!("| reader | mean recall | median recall | share < 0.8 | mean precision | broken_file | files/s |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| dlp | {mean_recall:.3} | {median_recall:.3} | {:.1}% ({below}) | {mean_precision:.3} | {broken} | {:.0} |",
        100.0 * below as f64 / n,
        all_files as f64 / our_secs.max(1e-9)
    );
    println!(
        "| pdftotext -layout | 1 | 1 | 0% | 1 | - | {:.0} |",
        all_files as f64 / their_secs.max(1e-9)
    );
    println!("outcomes of the kept files: {outcomes:?}");
    println!(
        "OCR (not compared): {ocr_pages} page(s) with OCR text in {ocr_files} of the \
         {all_files} PDFs, {ocr_kept} of those files among the kept ones"
    );

    if filter.is_none() {
        let mut failures = Vec::new();
        if mean_recall < 0.95 {
            failures.push(format!("mean recall {mean_recall:.3} < 0.95"));
        }
        if below as f64 > 0.05 * n {
            failures.push(format!("{below} files below 0.8 recall (> 5%)"));
        }
        if broken > 0 {
            failures.push(format!("{broken} files with text end as broken_file"));
        }
        if mean_precision < 0.95 {
            failures.push(format!("mean precision {mean_precision:.3} < 0.95"));
        }
        assert!(failures.is_empty(), "under the targets: {failures:?}");
    }
}
