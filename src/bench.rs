//! `dlp bench`: detection throughput, measured so that anyone can reproduce it with one command.
//!
//! It generates a deterministic corpus (or reads one), compiles the detector set, and times the
//! engine on one thread and on N threads. Before a figure is believed, the answer is checked: on
//! a generated corpus the findings must be exactly the planted values, and on any corpus the fast
//! path must give the same findings as the engine's reference path (each pattern's regex alone
//! over the text, then validated) on a sample. In the same run it times a baseline (one
//! `regex-automata` regex per pattern, run in turn) and, on request, Hyperscan on the same
//! regexes, and adversarial inputs. Detection alone: no file reading or extraction is timed.
//!
//! MB means 10^6 bytes throughout. Every timed figure is the best of `--repeat` runs.

mod adversarial;
mod hyperscan;
mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use dlp_engine::detect::{DetectorSet as Engine, DetectorSetBuilder as EngineBuilder};
use dlp_engine::{corpus, Finding};
use regex_automata::meta;
use serde::Serialize;
use serde_json::Value;

use crate::scan::parse_size;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Read the corpus from this file, or from every regular file under this directory
    /// (concatenated), instead of generating one. Read as text; nothing is extracted.
    #[arg(long, value_name = "DIR|FILE")]
    corpus: Option<PathBuf>,
    /// Size of the generated corpus (default 256MiB); with --corpus, the most bytes read.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    size: Option<u64>,
    /// Threads for the parallel run (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Benchmark these custom rules instead of the built-ins: a TOML rule file, or a
    /// secrets-patterns-db YAML file (rules that do not compile are left out and reported).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Also run another engine on the same corpus and regexes.
    #[arg(long, value_enum, value_name = "ENGINE")]
    compare: Option<Compare>,
    /// Also time adversarial inputs (digits, `@`, `AKIA`, base64, `-----BEGIN`, cards failing
    /// Luhn), each --adversarial-size long.
    #[arg(long)]
    adversarial: bool,
    /// Size of each adversarial input.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "100MB")]
    adversarial_size: u64,
    /// Bytes at the start of the corpus over which the reference path and the baseline run
    /// (both are slow by design).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "32MiB")]
    sample: u64,
    /// Timed runs of each measurement; the best is reported.
    #[arg(long, value_name = "N", default_value_t = 3)]
    repeat: usize,
    /// Seed of the generated corpus.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// One planted value per this many bytes, on average, in the generated corpus.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "8KiB")]
    plant_every: u64,
    /// Write the corpus to this file and exit without measuring (to time other tools on the
    /// same bytes, or to build larger inputs).
    #[arg(long, value_name = "FILE")]
    save_corpus: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Human)]
    format: BenchFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Compare {
    /// Intel Hyperscan through its Python binding (`benches/install-hyperscan.sh`).
    Hyperscan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum BenchFormat {
    Human,
    Json,
}

const DEFAULT_SIZE: u64 = 256 << 20;

/// An adversarial input scanned slower than this is cut short after its first part, so that
/// one pathological case cannot hold the run for minutes; the report says so.
const ADVERSARIAL_PROBE: usize = 4 << 20;
const ADVERSARIAL_PROBE_MIN_MB_S: f64 = 10.0;

/// The whole report; `--format json` prints it as is.
#[derive(Debug, Serialize)]
struct Report {
    dlp_version: &'static str,
    machine: Machine,
    corpus: CorpusInfo,
    engine: EngineInfo,
    single_thread: Run,
    parallel: Parallel,
    checks: Checks,
    baseline: Option<Baseline>,
    hyperscan: Option<Value>,
    /// Hyperscan on the whole library's regexes (built-ins only, with `--compare hyperscan`):
    /// the same job as the library's scan, without its checks and context rules.
    hyperscan_library: Option<Value>,
    /// The built-in library against the twelve original detectors, same corpus (built-ins only).
    library: Option<Library>,
    adversarial: Vec<Adversarial>,
    /// Peak resident memory of this process (VmHWM), corpus included.
    peak_rss_bytes: Option<u64>,
    /// Whether every check passed.
    ok: bool,
}

/// The whole built-in library (`--detectors all`) and the default set beside the twelve
/// original detectors, one thread, same inputs.
#[derive(Debug, Serialize)]
struct Library {
    /// The twelve ids.
    twelve: Vec<&'static str>,
    /// The twelve alone on the generated corpus.
    twelve_mb_per_s: f64,
    /// The default set over the twelve, on the generated corpus.
    default_over_twelve: f64,
    /// The core set (`--detectors core`: the original detectors) on the generated corpus, one
    /// thread, and its detectors.
    core_mb_per_s: f64,
    core_detectors: usize,
    /// Detectors and patterns of the whole library.
    all_detectors: usize,
    all_patterns: usize,
    /// The whole library on the generated corpus, and over the twelve.
    all_mb_per_s: f64,
    all_over_twelve: f64,
    /// The whole library's findings on the generated corpus equal the planted values.
    all_findings_equal_planted: Option<bool>,
    /// The whole library's compile time.
    all_compile_ms: f64,
    /// Compiling every regex of the library, which a scan does on first use of each.
    all_regexes_ms: f64,
    /// One thread's scratch space with the whole library, after the corpus.
    all_scratch_bytes_per_thread: usize,
    /// The whole library over the default set, on the generated corpus.
    all_over_default: f64,
    /// Decoy-dense text (`dlp_engine::decoys`): bytes, MB/s of the whole library and of the
    /// twelve, their ratio, and the library's findings on it (every one a false positive or a
    /// low-confidence shape).
    decoy_bytes: usize,
    decoy_full_mb_per_s: f64,
    decoy_twelve_mb_per_s: f64,
    decoy_full_over_twelve: f64,
    /// The default set on the decoys, and over the twelve.
    decoy_default_mb_per_s: f64,
    decoy_default_over_twelve: f64,
    decoy_findings_by_detector: BTreeMap<String, usize>,
}

/// The detectors the library is compared with: the design's first twelve.
const TWELVE: [&str; 12] = corpus::ORIGINAL_TWELVE;

#[derive(Debug, Serialize)]
struct Machine {
    cpu: String,
    cores: usize,
}

#[derive(Debug, Serialize)]
struct CorpusInfo {
    /// `generated`, or the path read.
    source: String,
    bytes: usize,
    seed: Option<u64>,
    plant_every: Option<u64>,
    /// Planted values by detector (generated corpus only).
    planted: Option<BTreeMap<String, usize>>,
}

#[derive(Debug, Serialize)]
struct EngineInfo {
    /// `builtins`, or the rule file.
    rules: String,
    rules_format: Option<&'static str>,
    /// Entries in the rule file.
    rule_entries: Option<usize>,
    /// Compiled patterns (a detector may have several).
    patterns: usize,
    detectors: usize,
    /// First build, then the best of `--repeat` builds.
    compile_ms_first: f64,
    compile_ms: f64,
    /// Rules left out before (duplicates) or during (do not compile) the build.
    rules_left_out: usize,
    rules_left_out_by_reason: BTreeMap<String, usize>,
    /// How the patterns are triggered (`DetectorSet::plan`).
    plan: String,
    left_out: Vec<LeftOut>,
    /// Peak heap growth of one scanner over the whole corpus: one thread's scratch space.
    scratch_bytes_per_thread: usize,
}

#[derive(Debug, Serialize)]
struct LeftOut {
    rule: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct Run {
    bytes: usize,
    seconds: f64,
    mb_per_s: f64,
    findings: usize,
}

#[derive(Debug, Serialize)]
struct Parallel {
    threads: usize,
    bytes: usize,
    seconds: f64,
    mb_per_s: f64,
    mb_per_s_per_core: f64,
    /// Parallel throughput over single-thread throughput.
    speedup: f64,
    findings: usize,
    /// Whether the parallel run found exactly what the single-thread run found.
    same_as_single_thread: bool,
}

#[derive(Debug, Serialize)]
struct Checks {
    /// Generated corpus: whether the findings, by detector, are exactly the planted values.
    findings_equal_planted: Option<bool>,
    findings_by_detector: BTreeMap<String, usize>,
    reference: ReferenceCheck,
}

#[derive(Debug, Serialize)]
struct ReferenceCheck {
    sample_bytes: usize,
    fast_findings: usize,
    reference_findings: usize,
    identical: bool,
    reference_seconds: f64,
    /// The first finding on which the two paths differ, when they do.
    first_difference: Option<String>,
}

#[derive(Debug, Serialize)]
struct Baseline {
    method: &'static str,
    sample_bytes: usize,
    regexes: usize,
    /// Patterns that `meta::Regex::new` rejects (none expected: the engine compiled them).
    rejected: usize,
    compile_ms: f64,
    seconds: f64,
    mb_per_s: f64,
    /// Non-overlapping regex matches, before any validation: not comparable with findings.
    matches: usize,
    /// Engine single-thread MB/s over baseline MB/s.
    engine_speedup: f64,
}

#[derive(Debug, Serialize)]
struct Adversarial {
    name: &'static str,
    description: &'static str,
    /// The engine's run (the default set, or the rules given), its fields at this level.
    #[serde(flatten)]
    run: AdversarialRun,
    /// The whole library on the same input (built-ins only): its findings are not checked (an
    /// IPv4 of a log line is one, at low confidence).
    library: Option<AdversarialRun>,
}

/// One engine's run over an adversarial input.
#[derive(Debug, Serialize)]
struct AdversarialRun {
    bytes: usize,
    seconds: f64,
    mb_per_s: f64,
    findings: usize,
    /// Of them, those of high confidence: an adversarial input holds nothing sensitive, but a
    /// page of random upper-case words may spell a context word (`BIC`) beside a word of a
    /// code's shape, a medium finding; a checksum or vendor structure is never met by chance.
    findings_high: usize,
    /// The findings by detector.
    findings_by_detector: BTreeMap<String, usize>,
    /// Scanned only a probe of the input because it was too slow for the full size.
    cut_short: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<u8> {
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let repeat = args.repeat;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let progress = Progress(args.format == BenchFormat::Human);

    // Rules first: a bad rule file should fail before minutes of corpus generation.
    let mut builder = keyed_builder();
    builder.skip_invalid_rules(true);
    let mut left_out = Vec::new();
    let (rules_name, rules_format, rule_entries) = match &args.rules {
        None => ("builtins".to_string(), None, None),
        Some(path) => {
            let set = rules::load(path)?;
            builder
                .builtins(false)
                .rules_toml(&set.toml, &path.display().to_string());
            left_out.extend(
                set.dropped
                    .into_iter()
                    .map(|(rule, reason)| LeftOut { rule, reason }),
            );
            (
                path.display().to_string(),
                Some(set.format),
                Some(set.entries),
            )
        }
    };
    progress.say("compiling the detectors");
    let (engine, first) = timed(|| builder.build());
    let engine = engine.context("cannot build the engine")?;
    let mut best = first;
    // A large rule set takes long enough to compile that one more build is plenty.
    let builds = if first > Duration::from_secs(1) {
        1
    } else {
        repeat
    };
    for _ in 1..builds {
        let (e, t) = timed(|| builder.build());
        drop(e);
        best = best.min(t);
    }
    left_out.extend(engine.rule_errors().iter().map(|e| {
        let message = e.to_string();
        LeftOut {
            rule: rule_id_of(&message).unwrap_or_default(),
            reason: message,
        }
    }));
    if engine.detectors().is_empty() {
        bail!("no detector left to run: every rule of the rule file was left out");
    }

    let (text, corpus_info) = load_corpus(&args, &progress)?;
    if text.is_empty() {
        bail!("the corpus is empty");
    }
    if let Some(path) = &args.save_corpus {
        std::fs::write(path, &text)
            .with_context(|| format!("cannot write the corpus to {}", path.display()))?;
        progress.say(&format!(
            "wrote {} to {}",
            human_bytes(text.len()),
            path.display()
        ));
        return Ok(0);
    }

    progress.say("scanning on one thread");
    let (fast, single) = scan_single(&engine, &text, repeat);
    progress.say(&format!("scanning on {threads} threads"));
    let parallel = scan_parallel(&engine, &text, threads, repeat, &fast, single.mb_per_s)?;
    let scratch = scratch_per_thread(&engine, &text);

    let findings_by_detector = by_detector(&fast);
    let findings_equal_planted = match (&corpus_info.planted, &args.rules) {
        (Some(planted), None) => Some(*planted == findings_by_detector),
        _ => None,
    };

    let sample = &text[..cut_at_line(&text, usize::try_from(args.sample).unwrap_or(usize::MAX))];
    progress.say(&format!(
        "checking the fast path against the reference path on {}",
        human_bytes(sample.len())
    ));
    let reference = reference_check(&engine, sample);

    // The library beside the twelve original detectors, on the same corpus and on decoys.
    let twelve = if args.rules.is_none() {
        let mut b = keyed_builder();
        b.detectors(TWELVE);
        Some(
            b.build()
                .context("cannot build the twelve-detector engine")?,
        )
    } else {
        None
    };
    let mut library_engine = None;
    let default_engine = &engine;
    let library = match &twelve {
        None => None,
        Some(twelve_engine) => {
            progress.say("the twelve original detectors alone, on one thread");
            let (_, twelve_run) = scan_single(twelve_engine, &text, repeat);
            let mut b = keyed_builder();
            b.detectors(["core"]);
            let core = b.build().context("cannot build the core set")?;
            progress.say("the core set (--detectors core), on one thread");
            let (_, core_run) = scan_single(&core, &text, repeat);
            let mut b = keyed_builder();
            b.detectors(["all"]);
            let (all, all_compile) = timed(|| b.build());
            let engine = all.context("cannot build the whole library")?;
            // Built-in regexes compile on first use; this is what compiling all of them costs.
            let (compiled, all_regexes) = timed(|| engine.compile_all());
            compiled.context("cannot compile the whole library")?;
            progress.say("the whole library (--detectors all), on one thread");
            let (all_found, all_run) = scan_single(&engine, &text, repeat);
            let all_scratch = scratch_per_thread(&engine, &text);
            let all_by = by_detector(&all_found);
            let all_findings_equal_planted = corpus_info.planted.as_ref().map(|p| *p == all_by);
            let decoy_bytes = usize::try_from(args.adversarial_size)
                .unwrap_or(usize::MAX)
                .min(64 << 20);
            progress.say(&format!("decoy-dense text ({})", human_bytes(decoy_bytes)));
            let decoys = dlp_engine::decoys::generate(decoy_bytes, 7);
            let (decoy_found, full_decoys) = scan_single(&engine, &decoys, repeat);
            let all_detectors = engine.detectors().len();
            let all_patterns = engine.pattern_sources().len();
            let (_, twelve_decoys) = scan_single(twelve_engine, &decoys, repeat);
            let (_, default_decoys) = scan_single(default_engine, &decoys, repeat);
            let by = by_detector(&decoy_found);
            library_engine = Some(engine);
            Some(Library {
                twelve: TWELVE.to_vec(),
                twelve_mb_per_s: twelve_run.mb_per_s,
                default_over_twelve: single.mb_per_s / twelve_run.mb_per_s.max(1e-9),
                core_mb_per_s: core_run.mb_per_s,
                core_detectors: core.detectors().len(),
                all_detectors,
                all_patterns,
                all_mb_per_s: all_run.mb_per_s,
                all_over_twelve: all_run.mb_per_s / twelve_run.mb_per_s.max(1e-9),
                all_findings_equal_planted,
                all_compile_ms: ms(all_compile),
                all_regexes_ms: ms(all_regexes),
                all_scratch_bytes_per_thread: all_scratch,
                all_over_default: all_run.mb_per_s / single.mb_per_s.max(1e-9),
                decoy_bytes: decoys.len(),
                decoy_full_mb_per_s: full_decoys.mb_per_s,
                decoy_twelve_mb_per_s: twelve_decoys.mb_per_s,
                decoy_full_over_twelve: full_decoys.mb_per_s / twelve_decoys.mb_per_s.max(1e-9),
                decoy_default_mb_per_s: default_decoys.mb_per_s,
                decoy_default_over_twelve: default_decoys.mb_per_s
                    / twelve_decoys.mb_per_s.max(1e-9),
                decoy_findings_by_detector: by,
            })
        }
    };

    let sources = engine.pattern_sources();
    progress.say(&format!(
        "baseline: {} regexes in turn over {}",
        sources.len(),
        human_bytes(sample.len())
    ));
    let baseline = baseline(&sources, sample, repeat, single.mb_per_s);

    // Hyperscan on the same corpus, its report (or why it did not run) as JSON.
    let run_hyperscan = |which: &str, sources: &[(String, String)]| {
        progress.say(&format!(
            "Hyperscan on the same corpus, {which}{} regexes",
            sources.len()
        ));
        match hyperscan::run(&text, sources, repeat) {
            Ok(v) => v,
            Err(e) => serde_json::json!({ "error": format!("{e:#}") }),
        }
    };
    let hyperscan = match args.compare {
        None => None,
        Some(Compare::Hyperscan) => {
            // With the built-ins, Hyperscan runs the twelve original detectors' regexes: the
            // comparison the library must hold its lead in.
            let hs_sources = twelve
                .as_ref()
                .map_or_else(|| sources.clone(), |t| t.pattern_sources());
            Some(run_hyperscan("", &hs_sources))
        }
    };
    // And on the whole library's regexes: the library's own job.
    let hyperscan_library = match (&args.compare, &library_engine) {
        (Some(Compare::Hyperscan), Some(all)) => Some(run_hyperscan(
            "the whole library's ",
            &all.pattern_sources(),
        )),
        _ => None,
    };
    drop(text);

    let adversarial = if args.adversarial {
        let size = usize::try_from(args.adversarial_size).unwrap_or(usize::MAX);
        adversarial_runs(&engine, library_engine.as_ref(), size, repeat, &progress)
    } else {
        Vec::new()
    };

    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for l in &left_out {
        *by_reason.entry(reason_class(&l.reason)).or_default() += 1;
    }
    let ok = findings_equal_planted != Some(false)
        && reference.identical
        && parallel.same_as_single_thread
        && adversarial.iter().all(|a| a.run.findings_high == 0);
    let report = Report {
        dlp_version: env!("CARGO_PKG_VERSION"),
        machine: Machine {
            cpu: cpu_model(),
            cores: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1),
        },
        corpus: corpus_info,
        engine: EngineInfo {
            rules: rules_name,
            rules_format,
            rule_entries,
            patterns: sources.len(),
            detectors: engine.detectors().len(),
            compile_ms_first: ms(first),
            compile_ms: ms(best),
            rules_left_out: left_out.len(),
            rules_left_out_by_reason: by_reason,
            left_out,
            plan: engine.plan(),
            scratch_bytes_per_thread: scratch,
        },
        single_thread: single,
        parallel,
        checks: Checks {
            findings_equal_planted,
            findings_by_detector,
            reference,
        },
        baseline,
        hyperscan,
        hyperscan_library,
        library,
        adversarial,
        peak_rss_bytes: peak_rss(),
        ok,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        BenchFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            use std::io::Write;
            writeln!(out)?;
        }
        BenchFormat::Human => write_human(&mut out, &report)?,
    }
    if !report.ok {
        eprintln!("dlp: bench: a correctness check failed (see `ok` and `checks`)");
        return Ok(1);
    }
    Ok(0)
}

/// Progress lines on stderr for the human format.
struct Progress(bool);

impl Progress {
    fn say(&self, what: &str) {
        if self.0 {
            eprintln!("dlp bench: {what}...");
        }
    }
}

fn load_corpus(args: &BenchArgs, progress: &Progress) -> anyhow::Result<(Vec<u8>, CorpusInfo)> {
    let limit = args.size.map(|s| usize::try_from(s).unwrap_or(usize::MAX));
    match &args.corpus {
        None => {
            let size = limit.unwrap_or(DEFAULT_SIZE as usize);
            let plant_every = usize::try_from(args.plant_every).unwrap_or(usize::MAX);
            progress.say(&format!("generating a {} corpus", human_bytes(size)));
            let c = corpus::generate(size, plant_every, args.seed);
            let planted = c.planted.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            let info = CorpusInfo {
                source: "generated".to_string(),
                bytes: c.text.len(),
                seed: Some(args.seed),
                plant_every: Some(args.plant_every),
                planted: Some(planted),
            };
            Ok((c.text, info))
        }
        Some(path) => {
            progress.say(&format!("reading {}", path.display()));
            let text = read_corpus(path, limit.unwrap_or(usize::MAX))?;
            let info = CorpusInfo {
                source: path.display().to_string(),
                bytes: text.len(),
                seed: None,
                plant_every: None,
                planted: None,
            };
            Ok((text, info))
        }
    }
}

/// Reads a file, or the regular files under a directory in name order joined by newlines, up to
/// `limit` bytes.
fn read_corpus(path: &Path, limit: usize) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the corpus {}", path.display()))?;
    let files: Vec<PathBuf> = if meta.is_dir() {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = entry.with_context(|| format!("cannot list {}", path.display()))?;
            if entry.file_type().is_file() {
                files.push(entry.into_path());
            }
        }
        if files.is_empty() {
            bail!("the corpus directory {} holds no file", path.display());
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut text = Vec::new();
    for file in files {
        if text.len() >= limit {
            break;
        }
        use std::io::Read;
        let f = std::fs::File::open(&file)
            .with_context(|| format!("cannot open {}", file.display()))?;
        if !text.is_empty() {
            text.push(b'\n');
        }
        f.take((limit - text.len()) as u64)
            .read_to_end(&mut text)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    Ok(text)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn mb_per_s(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64().max(1e-9)
}

fn ms(t: Duration) -> f64 {
    t.as_secs_f64() * 1e3
}

/// Single-thread scans; returns the findings of the last and the best time.
fn scan_single(engine: &Engine, text: &[u8], repeat: usize) -> (Vec<Finding>, Run) {
    let mut scanner = engine.scanner();
    let mut best = Duration::MAX;
    let mut findings = Vec::new();
    for _ in 0..repeat {
        let (f, t) = timed(|| scanner.scan(text));
        findings = f;
        best = best.min(t);
    }
    let run = Run {
        bytes: text.len(),
        seconds: best.as_secs_f64(),
        mb_per_s: mb_per_s(text.len(), best),
        findings: findings.len(),
    };
    (findings, run)
}

/// The findings of the engine's own parallel scan of one item held in memory.
fn parallel(engine: &Engine, text: &[u8], threads: usize) -> anyhow::Result<Vec<Finding>> {
    let mut found = Vec::new();
    engine
        .scan_parallel(text, threads, &mut found)
        .map_err(|e| e.into_scan_error())?;
    Ok(found)
}

/// The engine's own parallel scan of one large item
/// ([`DetectorSet::scan_parallel`](dlp_engine::DetectorSet::scan_parallel)), which must give
/// exactly the single-thread findings.
fn scan_parallel(
    engine: &Engine,
    text: &[u8],
    threads: usize,
    repeat: usize,
    single: &[Finding],
    single_mb_s: f64,
) -> anyhow::Result<Parallel> {
    let mut best = Duration::MAX;
    let mut found = Vec::new();
    for _ in 0..repeat {
        let (f, t) = timed(|| parallel(engine, text, threads));
        found = f?;
        best = best.min(t);
    }
    let rate = mb_per_s(text.len(), best);
    Ok(Parallel {
        threads,
        bytes: text.len(),
        seconds: best.as_secs_f64(),
        mb_per_s: rate,
        mb_per_s_per_core: rate / threads as f64,
        speedup: rate / single_mb_s.max(1e-9),
        findings: found.len(),
        same_as_single_thread: found == single,
    })
}

/// One thread's scratch space: what a fresh scanner holds after scanning the corpus (its regex
/// caches only grow until they reach their capacity).
fn scratch_per_thread(engine: &Engine, text: &[u8]) -> usize {
    let mut scanner = engine.scanner();
    scanner.scan(text);
    scanner.scratch_bytes()
}

/// The first line end at or after `at` (one past it), or the end of the text.
fn cut_at_line(text: &[u8], at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    match memchr_newline(&text[at..]) {
        Some(i) => at + i + 1,
        None => text.len(),
    }
}

fn memchr_newline(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

fn reference_check(engine: &Engine, sample: &[u8]) -> ReferenceCheck {
    let fast = engine.scanner().scan(sample);
    let (reference, t) = timed(|| engine.scan_reference(sample));
    let first_difference = if fast == reference {
        None
    } else {
        let i = fast
            .iter()
            .zip(&reference)
            .position(|(a, b)| a != b)
            .unwrap_or(fast.len().min(reference.len()));
        let show = |f: Option<&Finding>| {
            f.map_or("nothing".to_string(), |f| {
                format!("{} {}..{} ({})", f.detector, f.start, f.end, f.masked)
            })
        };
        Some(format!(
            "finding #{i}: fast path {}, reference path {}",
            show(fast.get(i)),
            show(reference.get(i))
        ))
    };
    ReferenceCheck {
        sample_bytes: sample.len(),
        fast_findings: fast.len(),
        reference_findings: reference.len(),
        identical: first_difference.is_none(),
        reference_seconds: t.as_secs_f64(),
        first_difference,
    }
}

/// The obvious way to run many regexes: one `meta::Regex` per pattern, each over the whole
/// sample in turn, counting matches (no validation).
fn baseline(
    sources: &[(String, String)],
    sample: &[u8],
    repeat: usize,
    engine_mb_s: f64,
) -> Option<Baseline> {
    let (regexes, compile) = timed(|| {
        sources
            .iter()
            .filter_map(|(_, src)| meta::Regex::new(src).ok())
            .collect::<Vec<_>>()
    });
    if regexes.is_empty() {
        return None;
    }
    // One pass over a large rule set takes long; one run is then enough.
    let runs = if regexes.len() > 100 { 1 } else { repeat };
    let mut best = Duration::MAX;
    let mut matches = 0;
    for _ in 0..runs {
        let (m, t) = timed(|| {
            regexes
                .iter()
                .map(|re| re.find_iter(sample).count())
                .sum::<usize>()
        });
        matches = m;
        best = best.min(t);
    }
    let rate = mb_per_s(sample.len(), best);
    Some(Baseline {
        method: "one regex-automata meta::Regex per pattern, run in turn",
        sample_bytes: sample.len(),
        regexes: regexes.len(),
        rejected: sources.len() - regexes.len(),
        compile_ms: ms(compile),
        seconds: best.as_secs_f64(),
        mb_per_s: rate,
        matches,
        engine_speedup: engine_mb_s / rate.max(1e-9),
    })
}

/// A builder whose findings are fingerprinted as `dlp scan` does by default: HMAC-SHA-256 under
/// a key (a fixed one here: the bench's corpus is generated, and the key does not change the
/// cost).
fn keyed_builder() -> EngineBuilder {
    let mut builder = EngineBuilder::new();
    builder.fingerprints(dlp_engine::detect::Fingerprints::Keyed(Box::new(
        [0x5a; dlp_engine::detect::KEY_LEN],
    )));
    builder
}

fn adversarial_runs(
    engine: &Engine,
    library: Option<&Engine>,
    size: usize,
    repeat: usize,
    progress: &Progress,
) -> Vec<Adversarial> {
    let mut scanner = engine.scanner();
    let mut library_scanner = library.map(Engine::scanner);
    let mut out = Vec::new();
    for input in adversarial::INPUTS {
        progress.say(&format!("adversarial input `{}`", input.name));
        let data = input.generate(size);
        let run = adversarial_run(&mut scanner, &data, repeat);
        let library = library_scanner
            .as_mut()
            .map(|scanner| adversarial_run(scanner, &data, repeat));
        out.push(Adversarial {
            name: input.name,
            description: input.description,
            run,
            library,
        });
    }
    out
}

/// How many of `findings` each detector made.
fn by_detector(findings: &[Finding]) -> BTreeMap<String, usize> {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        *by.entry(f.detector.clone()).or_default() += 1;
    }
    by
}

/// Times one engine on an adversarial input: the best of `repeat` scans, or only a probe
/// where the input is so slow that the full size would hold the run for minutes.
fn adversarial_run(
    scanner: &mut dlp_engine::detect::Scanner<'_>,
    data: &[u8],
    repeat: usize,
) -> AdversarialRun {
    let probe = ADVERSARIAL_PROBE.min(data.len());
    // The findings are counted and dropped outside the timed scan, as `scan_single` does.
    let (found, t) = timed(|| scanner.scan(&data[..probe]));
    let cut_short = probe < data.len() && mb_per_s(probe, t) < ADVERSARIAL_PROBE_MIN_MB_S;
    let data = if cut_short { &data[..probe] } else { data };
    let (mut best, mut findings) = if cut_short {
        (t, found)
    } else {
        (Duration::MAX, Vec::new())
    };
    if !cut_short {
        for _ in 0..repeat {
            let (found, t) = timed(|| scanner.scan(data));
            findings = found;
            best = best.min(t);
        }
    }
    let findings_by_detector = by_detector(&findings);
    AdversarialRun {
        bytes: data.len(),
        seconds: best.as_secs_f64(),
        mb_per_s: mb_per_s(data.len(), best),
        findings: findings.len(),
        findings_high: findings
            .iter()
            .filter(|f| f.confidence == dlp_engine::detect::Confidence::High)
            .count(),
        findings_by_detector,
        cut_short,
    }
}

/// `rules.toml: rule `x`: ...` → `x`.
fn rule_id_of(message: &str) -> Option<String> {
    let start = message.find("rule `")? + "rule `".len();
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// A short class of a left-out rule's reason, for counting: the part of the message after the
/// rule name, up to its first colon or parenthesis.
fn reason_class(reason: &str) -> String {
    let after = match reason.find("rule `") {
        Some(i) => {
            let rest = &reason[i + "rule `".len()..];
            rest.find("`: ").map_or(rest, |j| &rest[j + 3..])
        }
        None => reason,
    };
    let end = after.find([':', '(', '`', '\n']).unwrap_or(after.len());
    after[..end].trim().to_string()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Peak resident set size (VmHWM) on Linux.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// One line of Hyperscan's figures (or why it did not run), with `ours` (`what`) over them.
fn hyperscan_line(
    out: &mut impl std::io::Write,
    label: &str,
    h: &Value,
    ours: f64,
    what: &str,
) -> std::io::Result<()> {
    if let Some(err) = h.get("error").and_then(Value::as_str) {
        writeln!(out, "{label} not run: {err}")?;
        if err.contains("not installed") || err.contains("cannot run") {
            writeln!(out, "            {}", hyperscan::INSTALL_HINT)?;
        }
        return Ok(());
    }
    let f = |k: &str| h.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let hs_rate = f("mb_per_s");
    writeln!(
        out,
        "{label} {:>9.1} MB/s   {} of {} regexes compiled in {:.1} ms; {} match events; \
         {what} {:.2}x Hyperscan (one thread each)",
        hs_rate,
        f("compiled"),
        f("patterns"),
        f("compile_seconds") * 1e3,
        f("matches"),
        ours / hs_rate
    )?;
    for rejected in h
        .get("rejected")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        writeln!(
            out,
            "            rejected by Hyperscan: {} ({})",
            rejected["id"].as_str().unwrap_or("?"),
            rejected["error"].as_str().unwrap_or("?")
        )?;
    }
    Ok(())
}

fn human_bytes(n: usize) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn write_human(out: &mut impl std::io::Write, r: &Report) -> std::io::Result<()> {
    let e = &r.engine;
    writeln!(
        out,
        "dlp bench {} on {} ({} cores); MB = 10^6 bytes, best of runs",
        r.dlp_version, r.machine.cpu, r.machine.cores
    )?;
    writeln!(
        out,
        "corpus      {} ({})",
        r.corpus.source,
        human_bytes(r.corpus.bytes)
    )?;
    writeln!(
        out,
        "rules       {}: {} detectors, {} patterns; compile {:.1} ms (first build {:.1} ms); \
         keyed fingerprints (HMAC-SHA-256, as `dlp scan`)",
        e.rules, e.detectors, e.patterns, e.compile_ms, e.compile_ms_first
    )?;
    writeln!(out, "plan        {}", e.plan)?;
    if e.rules_left_out > 0 {
        writeln!(
            out,
            "            {} of {} rules left out:",
            e.rules_left_out,
            e.rule_entries.unwrap_or(0)
        )?;
        for (reason, n) in &e.rules_left_out_by_reason {
            writeln!(out, "              {n:>5}  {reason}")?;
        }
    }
    let s = &r.single_thread;
    writeln!(
        out,
        "1 thread    {:>9.1} MB/s   {} findings",
        s.mb_per_s, s.findings
    )?;
    let p = &r.parallel;
    writeln!(
        out,
        "{} threads   {:>9.1} MB/s   {:.1} MB/s per core, {:.2}x one thread{}",
        p.threads,
        p.mb_per_s,
        p.mb_per_s_per_core,
        p.speedup,
        if p.same_as_single_thread {
            ""
        } else {
            "  FINDINGS DIFFER FROM ONE THREAD"
        }
    )?;
    writeln!(
        out,
        "scratch     {} per thread; peak RSS {}",
        human_bytes(e.scratch_bytes_per_thread),
        r.peak_rss_bytes
            .map_or("unknown".to_string(), |b| human_bytes(b as usize))
    )?;
    let c = &r.checks;
    match c.findings_equal_planted {
        Some(true) => writeln!(out, "check       findings = planted values: ok")?,
        Some(false) => {
            writeln!(out, "check       findings = planted values: FAILED")?;
            writeln!(out, "            planted: {:?}", r.corpus.planted)?;
            writeln!(out, "            found:   {:?}", c.findings_by_detector)?;
        }
        None => {}
    }
    let rc = &c.reference;
    writeln!(
        out,
        "check       fast path = reference path on {}: {} ({} findings; reference path {:.2} s)",
        human_bytes(rc.sample_bytes),
        if rc.identical { "ok" } else { "FAILED" },
        rc.fast_findings,
        rc.reference_seconds
    )?;
    if let Some(d) = &rc.first_difference {
        writeln!(out, "            {d}")?;
    }
    if let Some(b) = &r.baseline {
        writeln!(
            out,
            "baseline    {:>9.1} MB/s   {} regexes in turn over {} ({} matches); compile {:.1} ms; \
             engine {:.1}x faster",
            b.mb_per_s,
            b.regexes,
            human_bytes(b.sample_bytes),
            b.matches,
            b.compile_ms,
            b.engine_speedup
        )?;
    }
    if let Some(h) = &r.hyperscan {
        hyperscan_line(out, "hyperscan  ", h, s.mb_per_s, "engine")?;
    }
    if let Some(l) = &r.library {
        writeln!(
            out,
            "twelve ids  {:>9.1} MB/s   the {} original detectors alone; the default set runs at {:.0}% of it",
            l.twelve_mb_per_s,
            l.twelve.len(),
            100.0 * l.default_over_twelve
        )?;
        writeln!(
            out,
            "core set    {:>9.1} MB/s   --detectors core: the {} original detectors, the fastest selection",
            l.core_mb_per_s, l.core_detectors
        )?;
        writeln!(
            out,
            "library     {:>9.1} MB/s   --detectors all: {} detectors, {} patterns, build {:.1} ms (+{:.1} ms to compile every regex, on first use), scratch {} per thread; {:.0}% of the twelve, {:.0}% of the default set; findings = planted: {}",
            l.all_mb_per_s,
            l.all_detectors,
            l.all_patterns,
            l.all_compile_ms,
            l.all_regexes_ms,
            human_bytes(l.all_scratch_bytes_per_thread),
            100.0 * l.all_over_twelve,
            100.0 * l.all_over_default,
            match l.all_findings_equal_planted {
                Some(true) => "ok",
                Some(false) => "NO",
                None => "-",
            }
        )?;
        let decoy_findings: usize = l.decoy_findings_by_detector.values().sum();
        writeln!(
            out,
            "decoys      {:>9.1} MB/s   the library on {} of decoy-dense text ({:.1} MB/s the twelve: {:.0}%; the default set {:.1} MB/s: {:.0}%); {} findings",
            l.decoy_full_mb_per_s,
            human_bytes(l.decoy_bytes),
            l.decoy_twelve_mb_per_s,
            100.0 * l.decoy_full_over_twelve,
            l.decoy_default_mb_per_s,
            100.0 * l.decoy_default_over_twelve,
            decoy_findings
        )?;
        if let Some(h) = &r.hyperscan_library {
            hyperscan_line(out, "hs library ", h, l.all_mb_per_s, "library")?;
        }
    }
    for a in &r.adversarial {
        let library = a.library.as_ref().map_or_else(String::new, |l| {
            format!(
                "; library {:.1} MB/s, {} findings{}",
                l.mb_per_s,
                l.findings,
                if l.cut_short { " (cut short)" } else { "" }
            )
        });
        writeln!(
            out,
            "adversarial {:>9.1} MB/s   {:<20} {} {} findings{}{library}",
            a.run.mb_per_s,
            a.name,
            human_bytes(a.run.bytes),
            a.run.findings,
            if a.run.cut_short {
                "  (cut short: too slow)"
            } else {
                ""
            }
        )?;
    }
    writeln!(
        out,
        "result      {}",
        if r.ok {
            "all checks passed"
        } else {
            "CHECKS FAILED"
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_classes() {
        let cases = [
            (
                "rules.yml: rule `x_y`: pattern cannot be compiled: error: look-around",
                "pattern cannot be compiled",
            ),
            (
                "rules.yml: rule `a`: pattern matches the empty string; fix it",
                "pattern matches the empty string; fix it",
            ),
            ("duplicate regex of `aws`", "duplicate regex of"),
        ];
        for (msg, want) in cases {
            assert_eq!(reason_class(msg), want, "{msg}");
        }
        assert_eq!(rule_id_of("f: rule `x_y`: bad").as_deref(), Some("x_y"));
        assert_eq!(rule_id_of("nothing"), None);
    }

    #[test]
    fn line_cuts() {
        let text = b"ab\ncd\nef";
        assert_eq!(cut_at_line(text, 0), 3);
        assert_eq!(cut_at_line(text, 3), 6);
        assert_eq!(cut_at_line(text, 7), 8);
        assert_eq!(cut_at_line(text, 100), 8);
    }
}
