//! `dlp scan`: bulk scan of files, directories and standard input.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use dlp_engine::{
    Batch, Engine, EngineBuilder, Finding, FingerprintKey, Flow, Isolation, ItemReport, Request,
    ScanError, Sink, Skipped, WorkerCommand,
};
use dlp_store::scan::Objects;

use crate::output::{self, Format, Summary};
use crate::sarif::SarifLog;

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files and directories to scan; `-` reads standard input; `s3://BUCKET/PREFIX` scans the
    /// objects under a prefix (credentials and endpoint from the AWS_* variables).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Custom rules (TOML); may be given more than once.
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Run only these detectors: comma-separated ids, categories (pii, financial, health,
    /// secret, custom), countries (country:DE), `all`, `default` (what runs without this
    /// option) or `core` (the original detectors, the fastest); see `dlp detectors`.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    detectors: Option<Vec<String>>,
    /// Leave out these detectors (ids, categories or countries, as for --detectors).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    exclude_detectors: Vec<String>,
    /// Key of the findings' fingerprints (HMAC-SHA-256): a file of 64 hexadecimal digits.
    /// Default: DLP_FINGERPRINT_KEY, else the installation's key in dlp's home (DLP_HOME),
    /// created on first use.
    #[arg(long, value_name = "FILE", conflicts_with = "plain_fingerprints")]
    fingerprint_key_file: Option<PathBuf>,
    /// Fingerprint with plain SHA-256 instead of a keyed hash: comparable with other tools,
    /// but anyone can find a low-entropy value (an SSN) back from its fingerprint.
    #[arg(long)]
    plain_fingerprints: bool,
    /// Accept (count, do not report) the findings recorded in this baseline file, as
    /// --write-baseline writes it.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the fingerprints of this run's findings (and of the --baseline's) to this file, to
    /// accept them in later runs with --baseline.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Report only findings of at least this confidence.
    #[arg(long, value_name = "LEVEL", value_parser = parse_confidence)]
    min_confidence: Option<dlp_engine::Confidence>,
    /// Skip files (and members of archives) larger than this (e.g. 10MB, 512KiB, 1G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_file_size: Option<u64>,
    /// Inspect only these detected file types (comma-separated, e.g. pdf,docx,text; see
    /// `dlp extract --list-types`). Archives are always opened so their members can be filtered.
    #[arg(long, value_name = "TYPE,...", value_delimiter = ',')]
    file_types: Option<Vec<dlp_engine::extract::FileType>>,
    /// Parse documents inside this process instead of isolated worker processes (faster to
    /// start, but a parser crash or hang on a hostile file then stops the scan). Images are
    /// then not read: OCR runs only in the workers.
    #[arg(long)]
    in_process: bool,
    /// Do not read images by OCR (Tesseract); they are skipped as unsupported_format.
    #[arg(long)]
    no_ocr: bool,
    /// Tesseract languages for OCR, comma-separated traineddata names (default eng); each
    /// needs its package, e.g. tesseract-ocr-deu.
    #[arg(long, value_name = "LANG,...", value_delimiter = ',', value_parser = parse_ocr_language)]
    ocr_languages: Option<Vec<String>>,
    /// Output format for findings [default: human].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Read options from this TOML file (keys as the flags' names: rules, detectors,
    /// exclude-detectors, min-confidence, max-file-size, file-types, exclude, include,
    /// no-ignore, no-hidden, format, fail-on, report-skipped, ...). Default: `.dlp.toml` or
    /// `dlp.toml` in the first directory scanned. Flags given win; lists add up.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Do not look for a configuration file in the directory scanned.
    #[arg(long)]
    no_config: bool,
    /// The same as --format jsonl.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Write the records sorted (by path, then member, then position) once the scan is done,
    /// so that two runs can be compared. Default: in the order files finish.
    #[arg(long, value_enum, value_name = "KEY")]
    sort: Option<SortKey>,
    /// Colours in the human format.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Exit with code 1 when anything is found (as --fail-on findings).
    #[arg(long)]
    fail_on_findings: bool,
    /// Exit with code 1 when a file (or archive member) could not be inspected (as --fail-on
    /// skipped).
    #[arg(long)]
    fail_on_skips: bool,
    /// Exit with code 1 on any of these, comma-separated: `findings`; `skipped` (any reason
    /// but filtered_type, not_a_file and excluded); `skipped:REASON` (e.g. skipped:encrypted,
    /// skipped:too_large).
    #[arg(long, value_name = "WHAT,...", value_delimiter = ',', value_parser = parse_fail_on)]
    fail_on: Vec<FailOn>,
    /// Write the run's summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Also list skipped items (with their reason) in the output.
    #[arg(long)]
    report_skipped: bool,
    /// Follow symbolic links inside directories.
    #[arg(long)]
    follow_links: bool,
    /// Leave out paths under the directories scanned that match this glob (`*.log`,
    /// `node_modules`, `build/**`), against the path relative to the directory or the name;
    /// may be given more than once.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Scan only files matching this glob under the directories scanned (as --exclude
    /// matches); may be given more than once.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Do not honour ignore files (.gitignore, .ignore, .dlpignore) and scan version-control
    /// directories (.git, .hg, .svn) too.
    #[arg(long)]
    no_ignore: bool,
    /// Leave out hidden files and directories (names starting with a dot). By default they
    /// are scanned: `.env` files and `.aws/` are where secrets are.
    #[arg(long)]
    no_hidden: bool,
    /// No progress line and no summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

/// How `--sort` orders records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    /// By path, then archive member, then position in the item.
    Path,
}

