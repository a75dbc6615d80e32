//! The inspection engine: compiled detectors, the extraction settings and the isolation policy,
//! built once and shared. This module owns [`Engine`], its builder and the choice of where
//! untrusted documents are parsed ([`Isolation`]); scanning itself is `inspect`'s and `batch`'s.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dlp_detect::{DetectorInfo, DetectorSet, DetectorSetBuilder, Error, Finding};
use dlp_extract::isolate::WorkerPool;
use dlp_extract::{Filter, Limits};

use crate::keys::FingerprintKey;

/// The argument that makes a program built on `dlp-engine` serve as an extraction worker; see
/// [`serve_worker_if_requested`].
pub const WORKER_ARG: &str = "__extract-worker";

/// Plain files at least this large are read chunk by chunk by all threads of a batch together.
pub(crate) const LARGE_ITEM: u64 = 64 << 20;

/// Serves as an isolated extraction worker, and exits, when this process was started as one
/// (its first argument is [`WORKER_ARG`]); returns at once otherwise. A program that scans
/// documents with the default [`Isolation`] calls this first thing in `main`: the engine starts
/// its workers by running the program's own executable with that argument.
pub fn serve_worker_if_requested() {
    if std::env::args_os().nth(1).is_some_and(|a| a == WORKER_ARG) {
        std::process::exit(dlp_extract::isolate::worker_main());
    }
}

/// How to start an extraction worker: a program that, so started, calls
/// [`dlp_extract::isolate::worker_main`] (a `dlp-engine` program does so through
/// [`serve_worker_if_requested`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerCommand {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl WorkerCommand {
    /// Runs `program` with no argument.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        WorkerCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// This process's own executable with [`WORKER_ARG`]: the default.
    pub fn current_exe() -> Self {
        // `/proc/self/exe` names the same file where the path cannot be found.
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        let mut command = WorkerCommand::new(exe);
        command.arg(WORKER_ARG);
        command
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable of the worker.
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.env.push((key.into(), value.into()));
        self
    }

    fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// Where the third-party parsers of untrusted formats (PDF, Office, OpenDocument, e-mail,
/// archives) run. Plain text, CSV, JSON, HTML, XML and RTF are always read in-process by bounded
/// code of `dlp-extract`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// In worker processes with a memory cap, a time limit and a kill: a parser that crashes,
    /// loops or balloons on a hostile file costs that file (a `broken_file`, `timeout` or
    /// `limit_exceeded` skip), never the process. Workers start on first need and are reused.
    Workers {
        /// How to start one.
        command: WorkerCommand,
        /// At most this many at once (at least 1).
        workers: usize,
    },
    /// In this process: faster to start, but a stack overflow or an abort inside a parser
    /// takes the whole process down. Only for input you trust.
    InProcess,
}

