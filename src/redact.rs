//! `dlp redact`: a copy of a text file with every finding masked, with the detectors and rules
//! of `dlp scan`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use dlp_engine::{Finding, FingerprintKey, Fingerprints};

/// Largest input: the text is held in memory with its copy.
const MAX_INPUT: u64 = 1 << 30;

#[derive(Debug, clap::Args)]
pub struct RedactArgs {
    /// The text file (UTF-8); `-` reads standard input.
    #[arg(value_name = "FILE")]
    input: PathBuf,
    /// Where to write the copy (default: standard output). Created readable by its owner
    /// only; refused if it is the input.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// How a value is replaced: `masked` (its preview, as findings show it: 4111 **** ****
    /// 1111), `stars` (a `*` per character, keeping the text's layout), `label` (the
    /// detector's id in angle brackets: <credit_card>).
    #[arg(long, value_enum, default_value_t = MaskWith::Masked, value_name = "HOW")]
    with: MaskWith,
    /// Custom rules (TOML); may be given more than once. Their allow-list entries keep values.
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Mask only what these detectors find (ids, categories or countries, as for `dlp scan`).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    detectors: Option<Vec<String>>,
    /// Leave these detectors out.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    exclude_detectors: Vec<String>,
    /// Mask only findings of at least this confidence.
    #[arg(long, value_name = "LEVEL", value_parser = crate::scan::parse_confidence)]
    min_confidence: Option<dlp_engine::Confidence>,
    /// No summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum MaskWith {
    Masked,
    Stars,
    Label,
}

/// The text with each finding's span replaced; findings are in order and do not overlap (a
/// finding that starts inside the previous one is left to it).
fn redact(text: &str, findings: &[Finding], with: MaskWith) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        if f.start < at || f.end > text.len() || !text.is_char_boundary(f.start) {
            continue;
        }
        out.push_str(&text[at..f.start]);
        match with {
            MaskWith::Masked => out.push_str(&f.masked),
            MaskWith::Stars => {
                let value = text.get(f.start..f.end).unwrap_or("");
                out.extend(
                    value
                        .chars()
                        .map(|c| if c.is_whitespace() { c } else { '*' }),
                );
            }
            MaskWith::Label => {
                out.push('<');
                out.push_str(&f.detector);
                out.push('>');
            }
        }
        at = f.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

pub fn run(args: RedactArgs) -> anyhow::Result<u8> {
    let name = args.input.display().to_string();
    let mut bytes = Vec::new();
    if args.input.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
    } else {
        std::fs::File::open(&args.input)
            .and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {name}"))?;
    }
    if bytes.len() as u64 > MAX_INPUT {
        anyhow::bail!("{name} is larger than 1 GiB; split it first");
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => text,
        _ => anyhow::bail!(
            "{name} is not a UTF-8 text file; dlp redact copies text only (for documents, see \
             what `dlp scan` finds in them)"
        ),
    };
    if let Some(out) = &args.output {
        let same = std::fs::canonicalize(out)
            .ok()
            .zip(std::fs::canonicalize(&args.input).ok())
            .is_some_and(|(a, b)| a == b);
        if same {
            anyhow::bail!(
                "--output {} is the input; write the copy elsewhere",
                out.display()
            );
        }
    }
    let mut builder = crate::scan::builder(&args.rules, args.detectors.as_deref())?;
    if !args.exclude_detectors.is_empty() {
        builder.exclude_detectors(args.exclude_detectors.iter().cloned());
    }
    if let Some(min) = args.min_confidence {
        builder.min_confidence(min);
    }
    // Fingerprints are not written anywhere: no key is needed.
    builder.fingerprint_key(FingerprintKey::Given(Fingerprints::Sha256));
    let engine = builder.build()?;
    let mut findings: Vec<Finding> = engine
        .scan_text(&text)
        .into_iter()
        .filter(|f| !f.allowed)
        .collect();
    findings.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let copy = redact(&text, &findings, args.with);
    match &args.output {
        Some(path) => dlp_engine::write_private(path, copy.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(copy.as_bytes())?;
            out.flush()?;
        }
    }
    if !args.quiet {
        let mut by: BTreeMap<&str, u64> = BTreeMap::new();
        for f in &findings {
            *by.entry(f.detector.as_str()).or_default() += 1;
        }
        let parts: Vec<String> = by.iter().map(|(d, n)| format!("{d}: {n}")).collect();
        eprintln!(
            "dlp: {} values masked in {name}{}",
            findings.len(),
            if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            }
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(detector: &str, start: usize, end: usize, masked: &str) -> Finding {
        Finding {
            detector: detector.into(),
            category: dlp_engine::Category::Pii,
            confidence: dlp_engine::Confidence::High,
            start,
            end,
            line: 1,
            column: 1,
            member: None,
            location: None,
            masked: masked.into(),
            fingerprint: String::new(),
            allowed: false,
            ocr: false,
        }
    }

    #[test]
    fn spans_are_replaced_and_the_rest_kept() {
        let text = "card 4111 1111 1111 1111 and ssn 123-45-6789.";
        let found = [
            finding("credit_card", 5, 24, "4111 **** **** 1111"),
            finding("us_ssn", 33, 44, "***-**-6789"),
        ];
        assert_eq!(
            redact(text, &found, MaskWith::Masked),
            "card 4111 **** **** 1111 and ssn ***-**-6789."
        );
        assert_eq!(
            redact(text, &found, MaskWith::Stars),
            "card **** **** **** **** and ssn ***********."
        );
        assert_eq!(
            redact(text, &found, MaskWith::Label),
            "card <credit_card> and ssn <us_ssn>."
        );
        // An overlapping finding is left to the first.
        let overlapping = [found[0].clone(), finding("x", 10, 30, "?")];
        assert_eq!(
            redact(text, &overlapping, MaskWith::Label),
            "card <credit_card> and ssn 123-45-6789."
        );
    }
}