/// When the human format is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When standard output is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

/// A record held back for `--sort`.
enum Held {
    Finding(Finding),
    Skip(Skipped),
}

impl Held {
    fn key(&self) -> (Option<&str>, usize, u8, &str) {
        match self {
            Held::Finding(f) => (f.member.as_deref(), f.start, 0, &f.detector),
            Held::Skip(s) => (s.member.as_deref(), 0, 1, s.reason.as_str()),
        }
    }
}

/// What makes `dlp scan` exit with code 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Any finding.
    Findings,
    /// Any skip but the ones asked for (`filtered_type`) or usual in a tree (`not_a_file`).
    Skipped,
    /// A skip for this reason.
    SkippedFor(dlp_engine::SkipReason),
}

impl FailOn {
    fn matches_skip(self, reason: dlp_engine::SkipReason) -> bool {
        use dlp_engine::SkipReason as R;
        match self {
            FailOn::Findings => false,
            FailOn::Skipped => !matches!(reason, R::FilteredType | R::NotAFile | R::Excluded),
            FailOn::SkippedFor(r) => r == reason,
        }
    }
}

/// Parses `findings`, `skipped` or `skipped:REASON`.
pub fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    let s = s.trim().to_ascii_lowercase();
    match s.as_str() {
        "findings" => Ok(FailOn::Findings),
        "skipped" | "skips" => Ok(FailOn::Skipped),
        _ => match s.strip_prefix("skipped:") {
            Some(name) => dlp_engine::SkipReason::from_name(name)
                .map(FailOn::SkippedFor)
                .ok_or_else(|| {
                    let names: Vec<&str> = dlp_engine::SkipReason::all()
                        .iter()
                        .map(|r| r.as_str())
                        .collect();
                    format!(
                        "`{name}` is not a skip reason; use one of {}",
                        names.join(", ")
                    )
                }),
            None => Err(format!(
                "`{s}` is not something to fail on; use findings, skipped or skipped:REASON"
            )),
        },
    }
}

/// What a person can do about a skip, after its detail.
fn skip_hint(reason: dlp_engine::SkipReason) -> &'static str {
    use dlp_engine::SkipReason as R;
    match reason {
        R::BrokenFile => "the file is damaged or its parser failed on it; check that it opens",
        R::Timeout => "it took longer than the time limit per file; scan it alone or split it",
        R::LimitExceeded => {
            "a safety limit struck (size, depth, entries or compression ratio; the detail says \
             which); extract it and scan the parts"
        }
        R::Encrypted => "it is password-protected; decrypt a copy and scan that",
        R::UnsupportedFormat => {
            "this format is not read (`dlp extract --list-types` lists what is)"
        }
        R::FilteredType => "its type is not in --file-types",
        R::TooLarge => "it is larger than --max-file-size; raise the limit to inspect it",
        R::NotFound => "check the path",
        R::Unreadable => "check its permissions",
        R::NotAFile => "a special file or a symbolic link (--follow-links follows links)",
        R::NoText => "it has no text layer; with Tesseract installed its pages are read by OCR",
        R::OcrUnavailable => {
            "it needs OCR: install Tesseract (apt install tesseract-ocr) and its language data"
        }
        R::Excluded => "left out by an ignore file, --exclude, --include or --no-hidden",
        _ => "",
    }
}

