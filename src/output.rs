//! Output: findings as JSON lines or for people, skipped items, and the run's summary.

use std::io::Write;
use std::path::Path;

use dlp_engine::{Finding, Skipped, Tally};
use serde::Serialize;

/// One finding as a JSON line (design.md §3).
#[derive(Serialize)]
struct FindingRecord<'a> {
    record: &'static str,
    path: &'a str,
    member: Option<&'a str>,
    detector: &'a str,
    category: &'a str,
    confidence: &'a str,
    start: usize,
    end: usize,
    line: u64,
    column: u64,
    location: Option<&'a str>,
    masked: &'a str,
    fingerprint: &'a str,
    ocr: bool,
}

/// One skipped item as a JSON line.
#[derive(Serialize)]
struct SkipRecord<'a> {
    record: &'static str,
    path: &'a str,
    member: Option<&'a str>,
    reason: &'a str,
    detail: &'a str,
}

/// How findings are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `path:line: detector [category, confidence] masked`
    Human,
    /// One JSON object per finding.
    Jsonl,
    /// Comma-separated values with a header row, one row per finding (and skip, with
    /// --report-skipped).
    Csv,
    /// One SARIF 2.1.0 log for the whole run, written when it ends (see `sarif`).
    Sarif,
}

/// The CSV columns, in order.
pub const CSV_HEADER: &str =
    "record,path,member,line,column,location,detector,category,confidence,masked,fingerprint,ocr,start,end,reason,detail";

/// A CSV field: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`,
/// `-` or `@` (a formula to a spreadsheet) is defused with a `'`.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv_row(out: &mut (impl Write + ?Sized), fields: &[&str]) -> std::io::Result<()> {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    writeln!(out, "{}", row.join(","))
}

/// ANSI colours of the human format (as ripgrep's: path magenta, line green, value red).
struct Paint(bool);

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

pub fn write_finding(
    out: &mut (impl Write + ?Sized),
    format: Format,
    color: bool,
    path: &str,
    f: &Finding,
) -> std::io::Result<()> {
    let paint = Paint(color);
    match format {
        Format::Csv => csv_row(
            out,
            &[
                "finding",
                path,
                f.member.as_deref().unwrap_or(""),
                &f.line.to_string(),
                &f.column.to_string(),
                f.location.as_deref().unwrap_or(""),
                &f.detector,
                f.category.as_str(),
                f.confidence.as_str(),
                &f.masked,
                &f.fingerprint,
                if f.ocr { "true" } else { "false" },
                &f.start.to_string(),
                &f.end.to_string(),
                "",
                "",
            ],
        ),
        // Kept by `sarif::SarifLog` and written when the run ends.
        Format::Sarif => Ok(()),
        Format::Jsonl => {
            let record = FindingRecord {
                record: "finding",
                path,
                member: f.member.as_deref(),
                detector: &f.detector,
                category: f.category.as_str(),
                confidence: f.confidence.as_str(),
                start: f.start,
                end: f.end,
                line: f.line,
                column: f.column,
                location: f.location.as_deref(),
                masked: &f.masked,
                fingerprint: &f.fingerprint,
                ocr: f.ocr,
            };
            serde_json::to_writer(&mut *out, &record)?;
            writeln!(out)
        }
        Format::Human => {
            write!(out, "{}", paint.paint("35", path))?;
            if let Some(member) = &f.member {
                write!(out, "{}", paint.paint("35", &format!("!{member}")))?;
            }
            write!(out, ":{}:", paint.paint("32", &f.line.to_string()))?;
            match (&f.location, f.ocr) {
                (Some(location), false) => write!(out, " ({location})")?,
                (Some(location), true) => write!(out, " ({location}, OCR)")?,
                (None, true) => write!(out, " (OCR)")?,
                (None, false) => {}
            }
            writeln!(
                out,
                " {} [{}, {}] {}",
                paint.paint("1", &f.detector),
                f.category.as_str(),
                f.confidence.as_str(),
                paint.paint("1;31", &f.masked)
            )
        }
    }
}

pub fn write_skip(
    out: &mut (impl Write + ?Sized),
    format: Format,
    path: &str,
    s: &Skipped,
) -> std::io::Result<()> {
    match format {
        Format::Csv => csv_row(
            out,
            &[
                "skipped",
                path,
                s.member.as_deref().unwrap_or(""),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                s.reason.as_str(),
                &s.detail,
            ],
        ),
        Format::Sarif => Ok(()),
        Format::Jsonl => {
            let record = SkipRecord {
                record: "skipped",
                path,
                member: s.member.as_deref(),
                reason: s.reason.as_str(),
                detail: &s.detail,
            };
            serde_json::to_writer(&mut *out, &record)?;
            writeln!(out)
        }
        Format::Human => {
            write!(out, "{path}")?;
            if let Some(member) = &s.member {
                write!(out, "!{member}")?;
            }
            writeln!(out, ": skipped ({}): {}", s.reason.as_str(), s.detail)
        }
    }
}