impl Default for Isolation {
    /// Workers from this process's own executable ([`WorkerCommand::current_exe`]), one per
    /// core.
    fn default() -> Self {
        Isolation::Workers {
            command: WorkerCommand::current_exe(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// A compiled, immutable inspection engine: detectors, extraction limits and filter, and the
/// isolation of document parsers. Build it once with [`EngineBuilder`] and share it between
/// threads (it is `Send + Sync`); scan with [`Engine::scan`], a per-thread
/// [`Scanner`](crate::Scanner), or a
/// [`Batch`](crate::Batch) of paths.
#[derive(Debug)]
pub struct Engine {
    pub(crate) detectors: DetectorSet,
    pub(crate) limits: Limits,
    pub(crate) filter: Filter,
    /// `None`: documents are parsed in-process.
    pub(crate) pool: Option<Arc<WorkerPool>>,
    /// The allow entries' path globs.
    pub(crate) allow_paths: PathAllow,
    pub(crate) large_item: u64,
    /// The lowest confidence reported: findings in OCR'd text, lowered one step, are held to
    /// it again.
    pub(crate) min_confidence: dlp_detect::Confidence,
}

/// Configures and builds an [`Engine`].
///
/// ```
/// let mut builder = dlp_engine::EngineBuilder::new();
/// builder.rules_toml("[[rule]]\nid = \"project_code\"\npattern = 'PRJ-[0-9]{6}'\n", "inline");
/// let engine = builder.build()?;
/// let findings = engine.scan_text("see PRJ-123456 and 4111 1111 1111 1111");
/// assert_eq!(findings.len(), 2);
/// # Ok::<(), dlp_engine::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct EngineBuilder {
    detectors: DetectorSetBuilder,
    limits: Limits,
    filter: Filter,
    isolation: Isolation,
    fingerprint_key: FingerprintKey,
    large_item: Option<u64>,
    min_confidence: Option<dlp_detect::Confidence>,
}

impl EngineBuilder {
    /// Every built-in detector, no custom rule, default limits, no filter, isolated workers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to include the built-in detectors (default `true`).
    pub fn builtins(&mut self, yes: bool) -> &mut Self {
        self.detectors.builtins(yes);
        self
    }

    /// Whether a custom rule that does not compile is left out (and listed by
    /// [`DetectorSet::rule_errors`]) instead of failing the build (default `false`).
    pub fn skip_invalid_rules(&mut self, yes: bool) -> &mut Self {
        self.detectors.skip_invalid_rules(yes);
        self
    }

    /// Keeps only the detectors these selectors name: ids, categories (`financial`) or
    /// countries (`country:DE`); a selector that names nothing makes [`EngineBuilder::build`]
    /// fail.
    pub fn detectors<I, S>(&mut self, selectors: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.detectors.detectors(selectors);
        self
    }

    /// Leaves out the detectors these selectors name (as for [`EngineBuilder::detectors`]).
    pub fn exclude_detectors<I, S>(&mut self, selectors: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.detectors.exclude(selectors);
        self
    }

    /// Accepts (counts, does not report) the findings with these fingerprints: a baseline of
    /// known findings. It holds only under the fingerprint key it was written with.
    pub fn baseline<I, S>(&mut self, fingerprints: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.detectors.baseline(fingerprints);
        self
    }

    /// Reports only findings of at least this confidence (default: all). Findings in text
    /// recognised by OCR are held to it after their confidence is lowered one step.
    pub fn min_confidence(&mut self, confidence: dlp_detect::Confidence) -> &mut Self {
        self.detectors.min_confidence(confidence);
        self.min_confidence = Some(confidence);
        self
    }

    /// Adds the rules of a TOML rule file given as text; `origin` names it in errors.
    pub fn rules_toml(&mut self, text: &str, origin: &str) -> &mut Self {
        self.detectors.rules_toml(text, origin);
        self
    }

    /// Reads a TOML rule file and adds its rules.
    pub fn rules_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, Error> {
        self.detectors.rules_file(path)?;
        Ok(self)
    }

    /// Limits of extraction against hostile input (default [`Limits::default`]).
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Which items are inspected: a file-type allow-list and a maximum size (default all).
    pub fn filter(&mut self, filter: Filter) -> &mut Self {
        self.filter = filter;
        self
    }

    /// Where untrusted document parsers run (default: isolated workers).
    pub fn isolation(&mut self, isolation: Isolation) -> &mut Self {
        self.isolation = isolation;
        self
    }

    /// Where the key of fingerprints comes from (default: the installation's key, see
    /// [`FingerprintKey::Installation`]).
    pub fn fingerprint_key(&mut self, key: FingerprintKey) -> &mut Self {
        self.fingerprint_key = key;
        self
    }

    /// The size from which a plain file is scanned by all threads of a batch together
    /// (default 64 MiB). For tests.
    #[doc(hidden)]
    pub fn large_item(&mut self, bytes: u64) -> &mut Self {
        self.large_item = Some(bytes);
        self
    }

    /// Compiles the detectors and sets up isolation (no worker starts until a document needs
    /// one).
    pub fn build(&self) -> Result<Engine, Error> {
        let mut detectors = self.detectors.clone();
        detectors.fingerprints(self.fingerprint_key.resolve()?);
        let detectors = detectors.build()?;
        let allow_paths = PathAllow::build(detectors.allowed_paths())?;
        let pool = match &self.isolation {
            Isolation::InProcess => None,
            Isolation::Workers { command, workers } => Some(Arc::new(WorkerPool::new_lazy(
                command.command(),
                *workers,
                self.limits.clone(),
            ))),
        };
        Ok(Engine {
            detectors,
            limits: self.limits.clone(),
            filter: self.filter.clone(),
            pool,
            allow_paths,
            large_item: self.large_item.unwrap_or(LARGE_ITEM),
            min_confidence: self.min_confidence.unwrap_or(dlp_detect::Confidence::Low),
        })
    }
}

/// The path globs of allow entries: findings in items (or archive members) whose path matches
/// are accepted, for the detectors an entry names (any when it names none).
#[derive(Debug, Default)]
pub(crate) struct PathAllow {
    globs: Vec<(Vec<String>, globset::GlobMatcher)>,
}

impl PathAllow {
    fn build(paths: &[(Vec<String>, String)]) -> Result<PathAllow, Error> {
        let mut globs = Vec::with_capacity(paths.len());
        for (detectors, glob) in paths {
            let matcher = globset::GlobBuilder::new(glob)
                .literal_separator(false)
                .build()
                .map_err(|e| {
                    Error::new(
                        dlp_detect::ErrorKind::Rules,
                        format!("allow path `{glob}`: {e}"),
                    )
                })?
                .compile_matcher();
            globs.push((detectors.clone(), matcher));
        }
        Ok(PathAllow { globs })
    }

    /// Whether a finding of `detector` in `item` (and `member` inside it) is accepted.
    pub(crate) fn allows(&self, item: &Path, member: Option<&str>, detector: &str) -> bool {
        self.globs.iter().any(|(detectors, glob)| {
            (detectors.is_empty() || detectors.iter().any(|d| d == detector))
                && (glob.is_match(item) || member.is_some_and(|m| glob.is_match(m)))
        })
    }
}

impl Engine {
    /// The compiled detectors: their descriptions, the plan of their triggers, and a text-only
    /// scanner for callers that need nothing else.
    pub fn detector_set(&self) -> &DetectorSet {
        &self.detectors
    }

    /// The detectors this engine runs, one entry per id.
    pub fn detectors(&self) -> &[DetectorInfo] {
        self.detectors.detectors()
    }

    /// The extraction limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The inspection filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Whether documents are parsed in isolated worker processes.
    pub fn is_isolated(&self) -> bool {
        self.pool.is_some()
    }

    /// Scans a string as text and returns its findings in order of position.
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        self.detectors.scan_text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Engine>();
        assert::<EngineBuilder>();
        assert::<Error>();
        assert::<crate::Batch>();
    }
}