/// Parses `low`, `medium` or `high`.
pub fn parse_confidence(s: &str) -> Result<dlp_engine::Confidence, String> {
    dlp_engine::Confidence::from_name(&s.trim().to_ascii_lowercase())
        .ok_or_else(|| format!("`{s}` is not a confidence; use low, medium or high"))
}

/// Checks a Tesseract language name (`eng`, `chi_sim`, `script/Latin`).
pub fn parse_ocr_language(s: &str) -> Result<String, String> {
    let s = s.trim();
    let valid = !s.is_empty()
        && !s.starts_with(['-', '/', '.'])
        && !s.contains("..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/'));
    if valid {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a Tesseract language name (such as eng, deu, chi_sim)"
        ))
    }
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

/// The engine of `dlp detectors`: it only lists detectors, so it needs no fingerprint key.
pub fn build_engine(rules: &[PathBuf], detectors: Option<&[String]>) -> anyhow::Result<Engine> {
    let mut builder = builder(rules, detectors)?;
    builder.fingerprint_key(FingerprintKey::Given(dlp_engine::Fingerprints::Sha256));
    Ok(builder.build()?)
}

pub(crate) fn builder(
    rules: &[PathBuf],
    detectors: Option<&[String]>,
) -> anyhow::Result<EngineBuilder> {
    let mut builder = EngineBuilder::new();
    for path in rules {
        builder.rules_file(path)?;
    }
    if let Some(ids) = detectors {
        builder.detectors(ids.iter().cloned());
    }
    Ok(builder)
}

/// Where `dlp scan` writes: findings and skips to standard output, the totals to the summary,
/// and the progress line. A write that fails (a closed pipe) stops the scan with its error.
struct Output<'a, W: Write> {
    out: W,
    /// Records held back for `--sort`, with their paths.
    held: Option<Vec<(String, Held)>>,
    /// Colours in the human format.
    color: bool,
    /// Print a line per skip on standard error (not with --quiet).
    tell_skips: bool,
    /// What fails the run.
    fail_on: &'a [FailOn],
    /// Whether a skip that fails the run was seen.
    failing_skip: bool,
    /// The findings to write to a baseline, when asked.
    baseline: Option<Vec<BaselineEntry>>,
    /// The run's SARIF log, with `--format sarif`.
    sarif: Option<SarifLog>,
    format: Format,
    report_skipped: bool,
    summary: &'a mut Summary,
    progress: &'a mut Progress,
}

impl<W: Write> Output<'_, W> {
    /// Writes the records held back for `--sort`, sorted.
    fn write_held(&mut self) -> std::io::Result<()> {
        let Some(mut held) = self.held.take() else {
            return Ok(());
        };
        held.sort_by(|(a, x), (b, y)| (a, x.key()).cmp(&(b, y.key())));
        for (path, record) in &held {
            match record {
                Held::Finding(f) => {
                    output::write_finding(&mut self.out, self.format, self.color, path, f)?
                }
                Held::Skip(s) => output::write_skip(&mut self.out, self.format, path, s)?,
            }
        }
        Ok(())
    }
}

