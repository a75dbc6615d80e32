//! `dlp bench --compare hyperscan`: Hyperscan on the same corpus and the same regexes.
//!
//! Hyperscan runs through its PyPI binding (`benches/hyperscan_bench.py`, embedded in this
//! binary so that the command works from any directory). The corpus and the engine's exact
//! pattern regexes go to a temporary directory; the script compiles and scans, and prints its
//! figures as JSON. A missing Python or binding is a note in the report, never a failure.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context as _;
use serde::Serialize;

const SCRIPT: &str = include_str!("../../benches/hyperscan_bench.py");

/// How to install the binding, for the report.
pub const INSTALL_HINT: &str = "install it with `bash benches/install-hyperscan.sh` \
                                (pip install hyperscan), then run again";

#[derive(Serialize)]
struct PatternOut<'a> {
    id: &'a str,
    regex: &'a str,
}

/// Runs Hyperscan; `Ok(json)` is the script's report (which may itself be `{"error": ...}`).
pub fn run(
    text: &[u8],
    patterns: &[(String, String)],
    repeat: usize,
) -> anyhow::Result<serde_json::Value> {
    let dir = TempDir::new()?;
    let script = dir.0.join("hyperscan_bench.py");
    let corpus = dir.0.join("corpus.bin");
    let pattern_file = dir.0.join("patterns.json");
    std::fs::write(&script, SCRIPT).context("cannot write the Hyperscan script")?;
    std::fs::write(&corpus, text).context("cannot write the corpus for Hyperscan")?;
    let list: Vec<PatternOut> = patterns
        .iter()
        .map(|(id, regex)| PatternOut { id, regex })
        .collect();
    std::fs::write(&pattern_file, serde_json::to_vec(&list)?)
        .context("cannot write the patterns for Hyperscan")?;

    let python = std::env::var("DLP_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(&python)
        .arg(&script)
        .arg("--patterns")
        .arg(&pattern_file)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--repeat")
        .arg(repeat.to_string())
        .output()
        .with_context(|| format!("cannot run `{python}` (set DLP_PYTHON to another Python)"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "the Hyperscan script failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    Ok(report)
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("dlp-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
