//! `dlp scan`: bulk scan of files, directories and standard input.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use dlp_engine::extract::isolate::WorkerPool;
use dlp_engine::{Batch, Engine, EngineBuilder, Extraction, FileReport};

use crate::output::{self, Format, Summary};

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files and directories to scan; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Custom rules (TOML); may be given more than once.
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Run only these detectors (comma-separated ids; see `dlp detectors`).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    detectors: Option<Vec<String>>,
    /// Skip files (and members of archives) larger than this (e.g. 10MB, 512KiB, 1G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_file_size: Option<u64>,
    /// Inspect only these detected file types (comma-separated, e.g. pdf,docx,text; see
    /// `dlp extract --list-types`). Archives are always opened so their members can be filtered.
    #[arg(long, value_name = "TYPE,...", value_delimiter = ',')]
    file_types: Option<Vec<dlp_engine::extract::FileType>>,
    /// Parse documents inside this process instead of isolated worker processes (faster to
    /// start, but a parser crash or hang on a hostile file then stops the scan).
    #[arg(long)]
    in_process: bool,
    /// Output format for findings.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Exit with code 1 when anything is found.
    #[arg(long)]
    fail_on_findings: bool,
    /// Write the run's summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Also list skipped items (with their reason) in the output.
    #[arg(long)]
    report_skipped: bool,
    /// Follow symbolic links inside directories.
    #[arg(long)]
    follow_links: bool,
    /// No progress line and no summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

/// Parses `10MB`, `512KiB`, `1G`, `100` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; use e.g. 500KB, 10MB, 1GiB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}`; use B, KB, KiB, MB, MiB, GB or GiB"
            ))
        }
    };
    Ok((num * mult) as u64)
}

pub fn build_engine(rules: &[PathBuf], detectors: Option<&[String]>) -> anyhow::Result<Engine> {
    let mut builder = EngineBuilder::new();
    for path in rules {
        builder.rules_file(path)?;
    }
    if let Some(ids) = detectors {
        builder.detectors(ids.iter().cloned());
    }
    Ok(builder.build()?)
}

pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let engine = build_engine(&args.rules, args.detectors.as_deref())?;
    let started = Instant::now();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut summary = Summary {
        threads,
        ..Summary::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut progress = Progress::new(!args.quiet && std::io::stderr().is_terminal());
    let mut write_error: Option<std::io::Error> = None;

    let mut handle = |report: FileReport, out: &mut dyn Write| -> std::io::Result<()> {
        summary.add(&report);
        let path = output::display_path(&report.path);
        for f in &report.findings {
            output::write_finding(out, args.format, &path, f)?;
        }
        for s in &report.skipped {
            if args.report_skipped {
                output::write_skip(out, args.format, &path, s)?;
            } else if matches!(
                s.reason,
                dlp_engine::SkipReason::NotFound | dlp_engine::SkipReason::Unreadable
            ) {
                // Something the user asked for could not be read: say so even when not asked.
                eprintln!("dlp: {path}: {} ({})", s.detail, s.reason.as_str());
            }
        }
        progress.tick(&summary);
        Ok(())
    };

    let extraction = extraction(
        args.file_types.clone(),
        args.max_file_size,
        !args.in_process,
        threads,
    )?;
    let (stdin, files): (Vec<_>, Vec<_>) = args
        .paths
        .iter()
        .cloned()
        .partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        let mut report = FileReport {
            path: PathBuf::from("-"),
            ..FileReport::default()
        };
        let mut part_error = None;
        scan_stdin(&engine, &extraction, &mut report, &mut |part| {
            if part_error.is_none() {
                part_error = handle(part, &mut out).err();
            }
        })
        .context("cannot read standard input")?;
        if let Some(e) = part_error {
            return Err(e.into());
        }
        handle(report, &mut out)?;
    }
    if !files.is_empty() {
        let stop = AtomicBool::new(false);
        let mut batch = Batch::new();
        batch
            .threads(threads)
            .extraction(extraction.clone())
            .follow_links(args.follow_links);
        batch.run(&engine, &files, &stop, &mut |report| {
            if write_error.is_some() {
                return;
            }
            if let Err(e) = handle(report, &mut out) {
                // Stop reading more files: nobody is listening.
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                write_error = Some(e);
            }
        });
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    drop(out);
    progress.clear();
    summary.finish(started.elapsed());
    if let Some(path) = &args.summary {
        let json = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    if !args.quiet {
        summary.write_human(&mut std::io::stderr().lock())?;
    }
    Ok(if args.fail_on_findings && summary.findings_total > 0 {
        1
    } else {
        0
    })
}

/// The extraction settings of a scan, with a pool of isolated workers (this binary re-executed
/// as `dlp __extract-worker`) unless `isolate` is off.
pub fn extraction(
    file_types: Option<Vec<dlp_engine::extract::FileType>>,
    max_file_size: Option<u64>,
    isolate: bool,
    workers: usize,
) -> anyhow::Result<Extraction> {
    let limits = dlp_engine::extract::Limits::default();
    let isolation = if isolate {
        let exe = std::env::current_exe()
            .context("cannot find the dlp executable to run extraction workers")?;
        let mut command = std::process::Command::new(exe);
        command.arg("__extract-worker");
        // Started on first need: a scan of plain text never starts a worker.
        let pool = WorkerPool::new_lazy(command, workers, limits.clone());
        Some(std::sync::Arc::new(pool))
    } else {
        None
    };
    Ok(Extraction {
        limits,
        filter: dlp_engine::extract::Filter {
            file_types,
            max_file_size,
        },
        isolation,
    })
}

/// Findings of a stream are handed out in parts of this many, so memory does not grow with them.
const PART: usize = 4096;

/// Standard input: text streams through the scanner in bounded memory, its findings handed to
/// `partial` as they are found; anything else (a PDF, an archive) is read whole, up to the
/// size limit, and extracted.
fn scan_stdin(
    engine: &Engine,
    extraction: &Extraction,
    report: &mut FileReport,
    partial: &mut dyn FnMut(FileReport),
) -> std::io::Result<()> {
    use std::io::Read;
    let mut stdin = std::io::stdin().lock();
    let mut head = Vec::with_capacity(8192);
    (&mut stdin).take(8192).read_to_end(&mut head)?;
    let mut scanner = engine.scanner();
    if dlp_engine::extract::is_plain_text(&head) {
        let findings = &mut report.findings;
        let path = report.path.clone();
        report.bytes = scanner.scan_reader(std::io::Cursor::new(head).chain(stdin), &mut |f| {
            findings.push(f);
            if findings.len() >= PART {
                partial(FileReport {
                    path: path.clone(),
                    findings: std::mem::take(findings),
                    partial: true,
                    ..FileReport::default()
                });
            }
        })?;
        report.items_scanned = 1;
        return Ok(());
    }
    let max = extraction
        .filter
        .max_file_size
        .unwrap_or(u64::MAX)
        .min(extraction.limits.max_file_size);
    let mut data = head;
    stdin
        .take(max.saturating_add(1).saturating_sub(data.len() as u64))
        .read_to_end(&mut data)?;
    report.bytes = data.len() as u64;
    if data.len() as u64 > max {
        report.skipped.push(dlp_engine::Skipped {
            member: None,
            reason: dlp_engine::SkipReason::TooLarge,
            detail: format!(
                "standard input is over the maximum content-inspection size of {max} bytes"
            ),
        });
        return Ok(());
    }
    let doc = scanner.scan_document(&data, extraction);
    report.items_scanned = doc.items_scanned;
    report.findings = doc.findings;
    report.skipped = doc.skipped;
    Ok(())
}

/// A one-line progress report on standard error, redrawn at most a few times a second, only
/// when standard error is a terminal.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
    drawn: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            started: now,
            last: now,
            drawn: false,
        }
    }

    fn tick(&mut self, summary: &Summary) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} files, {:.1} MB, {} findings, {:.1} MB/s",
            summary.files,
            summary.bytes as f64 / 1e6,
            summary.findings_total,
            summary.bytes as f64 / 1e6 / secs
        );
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("512KiB"), Ok(524_288));
        assert_eq!(parse_size("1.5G"), Ok(1_500_000_000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10XB")
            .unwrap_err()
            .contains("unknown size unit"));
    }
}