impl<W: Write> Sink for Output<'_, W> {
    type Error = std::io::Error;

    fn finding(&mut self, item: &Path, finding: Finding) -> std::io::Result<Flow> {
        self.summary.tally.finding(&finding);
        if let Some(baseline) = &mut self.baseline {
            baseline.push(BaselineEntry {
                fingerprint: finding.fingerprint.clone(),
                detector: finding.detector.clone(),
                path: output::display_path(item),
                masked: finding.masked.clone(),
            });
        }
        let path = output::display_path(item);
        match (&mut self.sarif, &mut self.held) {
            (Some(sarif), _) => sarif.finding(path, finding),
            (None, Some(held)) => held.push((path, Held::Finding(finding))),
            (None, None) => {
                output::write_finding(&mut self.out, self.format, self.color, &path, &finding)?
            }
        }
        Ok(Flow::Continue)
    }

    fn skipped(&mut self, item: &Path, skipped: Skipped) -> std::io::Result<Flow> {
        self.summary.tally.skipped(skipped.reason.as_str());
        if self.fail_on.iter().any(|f| f.matches_skip(skipped.reason)) {
            self.failing_skip = true;
        }
        let path = output::display_path(item);
        let on_purpose = matches!(
            skipped.reason,
            dlp_engine::SkipReason::FilteredType | dlp_engine::SkipReason::Excluded
        );
        if let Some(sarif) = &mut self.sarif {
            // Items that could not be inspected are always in the log.
            if self.report_skipped || !on_purpose {
                sarif.skipped(path.clone(), skipped.clone());
            }
        } else if self.report_skipped {
            match &mut self.held {
                Some(held) => held.push((path.clone(), Held::Skip(skipped.clone()))),
                None => output::write_skip(&mut self.out, self.format, &path, &skipped)?,
            }
        }
        // A line for each file or member not inspected, but those the user filtered out.
        // A path that could not be read is said even with --quiet.
        let always = matches!(
            skipped.reason,
            dlp_engine::SkipReason::NotFound | dlp_engine::SkipReason::Unreadable
        );
        if always || (self.tell_skips && !on_purpose) {
            self.progress.clear();
            let member = skipped
                .member
                .as_deref()
                .map(|m| format!(" (member {m})"))
                .unwrap_or_default();
            let hint = skip_hint(skipped.reason);
            eprintln!(
                "dlp: skipped {path}{member}: {} ({}){}",
                skipped.detail,
                skipped.reason.as_str(),
                if hint.is_empty() {
                    String::new()
                } else {
                    format!("; {hint}")
                }
            );
        }
        Ok(Flow::Continue)
    }

    fn finished(&mut self, report: &ItemReport) -> std::io::Result<Flow> {
        if let Some(sarif) = &mut self.sarif {
            sarif.finished(output::display_path(&report.path), report);
        }
        self.summary.tally.finished(report);
        self.summary
            .file(output::display_path(&report.path), report);
        self.progress.tick(self.summary);
        Ok(Flow::Continue)
    }
}

/// `dlp scan`'s configuration file: the flags' options, with their names.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    rules: Vec<PathBuf>,
    detectors: Option<Vec<String>>,
    exclude_detectors: Vec<String>,
    min_confidence: Option<String>,
    max_file_size: Option<toml::Value>,
    file_types: Option<Vec<String>>,
    exclude: Vec<String>,
    include: Vec<String>,
    no_ignore: bool,
    no_hidden: bool,
    follow_links: bool,
    format: Option<String>,
    fail_on: Vec<String>,
    fail_on_findings: bool,
    fail_on_skips: bool,
    report_skipped: bool,
    threads: Option<usize>,
    no_ocr: bool,
    ocr_languages: Option<Vec<String>>,
    baseline: Option<PathBuf>,
}

/// The configuration file of this run: `--config`, else `.dlp.toml` or `dlp.toml` in the first
/// directory given (unless `--no-config`).
fn config_path(args: &ScanArgs) -> Option<PathBuf> {
    if let Some(path) = &args.config {
        return Some(path.clone());
    }
    if args.no_config {
        return None;
    }
    let dir = args.paths.iter().find(|p| p.is_dir())?;
    [".dlp.toml", "dlp.toml"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// Reads the configuration file, if any, into `args`: a flag given wins over the file, lists
/// add up, and paths in the file are relative to it.
fn apply_config(args: &mut ScanArgs) -> anyhow::Result<Option<PathBuf>> {
    let Some(path) = config_path(args) else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the configuration {shown}"))?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{shown}: {e}(its keys are the flags' names: see `dlp scan --help`)")
    })?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let here = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
    let bad = |key: &str, e: String| anyhow::anyhow!("{shown}: {key}: {e}");
    let mut rules: Vec<PathBuf> = file.rules.into_iter().map(here).collect();
    rules.append(&mut args.rules);
    args.rules = rules;
    if args.detectors.is_none() {
        args.detectors = file.detectors;
    }
    args.exclude_detectors.extend(file.exclude_detectors);
    if args.min_confidence.is_none() {
        if let Some(level) = file.min_confidence {
            args.min_confidence =
                Some(parse_confidence(&level).map_err(|e| bad("min-confidence", e))?);
        }
    }
    if args.max_file_size.is_none() {
        args.max_file_size = match file.max_file_size {
            None => None,
            Some(toml::Value::Integer(n)) => Some(
                u64::try_from(n).map_err(|_| bad("max-file-size", format!("{n} is negative")))?,
            ),
            Some(toml::Value::String(s)) => {
                Some(parse_size(&s).map_err(|e| bad("max-file-size", e))?)
            }
            Some(other) => {
                return Err(bad(
                    "max-file-size",
                    format!("{other} is not a size (\"10MB\" or a number)"),
                ))
            }
        };
    }
    if args.file_types.is_none() {
        if let Some(types) = file.file_types {
            let mut parsed = Vec::new();
            for t in types {
                parsed.push(
                    t.parse::<dlp_engine::extract::FileType>()
                        .map_err(|e| bad("file-types", e.to_string()))?,
                );
            }
            args.file_types = Some(parsed);
        }
    }
    args.exclude.extend(file.exclude);
    args.include.extend(file.include);
    args.no_ignore |= file.no_ignore;
    args.no_hidden |= file.no_hidden;
    args.follow_links |= file.follow_links;
    args.report_skipped |= file.report_skipped;
    args.fail_on_findings |= file.fail_on_findings;
    args.fail_on_skips |= file.fail_on_skips;
    args.no_ocr |= file.no_ocr;
    for what in file.fail_on {
        args.fail_on
            .push(parse_fail_on(&what).map_err(|e| bad("fail-on", e))?);
    }
    if args.format.is_none() && !args.json {
        if let Some(format) = file.format {
            args.format = Some(
                <Format as clap::ValueEnum>::from_str(&format, true).map_err(|_| {
                    bad(
                        "format",
                        format!("{format:?} is not human, jsonl, csv or sarif"),
                    )
                })?,
            );
        }
    }
    if args.threads.is_none() {
        args.threads = file.threads;
    }
    if args.ocr_languages.is_none() {
        if let Some(languages) = file.ocr_languages {
            let mut parsed = Vec::new();
            for l in languages {
                parsed.push(parse_ocr_language(&l).map_err(|e| bad("ocr-languages", e))?);
            }
            args.ocr_languages = Some(parsed);
        }
    }
    if args.baseline.is_none() {
        args.baseline = file.baseline.map(here);
    }
    Ok(Some(path))
}

