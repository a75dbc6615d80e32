//! `dlp extract`: print what the detectors see in a file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use dlp_engine::extract::{self, Event, FileType};

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The file to extract (`-` for standard input).
    #[arg(value_name = "PATH", required_unless_present = "list_types")]
    path: Option<PathBuf>,
    /// Parse in this process instead of an isolated worker.
    #[arg(long)]
    in_process: bool,
    /// List the file-type names that `--file-types` accepts, and exit.
    #[arg(long)]
    list_types: bool,
    /// Do not read images by OCR.
    #[arg(long)]
    no_ocr: bool,
    /// Tesseract languages for OCR, comma-separated (default eng).
    #[arg(long, value_name = "LANG,...", value_delimiter = ',', value_parser = crate::scan::parse_ocr_language)]
    ocr_languages: Option<Vec<String>>,
}

pub fn run(args: ExtractArgs) -> anyhow::Result<u8> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.list_types {
        for t in FileType::all() {
            writeln!(out, "{}", t.name())?;
        }
        out.flush()?;
        return Ok(0);
    }
    let Some(path) = args.path else {
        anyhow::bail!("a PATH is needed");
    };
    let data = if path.as_os_str() == "-" {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut data)
            .context("cannot read standard input")?;
        data
    } else {
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let defaults = extract::Limits::default();
    let limits = extract::Limits {
        ocr: !args.no_ocr,
        ocr_languages: args.ocr_languages.unwrap_or(defaults.ocr_languages.clone()),
        ..defaults
    };
    let filter = extract::Filter::default();
    let pool = (!args.in_process).then(|| {
        let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
        let mut command = std::process::Command::new(exe);
        command.arg(dlp_engine::WORKER_ARG);
        extract::isolate::WorkerPool::new_lazy(command, 1, limits.clone())
    });
    let mut write_error = None;
    let mut current: Option<(Option<String>, Option<String>, bool)> = None;
    let mut sink = |event: Event<'_>| {
        let result = (|| -> std::io::Result<()> {
            let ocr = matches!(event, Event::OcrText { .. });
            match event {
                Event::Text {
                    member,
                    location,
                    text,
                }
                | Event::OcrText {
                    member,
                    location,
                    text,
                } => {
                    let key = (
                        member.map(str::to_string),
                        location.map(str::to_string),
                        ocr,
                    );
                    if current.as_ref() != Some(&key) {
                        writeln!(
                            out,
                            "==> {}{}{}{} <==",
                            member.unwrap_or("(top level)"),
                            if location.is_some() { " @ " } else { "" },
                            location.unwrap_or(""),
                            if ocr { " (OCR)" } else { "" }
                        )?;
                        current = Some(key);
                    }
                    writeln!(out, "{text}")
                }
                Event::Skipped {
                    member,
                    reason,
                    detail,
                } => writeln!(
                    out,
                    "==> {} skipped ({}): {detail} <==",
                    member.unwrap_or("(top level)"),
                    reason.as_str()
                ),
                Event::ItemDone { .. } => Ok(()),
            }
        })();
        if let Err(e) = result {
            write_error.get_or_insert(e);
        }
    };
    match &pool {
        Some(pool) => pool.walk(&data, &filter, &mut sink),
        None => extract::walk(&data, &limits, &filter, &mut sink),
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    Ok(0)
}