/// The run's totals, written as JSON by `--summary` and for people on standard error.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Files, items, skips, bytes and findings: the counters every front door keeps.
    #[serde(flatten)]
    pub tally: Tally,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Bytes read per second of wall-clock time, in MB (10^6 bytes).
    pub throughput_mb_s: f64,
    /// Worker threads.
    pub threads: usize,
    /// Per file with findings or skips (its own or its members'): how many of each, by path.
    pub by_file: std::collections::BTreeMap<String, FileTally>,
}

/// One file's part of the run, in the summary.
#[derive(Debug, Default, Serialize)]
pub struct FileTally {
    /// Findings reported in the file and its members.
    pub findings: u64,
    /// The file or members of it not (fully) inspected.
    pub skipped: u64,
    /// Its detected type, when it was read.
    pub file_type: Option<&'static str>,
}

impl Summary {
    /// Counts a finished item in the per-file breakdown, when it had findings or skips.
    pub fn file(&mut self, path: String, report: &dlp_engine::ItemReport) {
        if report.findings > 0 || report.skipped > 0 {
            self.by_file.insert(
                path,
                FileTally {
                    findings: report.findings,
                    skipped: report.skipped,
                    file_type: report.file_type.map(|t| t.name()),
                },
            );
        }
    }

    pub fn finish(&mut self, elapsed: std::time::Duration) {
        let seconds = elapsed.as_secs_f64();
        // Rounded (milliseconds, 0.01 MB/s): a float's 17 digits in a summary kept among the
        // scanned files would read as a card number to the next scan.
        self.elapsed_s = (seconds * 1e3).round() / 1e3;
        self.throughput_mb_s = if seconds > 0.0 {
            (self.tally.bytes as f64 / 1e6 / seconds * 100.0).round() / 100.0
        } else {
            0.0
        };
    }

    pub fn write_human(&self, out: &mut impl Write) -> std::io::Result<()> {
        let t = &self.tally;
        let skipped = t.skipped_total();
        writeln!(
            out,
            "dlp: {} files, {} items scanned, {} skipped, {:.1} MB in {:.2}s ({:.1} MB/s, {} threads), {} findings{}",
            t.files,
            t.items_scanned,
            skipped,
            t.bytes as f64 / 1e6,
            self.elapsed_s,
            self.throughput_mb_s,
            self.threads,
            t.findings_total,
            if t.findings_allowed > 0 {
                format!(" ({} more accepted by the allow-list or baseline)", t.findings_allowed)
            } else {
                String::new()
            }
        )?;
        if !t.items_skipped.is_empty() {
            let parts: Vec<String> = t
                .items_skipped
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            writeln!(out, "dlp: skipped by reason: {}", parts.join(", "))?;
        }
        if !t.findings.is_empty() {
            let parts: Vec<String> = t
                .findings
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            writeln!(out, "dlp: findings by detector: {}", parts.join(", "))?;
        }
        let mut files: Vec<(&String, u64)> = self
            .by_file
            .iter()
            .filter(|(_, f)| f.findings > 0)
            .map(|(path, f)| (path, f.findings))
            .collect();
        if !files.is_empty() {
            files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = files
                .iter()
                .take(5)
                .map(|(path, n)| format!("{path} ({n})"))
                .collect();
            writeln!(
                out,
                "dlp: files with findings: {}; most: {}",
                files.len(),
                top.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Whether an error is a closed standard output (`dlp scan ... | head`), which ends the run
/// quietly rather than as a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The detectors as a Markdown table, grouped by category: id, whether it runs by default,
/// country, confidence rule, description. The README's detector table is this output, checked by a test.
pub fn write_detector_table(
    out: &mut impl Write,
    list: &[dlp_engine::DetectorInfo],
) -> std::io::Result<()> {
    for category in dlp_engine::Category::ALL {
        let rows: Vec<_> = list.iter().filter(|d| d.category == category).collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(out, "#### {} ({})\n", category.as_str(), rows.len())?;
        writeln!(out, "| id | default | country | confidence | description |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for d in rows {
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                d.id,
                if d.default { "yes" } else { "" },
                d.country.as_deref().unwrap_or(""),
                d.confidence_rule.replace('|', "\\|"),
                d.description.replace('|', "\\|")
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