pub fn run(mut args: ScanArgs) -> anyhow::Result<u8> {
    let config = apply_config(&mut args)?;
    if let (Some(path), false) = (&config, args.quiet) {
        eprintln!("dlp: options from {}", path.display());
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // Object URLs are checked (and their credentials found) before anything is scanned.
    let urls: Vec<&str> = args
        .paths
        .iter()
        .filter_map(|p| p.to_str())
        .filter(|p| dlp_store::is_object_url(p))
        .collect();
    let objects = if urls.is_empty() {
        None
    } else {
        Some(Objects::open(&urls)?)
    };
    let mut builder = builder(&args.rules, args.detectors.as_deref())?;
    if !args.exclude_detectors.is_empty() {
        builder.exclude_detectors(args.exclude_detectors.iter().cloned());
    }
    if let Some(min) = args.min_confidence {
        builder.min_confidence(min);
    }
    let mut accepted: Vec<BaselineEntry> = Vec::new();
    if let Some(path) = &args.baseline {
        accepted = read_baseline(path)?;
        builder.baseline(accepted.iter().map(|e| e.fingerprint.clone()));
    }
    if args.plain_fingerprints {
        builder.fingerprint_key(FingerprintKey::Given(dlp_engine::Fingerprints::Sha256));
    } else if let Some(path) = &args.fingerprint_key_file {
        builder.fingerprint_key(FingerprintKey::File(path.clone()));
    }
    builder.filter(dlp_engine::Filter {
        file_types: args.file_types.clone(),
        max_file_size: args.max_file_size,
    });
    builder.limits(dlp_engine::Limits {
        ocr: !args.no_ocr,
        ocr_languages: args
            .ocr_languages
            .clone()
            .unwrap_or_else(|| dlp_engine::Limits::default().ocr_languages),
        ..dlp_engine::Limits::default()
    });
    builder.isolation(isolation(!args.in_process, threads));
    let engine = builder.build()?;
    // Checked (its globs) before anything is scanned.
    let mut batch = Batch::new();
    batch
        .threads(threads)
        .follow_links(args.follow_links)
        .select(&dlp_engine::Selection {
            ignore_files: !args.no_ignore,
            skip_hidden: args.no_hidden,
            exclude: args.exclude.clone(),
            include: args.include.clone(),
        })?;
    let mut fail_on = args.fail_on.clone();
    if args.fail_on_findings {
        fail_on.push(FailOn::Findings);
    }
    if args.fail_on_skips {
        fail_on.push(FailOn::Skipped);
    }
    let started = Instant::now();
    let mut summary = Summary {
        threads,
        ..Summary::default()
    };
    let mut progress = Progress::new(!args.quiet && std::io::stderr().is_terminal());
    let stdout = std::io::stdout();
    let format = if args.json {
        Format::Jsonl
    } else {
        args.format.unwrap_or(Format::Human)
    };
    let color = format == Format::Human
        && match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stdout.is_terminal()
                    && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty())
            }
        };
    let mut output = Output {
        out: std::io::BufWriter::new(stdout.lock()),
        held: args.sort.map(|_| Vec::new()),
        color,
        baseline: args.write_baseline.as_ref().map(|_| Vec::new()),
        sarif: (format == Format::Sarif).then(SarifLog::default),
        format,
        report_skipped: args.report_skipped,
        tell_skips: !args.quiet,
        fail_on: &fail_on,
        failing_skip: false,
        summary: &mut summary,
        progress: &mut progress,
    };
    if format == Format::Csv {
        writeln!(output.out, "{}", output::CSV_HEADER)?;
    }
    let (stdin, files): (Vec<_>, Vec<_>) = args
        .paths
        .iter()
        .filter(|p| !p.to_str().is_some_and(dlp_store::is_object_url))
        .cloned()
        .partition(|p| p.as_os_str() == "-");
    // A path given that does not exist is an error of the command line: it is reported as a
    // `not_found` skip (on standard error even with --quiet), the rest is scanned, and the exit
    // status is 2.
    let missing = files.iter().any(|p| {
        std::fs::symlink_metadata(p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    });
    if !stdin.is_empty() {
        // Text streams through in bounded memory; a document is read whole, up to the limit.
        let mut input = std::io::stdin().lock();
        engine
            .scan(Request::reader(&mut input).name("-"), &mut output)
            .map_err(scan_error)?;
    }
    if !files.is_empty() {
        batch
            .run(&engine, &files, &mut output)
            .map_err(scan_error)?;
    }
    if let Some(objects) = &objects {
        objects
            .scan(&engine, threads, &mut output)
            .map_err(scan_error)?;
    }
    output.write_held()?;
    if let Some(sarif) = output.sarif.take() {
        sarif.write(&mut output.out, engine.detectors(), !missing)?;
    }
    output.out.flush()?;
    if let (Some(path), Some(mut found)) = (&args.write_baseline, output.baseline.take()) {
        found.extend(accepted);
        write_baseline(path, found)?;
    }
    let failing_skip = output.failing_skip;
    drop(output);
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
    let failing_findings = fail_on.contains(&FailOn::Findings) && summary.tally.findings_total > 0;
    Ok(if missing {
        2
    } else if failing_findings || failing_skip {
        1
    } else {
        0
    })
}

