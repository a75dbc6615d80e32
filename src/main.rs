//! `dlp`: find sensitive data in files, directories and chat workspaces.
//!
//! The binary only parses arguments, formats output and reports progress; the work happens in
//! `dlp-engine` (detection, extraction, bulk scans) and `dlp-connector` (ChatGPT Enterprise).

#![forbid(unsafe_code)]

mod bench;
mod chatgpt;
mod connectors;
mod extract;
mod output;
mod redact;
mod report;
mod run;
mod sarif;
mod scan;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Find sensitive data (card numbers, national ids, IBANs, API keys, private keys, custom
/// patterns) in files and chat workspaces.
#[derive(Debug, Parser)]
#[command(name = "dlp", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files and directories (recursively), or objects under s3:// URLs; `-` reads
    /// standard input.
    Scan(Box<scan::ScanArgs>),
    /// List the built-in detectors (and those of a rule file).
    Detectors(DetectorsArgs),
    /// Scan a ChatGPT Enterprise workspace through the Compliance API (or its simulator).
    Chatgpt(chatgpt::ChatgptArgs),
    /// Print the text extracted from a file, as the detectors see it.
    Extract(extract::ExtractArgs),
    /// Write a copy of a text file with every finding masked.
    Redact(redact::RedactArgs),
    /// Make a self-contained HTML report (totals, charts, top lists, a searchable table) of
    /// JSONL findings from `dlp scan` or the ChatGPT connector.
    Report(report::ReportArgs),
    /// Measure detection throughput on a generated (or given) corpus, with checked answers.
    Bench(bench::BenchArgs),
    /// Internal: serve extraction requests on standard input (started by `dlp scan`).
    #[command(name = "__extract-worker", hide = true)]
    ExtractWorker,
}

#[derive(Debug, clap::Args)]
struct DetectorsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
    /// Also list the rules of this TOML rule file.
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Human,
    Json,
    /// A Markdown table (the README's detector table is this output).
    Markdown,
}

/// Exit code for usage and configuration errors.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    // Re-run as an isolated extraction worker (`dlp __extract-worker`): serve, then exit.
    dlp_engine::serve_worker_if_requested();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(*args),
        Command::Detectors(args) => detectors(args),
        Command::Extract(args) => extract::run(args),
        Command::Redact(args) => redact::run(args),
        Command::Report(args) => report::run(args),
        Command::Chatgpt(args) => chatgpt::run(args),
        Command::Bench(args) => bench::run(args),
        // Served above, before the arguments are parsed; kept so that clap accepts the name.
        Command::ExtractWorker => Ok(0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("dlp: error: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn detectors(args: DetectorsArgs) -> anyhow::Result<u8> {
    // Every detector, those that run by default marked as such.
    let engine = scan::build_engine(&args.rules, Some(&["all".to_string()]))?;
    let list = engine.detectors();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, list)?;
            writeln!(out)?;
        }
        ListFormat::Markdown => output::write_detector_table(&mut out, list)?,
        ListFormat::Human => {
            for d in list {
                writeln!(
                    out,
                    "{:<28} {:<9} {:<3} {:<7} {:<7} {}",
                    d.id,
                    d.category.as_str(),
                    d.country.as_deref().unwrap_or("-"),
                    d.confidence.as_str(),
                    if d.default { "default" } else { "-" },
                    d.description
                )?;
            }
        }
    }
    Ok(0)
}