/// One accepted finding in a baseline file: its fingerprint, and what a person needs to know
/// what it was (never the value).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct BaselineEntry {
    fingerprint: String,
    detector: String,
    path: String,
    masked: String,
}

/// A baseline file: accepted findings by fingerprint.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct BaselineFile {
    /// The format's version.
    version: u32,
    findings: Vec<BaselineEntry>,
}

fn read_baseline(path: &Path) -> anyhow::Result<Vec<BaselineEntry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    let file: BaselineFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a baseline (write one with `dlp scan --write-baseline FILE`)",
            path.display()
        )
    })?;
    if file.version != 1 {
        anyhow::bail!(
            "{}: baseline version {} is not supported (1 is)",
            path.display(),
            file.version
        );
    }
    Ok(file.findings)
}

fn write_baseline(path: &Path, mut findings: Vec<BaselineEntry>) -> anyhow::Result<()> {
    findings.sort_by(|a, b| (&a.path, &a.fingerprint).cmp(&(&b.path, &b.fingerprint)));
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint && a.path == b.path);
    let json = serde_json::to_string_pretty(&BaselineFile {
        version: 1,
        findings,
    })?;
    std::fs::write(path, json + "\n")
        .with_context(|| format!("cannot write the baseline {}", path.display()))
}

fn scan_error(e: ScanError<std::io::Error>) -> anyhow::Error {
    match e {
        ScanError::Scan(e) => e.into(),
        ScanError::Sink(e) => e.into(),
    }
}

/// Where documents are parsed: in workers (this binary re-executed as `dlp __extract-worker`,
/// started on first need, so a scan of plain text never starts one), or in this process.
pub fn isolation(isolate: bool, workers: usize) -> Isolation {
    if isolate {
        Isolation::Workers {
            command: WorkerCommand::current_exe(),
            workers,
        }
    } else {
        Isolation::InProcess
    }
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
            summary.tally.files,
            summary.tally.bytes as f64 / 1e6,
            summary.tally.findings_total,
            summary.tally.bytes as f64 / 1e6 / secs
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
