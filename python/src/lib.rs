//! `dlp._native`: the Python package's native module. It wraps `dlp-engine` for Python: an
//! [`Engine`] built once from its configuration (which is also what it pickles as), scans of
//! text, bytes and paths with the interpreter's lock released, and results as Python objects
//! with the JSONL record's fields.
//!
//! Documents are parsed in worker processes, as by `dlp scan`: this interpreter's executable
//! re-run with `-c "import dlp._native; dlp._native._serve_worker()"`, so a hostile document
//! costs its item (a skip with a reason), never the Python process.

#![allow(missing_docs)] // Python-facing items carry Python docstrings instead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use dlp_engine::{
    Batch, Collect, Confidence, EngineBuilder, FileType, Filter, Finding as EngineFinding,
    FingerprintKey, Fingerprints, Isolation, Limits, Request, ScanError, WorkerCommand,
};
use dlp_store::scan::Objects;
use dlp_store::{ObjectUrl, Store};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

create_exception!(_native, Error, PyException, "Base class of dlp's errors.");
create_exception!(
    _native,
    RulesError,
    Error,
    "A rule file, a detector selection or an option that cannot make an engine."
);
create_exception!(
    _native,
    InputError,
    Error,
    "Input that cannot be scanned at all (a scan of a file that is merely missing, broken or \
     hostile is not an error: its result says why it was skipped)."
);

/// The version of this package, which is the engine's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything an engine is built from: what it pickles as, and the key of the per-process cache
/// of engines. Rule files are kept as their text, so an engine unpickled on another machine
/// needs no copy of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Config {
    /// (origin, TOML text) of each rule file.
    rules: Vec<(String, String)>,
    detectors: Option<Vec<String>>,
    exclude_detectors: Vec<String>,
    min_confidence: Option<String>,
    fingerprint_key_file: Option<String>,
    plain_fingerprints: bool,
    max_file_size: Option<u64>,
    file_types: Option<Vec<String>>,
    ocr: bool,
    ocr_languages: Option<Vec<String>>,
    in_process: bool,
    workers: Option<usize>,
}

/// How to start an extraction worker from this interpreter: its executable, without site
/// packages, with the folder that holds the `dlp` package on its path.
#[derive(Clone, Debug)]
struct WorkerStart {
    python: PathBuf,
    package_parent: PathBuf,
}

impl WorkerStart {
    fn find(py: Python<'_>) -> PyResult<WorkerStart> {
        let python: String = py.import("sys")?.getattr("executable")?.extract()?;
        if python.is_empty() {
            return Err(Error::new_err(
                "this interpreter does not know its executable (sys.executable is empty), so \
                 dlp cannot start its isolated document workers: pass in_process=True to parse \
                 documents in this process (only for trusted input)",
            ));
        }
        let init: String = py.import("dlp")?.getattr("__file__")?.extract()?;
        let package_parent = Path::new(&init)
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .ok_or_else(|| Error::new_err(format!("cannot locate the dlp package from {init}")))?;
        Ok(WorkerStart {
            python: PathBuf::from(python),
            package_parent,
        })
    }

    fn command(&self) -> WorkerCommand {
        let mut command = WorkerCommand::new(&self.python);
        command
            .arg("-S")
            .arg("-c")
            .arg("import dlp._native as n; n._serve_worker()")
            .env("PYTHONPATH", &self.package_parent)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        command
    }
}

/// A built engine, with the process that built it: a process forked from it (multiprocessing,
/// a Spark daemon) must not share its worker processes, so it builds its own.
#[derive(Debug)]
struct Built {
    pid: u32,
    engine: Arc<dlp_engine::Engine>,
}

fn rules_error(e: dlp_engine::Error) -> PyErr {
    match e.kind() {
        dlp_engine::ErrorKind::Rules | dlp_engine::ErrorKind::UnknownDetector => {
            RulesError::new_err(e.to_string())
        }
        dlp_engine::ErrorKind::Io => InputError::new_err(e.to_string()),
        _ => Error::new_err(e.to_string()),
    }
}

/// Engines built in this process, for tests of "once per process".
static BUILT: AtomicU64 = AtomicU64::new(0);

impl Config {
    fn build(&self, py: Python<'_>) -> PyResult<dlp_engine::Engine> {
        BUILT.fetch_add(1, Ordering::Relaxed);
        let mut builder = EngineBuilder::new();
        for (origin, text) in &self.rules {
            builder.rules_toml(text, origin);
        }
        if let Some(selectors) = &self.detectors {
            builder.detectors(selectors.iter().cloned());
        }
        if !self.exclude_detectors.is_empty() {
            builder.exclude_detectors(self.exclude_detectors.iter().cloned());
        }
        if let Some(name) = &self.min_confidence {
            let confidence =
                Confidence::from_name(&name.trim().to_ascii_lowercase()).ok_or_else(|| {
                    RulesError::new_err(format!(
                        "min_confidence `{name}` is not a confidence: use \"low\", \"medium\" or \
                         \"high\""
                    ))
                })?;
            builder.min_confidence(confidence);
        }
        builder.fingerprint_key(FingerprintKey::Given(self.fingerprints()?));
        let file_types = match &self.file_types {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| {
                        n.parse::<FileType>().map_err(|_| {
                            RulesError::new_err(format!(
                                "file_types: `{n}` is not a file type (see `dlp extract \
                                 --list-types`)"
                            ))
                        })
                    })
                    .collect::<PyResult<Vec<_>>>()?,
            ),
        };
        builder.filter(Filter {
            file_types,
            max_file_size: self.max_file_size,
        });
        let defaults = Limits::default();
        builder.limits(Limits {
            ocr: self.ocr,
            ocr_languages: self
                .ocr_languages
                .clone()
                .unwrap_or(defaults.ocr_languages.clone()),
            ..defaults
        });
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        builder.isolation(if self.in_process {
            Isolation::InProcess
        } else {
            Isolation::Workers {
                command: WorkerStart::find(py)?.command(),
                workers,
            }
        });
        builder.build().map_err(rules_error)
    }

    /// The fingerprints of this configuration, resolving the key as `dlp scan` does.
    fn fingerprints(&self) -> PyResult<Fingerprints> {
        let source = if self.plain_fingerprints {
            FingerprintKey::Given(Fingerprints::Sha256)
        } else if let Some(path) = &self.fingerprint_key_file {
            FingerprintKey::File(PathBuf::from(path))
        } else {
            FingerprintKey::Installation
        };
        source
            .resolve()
            .map_err(|e| InputError::new_err(e.to_string()))
    }

    /// What a scan's output depends on, as a hex digest: the engine's version, the rules and
    /// options that change findings, and the fingerprint key (by a digest of it, never the key).
    fn id(&self) -> PyResult<String> {
        let key_id = match self.fingerprints()? {
            Fingerprints::Sha256 => "sha256".to_string(),
            Fingerprints::Keyed(key) => hex(&Sha256::digest(
                [b"dlp fingerprint key id\0".as_slice(), &key[..]].concat(),
            )),
        };
        let mut digest = Sha256::new();
        let relevant = serde_json::json!({
            "version": VERSION,
            "rules": self.rules,
            "detectors": self.detectors,
            "exclude_detectors": self.exclude_detectors,
            "min_confidence": self.min_confidence,
            "max_file_size": self.max_file_size,
            "file_types": self.file_types,
            "ocr": self.ocr,
            "ocr_languages": self.ocr_languages,
            "key": key_id,
        });
        digest.update(relevant.to_string().as_bytes());
        Ok(hex(&digest.finalize()))
    }
}

/// An optional string as Python writes it (`None`, `'a'`), for `__repr__`.
fn py_str(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), |s| format!("{s:?}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Engines built by unpickling, one per configuration and process: each with the process that
/// built it.
type Cache = HashMap<String, (u32, Arc<dlp_engine::Engine>)>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Forgets an engine that a forked process inherited: its worker processes are its parent's,
/// and dropping it would kill them.
fn forget_inherited(engine: Arc<dlp_engine::Engine>) {
    std::mem::forget(engine);
}

/// The inspection engine: built once from its configuration, then shared between threads.
///
/// Engine(rules=None, detectors=None, exclude_detectors=None, min_confidence=None, *,
///        fingerprint_key_file=None, plain_fingerprints=False, max_file_size=None,
///        file_types=None, ocr=True, ocr_languages=None, in_process=False, workers=None)
#[pyclass(module = "dlp", frozen)]
#[derive(Debug)]
struct Engine {
    config: Config,
    /// The configuration as JSON: what the engine pickles as, and its cache key.
    state: String,
    config_id: String,
    built: Mutex<Built>,
}

impl Engine {
    fn from_config(py: Python<'_>, config: Config, cached: bool) -> PyResult<Engine> {
        let state = serde_json::to_string(&config)
            .map_err(|e| Error::new_err(format!("cannot record the configuration: {e}")))?;
        let config_id = config.id()?;
        let pid = std::process::id();
        let engine = if cached {
            let poisoned = |_| Error::new_err("the engine cache is poisoned");
            let hit = cache().lock().map_err(poisoned)?.remove(&state);
            let engine = match hit {
                Some((built_by, engine)) if built_by == pid => engine,
                inherited => {
                    if let Some((_, engine)) = inherited {
                        forget_inherited(engine);
                    }
                    Arc::new(config.build(py)?)
                }
            };
            cache()
                .lock()
                .map_err(poisoned)?
                .insert(state.clone(), (pid, engine.clone()));
            engine
        } else {
            Arc::new(config.build(py)?)
        };
        Ok(Engine {
            config,
            state,
            config_id,
            built: Mutex::new(Built { pid, engine }),
        })
    }

    /// The engine for this process: rebuilt once after a fork.
    fn engine(&self, py: Python<'_>) -> PyResult<Arc<dlp_engine::Engine>> {
        let mut built = self
            .built
            .lock()
            .map_err(|_| Error::new_err("the engine lock is poisoned"))?;
        let pid = std::process::id();
        if built.pid != pid {
            let fresh = Built {
                pid,
                engine: Arc::new(self.config.build(py)?),
            };
            forget_inherited(std::mem::replace(&mut *built, fresh).engine);
        }
        Ok(built.engine.clone())
    }
}

/// Reads rule files given as a path, or a list of paths.
fn read_rules(rules: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(rules) = rules else {
        return Ok(Vec::new());
    };
    if rules.is_none() {
        return Ok(Vec::new());
    }
    let paths: Vec<PathBuf> = if rules.is_instance_of::<PyString>() || !rules.hasattr("__iter__")? {
        vec![rules.extract()?]
    } else {
        rules
            .try_iter()?
            .map(|p| p.and_then(|p| p.extract::<PathBuf>()))
            .collect::<PyResult<_>>()?
    };
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                RulesError::new_err(format!("cannot read the rule file {}: {e}", path.display()))
            })?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

/// What a scan reads: local paths and object URLs (`s3://bucket/prefix`).
#[derive(Debug, Default)]
struct Inputs {
    paths: Vec<PathBuf>,
    urls: Vec<String>,
}

impl Inputs {
    /// A path, a URL, or an iterable of them.
    fn from_py(value: &Bound<'_, PyAny>) -> PyResult<Inputs> {
        let items: Vec<Bound<'_, PyAny>> =
            if value.is_instance_of::<PyString>() || !value.hasattr("__iter__")? {
                vec![value.clone()]
            } else {
                value.try_iter()?.collect::<PyResult<_>>()?
            };
        let mut inputs = Inputs::default();
        for item in items {
            match item.cast::<PyString>() {
                Ok(text) if dlp_store::is_object_url(&text.to_cow()?) => {
                    inputs.urls.push(text.to_cow()?.into_owned());
                }
                _ => inputs.paths.push(item.extract()?),
            }
        }
        Ok(inputs)
    }

    /// Parses the URLs and opens their buckets: a bad URL or missing credentials fail here,
    /// before anything is scanned.
    fn objects(&self) -> PyResult<Option<Objects>> {
        if self.urls.is_empty() {
            return Ok(None);
        }
        let urls: Vec<&str> = self.urls.iter().map(String::as_str).collect();
        Objects::open(&urls)
            .map(Some)
            .map_err(|e| InputError::new_err(e.to_string()))
    }

    /// Scans everything: files and directories by a `Batch`, objects by their store.
    fn scan<S: dlp_engine::Sink + ?Sized>(
        &self,
        engine: &dlp_engine::Engine,
        objects: Option<&Objects>,
        threads: Option<usize>,
        sink: &mut S,
    ) -> Result<(), ScanError<S::Error>> {
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        if !self.paths.is_empty() {
            Batch::new()
                .threads(threads)
                .run(engine, &self.paths, &mut *sink)?;
        }
        if let Some(objects) = objects {
            objects.scan(engine, threads, sink)?;
        }
        Ok(())
    }
}

/// A list of names from a string (comma-separated, as on the command line) or an iterable.
fn names(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Vec<String>>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_cow()?;
        return Ok(Some(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        ));
    }
    let items: PyResult<Vec<String>> = value
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{what}: expected a list of names")))?
        .map(|item| item.and_then(|i| i.extract::<String>()))
        .collect();
    items.map(Some)
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (rules=None, detectors=None, exclude_detectors=None, min_confidence=None,
                        *, fingerprint_key_file=None, plain_fingerprints=false,
                        max_file_size=None, file_types=None, ocr=true, ocr_languages=None,
                        in_process=false, workers=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        detectors: Option<&Bound<'_, PyAny>>,
        exclude_detectors: Option<&Bound<'_, PyAny>>,
        min_confidence: Option<String>,
        fingerprint_key_file: Option<PathBuf>,
        plain_fingerprints: bool,
        max_file_size: Option<u64>,
        file_types: Option<&Bound<'_, PyAny>>,
        ocr: bool,
        ocr_languages: Option<&Bound<'_, PyAny>>,
        in_process: bool,
        workers: Option<usize>,
    ) -> PyResult<Engine> {
        if plain_fingerprints && fingerprint_key_file.is_some() {
            return Err(RulesError::new_err(
                "plain_fingerprints and fingerprint_key_file exclude each other: plain SHA-256 \
                 fingerprints use no key",
            ));
        }
        let config = Config {
            rules: read_rules(rules)?,
            detectors: names(detectors, "detectors")?,
            exclude_detectors: names(exclude_detectors, "exclude_detectors")?.unwrap_or_default(),
            min_confidence,
            fingerprint_key_file: fingerprint_key_file.map(|p| p.display().to_string()),
            plain_fingerprints,
            max_file_size,
            file_types: names(file_types, "file_types")?,
            ocr,
            ocr_languages: names(ocr_languages, "ocr_languages")?,
            in_process,
            workers,
        };
        Engine::from_config(py, config, false)
    }

    /// A hex digest of what this engine's results depend on: the engine version, the rules,
    /// the detector selection, the options that change findings and the fingerprint key (by a
    /// digest, never the key). Two engines with the same id report the same findings.
    #[getter]
    fn config_id(&self) -> &str {
        &self.config_id
    }

    /// The detectors this engine runs: a list of dicts with id, category, country, confidence,
    /// confidence_rule, description, builtin.
    fn detectors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let engine = self.engine(py)?;
        let list = PyList::empty(py);
        for d in engine.detectors() {
            let dict = PyDict::new(py);
            dict.set_item("id", &d.id)?;
            dict.set_item("category", d.category.as_str())?;
            dict.set_item("country", d.country.as_deref())?;
            dict.set_item("confidence", d.confidence.as_str())?;
            dict.set_item("confidence_rule", &d.confidence_rule)?;
            dict.set_item("description", &d.description)?;
            dict.set_item("builtin", d.builtin)?;
            list.append(dict)?;
        }
        Ok(list)
    }

    /// Scans a string as text. Findings' `start`/`end` are byte offsets in its UTF-8 form,
    /// as in JSONL; `char_start`/`char_end` index the Python string.
    #[pyo3(signature = (text, name=None))]
    fn scan_text(
        &self,
        py: Python<'_>,
        text: &Bound<'_, PyString>,
        name: Option<String>,
    ) -> PyResult<ScanResult> {
        let engine = self.engine(py)?;
        let text = text.to_cow()?;
        let text: &str = &text;
        let started = Instant::now();
        let (found, report) = py.detach(|| {
            let mut found = Collect::default();
            let mut request = Request::text(text);
            if let Some(name) = &name {
                request = request.name(name);
            }
            let report = engine.scan(request, &mut found);
            (found, report)
        });
        let report = report.map_err(scan_error)?;
        let mut result =
            ScanResult::from_collect(found, name.clone(), report.bytes, report.file_type, started);
        char_offsets(text, &mut result.findings);
        Ok(result)
    }

    /// Scans bytes of any supported type: text in any common encoding, documents (PDF,
    /// Office, OpenDocument, e-mail, images by OCR) and archives, with the limits of
    /// `dlp scan`. `name` (a file name) is reported as the path and helps type detection.
    #[pyo3(signature = (data, name=None))]
    fn scan_bytes(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        name: Option<String>,
    ) -> PyResult<ScanResult> {
        let engine = self.engine(py)?;
        let data: &[u8] = if let Ok(bytes) = data.cast::<PyBytes>() {
            bytes.as_bytes()
        } else {
            return Err(PyTypeError::new_err(format!(
                "scan_bytes takes bytes, not {} (scan a str with scan_text)",
                data.get_type().name()?
            )));
        };
        let started = Instant::now();
        let (found, report) = py.detach(|| {
            let mut found = Collect::default();
            let mut request = Request::bytes(data);
            if let Some(name) = &name {
                request = request.name(name);
            }
            let report = engine.scan(request, &mut found);
            (found, report)
        });
        let report = report.map_err(scan_error)?;
        Ok(ScanResult::from_collect(
            found,
            name,
            report.bytes,
            report.file_type,
            started,
        ))
    }

    /// Scans a file, or every file under a directory (in parallel, `threads` at once, default
    /// one per core), or every object under an `s3://bucket/prefix` URL. A path that is
    /// missing, unreadable, too large or hostile is not an error: the result says it was
    /// skipped, and why. A bad URL or missing storage credentials raise `InputError`.
    #[pyo3(signature = (path, threads=None))]
    fn scan_path(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<ScanResult> {
        if !path.is_instance_of::<PyString>() && path.hasattr("__iter__")? {
            return Err(PyTypeError::new_err(
                "scan_path takes one path or URL; iter_path takes several",
            ));
        }
        let inputs = Inputs::from_py(path)?;
        let shown = match (inputs.paths.first(), inputs.urls.first()) {
            (Some(path), _) => path.display().to_string(),
            (None, Some(url)) => url.clone(),
            (None, None) => String::new(),
        };
        let engine = self.engine(py)?;
        let objects = inputs.objects()?;
        let started = Instant::now();
        let (found, outcome) = py.detach(|| {
            let mut found = Collect::default();
            // One regular file is scanned on this thread (a batch's threads would cost more
            // than a small file's scan); a directory, a URL or a path that is not a readable
            // file goes through the batch, which walks it and says why it skips.
            let outcome = match inputs.paths.as_slice() {
                [file]
                    if objects.is_none() && std::fs::metadata(file).is_ok_and(|m| m.is_file()) =>
                {
                    let mut request = Request::path(file);
                    if let Some(n) = threads {
                        request = request.threads(n.max(1));
                    }
                    engine.scan(request, &mut found).map(|_| ())
                }
                _ => inputs.scan(&engine, objects.as_ref(), threads, &mut found),
            };
            (found, outcome)
        });
        outcome.map_err(scan_error)?;
        let bytes = found.reports.iter().map(|r| r.bytes).sum();
        let file_type = match found.reports.as_slice() {
            [one] if one.path.as_os_str() == shown.as_str() => one.file_type,
            _ => None,
        };
        let files = found.reports.len() as u64;
        let mut result = ScanResult::from_collect(found, Some(shown), bytes, file_type, started);
        result.files = files;
        Ok(result)
    }

    /// Scans files and directories like `scan_path`, giving one `ScanResult` per file as each
    /// finishes (in the order they finish), so that a long scan shows progress and its results
    /// need not fit in memory. Leaving the loop early stops the scan.
    #[pyo3(signature = (paths, threads=None))]
    fn iter_path(
        &self,
        py: Python<'_>,
        paths: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<ResultIter> {
        let engine = self.engine(py)?;
        let inputs = Inputs::from_py(paths)?;
        let objects = inputs.objects()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(64);
        let started = Instant::now();
        let handle = std::thread::Builder::new()
            .name("dlp-iter-path".into())
            .spawn(move || {
                let mut sink = Forward {
                    pending: HashMap::new(),
                    tx,
                };
                inputs
                    .scan(&engine, objects.as_ref(), threads, &mut sink)
                    .map_err(|e| match e {
                        ScanError::Scan(e) => e.to_string(),
                        ScanError::Sink(never) => match never {},
                    })
            })
            .map_err(|e| Error::new_err(format!("cannot start the scan's thread: {e}")))?;
        Ok(ResultIter {
            rx: Mutex::new(rx),
            handle: Mutex::new(Some(handle)),
            started,
        })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let rebuild = py.import("dlp._native")?.getattr("_engine_from_state")?;
        (rebuild, (self.state.clone(),)).into_pyobject(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "dlp.Engine(config_id='{}')",
            &self.config_id[..12.min(self.config_id.len())]
        )
    }
}

/// One finished file of an `iter_path` scan.
type Done = (Collect, PathBuf, u64, Option<FileType>);

/// The sink of `iter_path`: gathers each file's findings and skips, and hands the file on when
/// it is finished. When the consumer has gone, it stops the scan.
struct Forward {
    pending: HashMap<PathBuf, Collect>,
    tx: std::sync::mpsc::SyncSender<Done>,
}

impl dlp_engine::Sink for Forward {
    type Error = std::convert::Infallible;

    fn finding(
        &mut self,
        item: &Path,
        finding: EngineFinding,
    ) -> Result<dlp_engine::Flow, Self::Error> {
        let pending = self.pending.entry(item.to_path_buf()).or_default();
        pending.findings.push((item.to_path_buf(), finding));
        Ok(dlp_engine::Flow::Continue)
    }

    fn skipped(
        &mut self,
        item: &Path,
        skipped: dlp_engine::Skipped,
    ) -> Result<dlp_engine::Flow, Self::Error> {
        let pending = self.pending.entry(item.to_path_buf()).or_default();
        pending.skipped.push((item.to_path_buf(), skipped));
        Ok(dlp_engine::Flow::Continue)
    }

    fn finished(
        &mut self,
        report: &dlp_engine::ItemReport,
    ) -> Result<dlp_engine::Flow, Self::Error> {
        let mut found = self.pending.remove(&report.path).unwrap_or_default();
        found.reports.push(report.clone());
        let done = (found, report.path.clone(), report.bytes, report.file_type);
        Ok(match self.tx.send(done) {
            Ok(()) => dlp_engine::Flow::Continue,
            Err(_) => dlp_engine::Flow::Stop,
        })
    }
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward")
            .field("pending", &self.pending.len())
            .finish()
    }
}

/// The results of `Engine.iter_path`, one `ScanResult` per file.
#[pyclass(module = "dlp")]
#[derive(Debug)]
struct ResultIter {
    rx: Mutex<std::sync::mpsc::Receiver<Done>>,
    handle: Mutex<Option<std::thread::JoinHandle<Result<(), String>>>>,
    started: Instant,
}

#[pymethods]
impl ResultIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<ScanResult>> {
        let next = py
            .detach(|| self.rx.lock().map(|rx| rx.recv().ok()).map_err(|_| ()))
            .map_err(|_| Error::new_err("the scan's channel is poisoned"))?;
        if let Some((found, path, bytes, file_type)) = next {
            let mut result = ScanResult::from_collect(
                found,
                Some(path.display().to_string()),
                bytes,
                file_type,
                self.started,
            );
            result.files = 1;
            return Ok(Some(result));
        }
        let handle = self
            .handle
            .lock()
            .map_err(|_| Error::new_err("the scan's thread handle is poisoned"))?
            .take();
        if let Some(handle) = handle {
            match py.detach(|| handle.join()) {
                Ok(Ok(())) => {}
                Ok(Err(message)) => return Err(Error::new_err(message)),
                Err(_) => return Err(Error::new_err("the scan's thread died")),
            }
        }
        Ok(None)
    }
}

/// Rebuilds a pickled engine, once per configuration and process.
#[pyfunction]
fn _engine_from_state(py: Python<'_>, state: &str) -> PyResult<Engine> {
    let config: Config = serde_json::from_str(state)
        .map_err(|e| InputError::new_err(format!("not a pickled dlp.Engine: {e}")))?;
    Engine::from_config(py, config, true)
}

/// Lists the objects under an `s3://bucket/prefix` URL: (url, size, mtime_ns) tuples.
/// Credentials, region and endpoint come from the usual AWS_* environment variables.
#[pyfunction]
fn list_objects(py: Python<'_>, url: &str) -> PyResult<Vec<(String, u64, i128)>> {
    let url = ObjectUrl::parse(url).map_err(|e| InputError::new_err(e.to_string()))?;
    py.detach(|| {
        let store = Store::open(&url)?;
        store
            .list(&url)
            .map(|object| {
                object.map(|o| {
                    let mtime = match o.modified.duration_since(std::time::UNIX_EPOCH) {
                        Ok(after) => after.as_nanos() as i128,
                        Err(before) => -(before.duration().as_nanos() as i128),
                    };
                    (o.url, o.size, mtime)
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .map_err(|e| InputError::new_err(e.to_string()))
}

/// How many engines this process has built (unpickling a configuration already built here
/// builds none).
#[pyfunction]
fn _engines_built() -> u64 {
    BUILT.load(Ordering::Relaxed)
}

/// Serves as an isolated extraction worker and exits: how the engine's workers start.
#[pyfunction]
fn _serve_worker() {
    std::process::exit(dlp_engine::extract::isolate::worker_main());
}

fn scan_error<E: std::fmt::Display>(e: ScanError<E>) -> PyErr {
    match e {
        ScanError::Scan(e) => Error::new_err(e.to_string()),
        ScanError::Sink(e) => Error::new_err(e.to_string()),
    }
}

/// Sets each finding's offsets in characters, from its offsets in bytes of `text`'s UTF-8, in
/// one pass over the text however many findings there are.
fn char_offsets(text: &str, findings: &mut [Finding]) {
    let mut bytes: Vec<usize> = findings
        .iter()
        .filter(|f| f.member.is_none())
        .flat_map(|f| [f.start, f.end])
        .collect();
    bytes.sort_unstable();
    bytes.dedup();
    let mut chars = Vec::with_capacity(bytes.len());
    let (mut byte, mut count) = (0, 0);
    for &target in &bytes {
        let target = target.min(text.len());
        count += text
            .get(byte..target)
            .map_or(target.saturating_sub(byte), |s| s.chars().count());
        byte = target.max(byte);
        chars.push(count);
    }
    let lookup = |offset: usize| {
        bytes
            .binary_search(&offset)
            .ok()
            .and_then(|i| chars.get(i).copied())
    };
    for f in findings.iter_mut().filter(|f| f.member.is_none()) {
        f.char_start = lookup(f.start);
        f.char_end = lookup(f.end);
    }
}

/// One finding: the fields of `dlp scan --format jsonl`'s finding record. The value itself is
/// never kept: `masked` is a preview that never holds all of it, and `fingerprint` a keyed hash.
#[pyclass(module = "dlp", frozen, get_all, skip_from_py_object)]
#[derive(Clone, Debug)]
struct Finding {
    /// The item: its path, or the name given to the scan (None when none was given).
    path: Option<String>,
    /// The path inside containers (archive member, attachment), None at the top level.
    member: Option<String>,
    detector: String,
    category: String,
    confidence: String,
    /// Byte offsets of the value in the member's extracted text (UTF-8).
    start: usize,
    end: usize,
    line: u64,
    /// The column of `start` on its line, in characters (1-based).
    column: u64,
    location: Option<String>,
    masked: String,
    fingerprint: String,
    ocr: bool,
    /// For scan_text: the value's offsets in the Python string.
    char_start: Option<usize>,
    char_end: Option<usize>,
}

impl Finding {
    fn new(path: Option<&Path>, f: EngineFinding) -> Finding {
        Finding {
            path: path.map(|p| p.display().to_string()),
            member: f.member,
            detector: f.detector,
            category: f.category.as_str().to_string(),
            confidence: f.confidence.as_str().to_string(),
            start: f.start,
            end: f.end,
            line: f.line,
            column: f.column,
            location: f.location,
            masked: f.masked,
            fingerprint: f.fingerprint,
            ocr: f.ocr,
            char_start: None,
            char_end: None,
        }
    }
}

#[pymethods]
impl Finding {
    /// The JSONL finding record as a dict (`record` = "finding").
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("record", "finding")?;
        dict.set_item("path", &self.path)?;
        dict.set_item("member", &self.member)?;
        dict.set_item("detector", &self.detector)?;
        dict.set_item("category", &self.category)?;
        dict.set_item("confidence", &self.confidence)?;
        dict.set_item("start", self.start)?;
        dict.set_item("end", self.end)?;
        dict.set_item("line", self.line)?;
        dict.set_item("column", self.column)?;
        dict.set_item("location", &self.location)?;
        dict.set_item("masked", &self.masked)?;
        dict.set_item("fingerprint", &self.fingerprint)?;
        dict.set_item("ocr", self.ocr)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "Finding(detector='{}', masked='{}', start={}, end={}{})",
            self.detector,
            self.masked,
            self.start,
            self.end,
            self.member
                .as_ref()
                .map_or(String::new(), |m| format!(", member='{m}'"))
        )
    }
}

/// An item, or a member inside it, that was not (fully) inspected, and why: `reason` is one of
/// dlp's skip reasons (`not_found`, `too_large`, `broken_file`, `timeout`, `limit_exceeded`,
/// `encrypted`, `unsupported_format`, ...).
#[pyclass(module = "dlp", frozen, get_all, skip_from_py_object)]
#[derive(Clone, Debug)]
struct Skip {
    path: Option<String>,
    member: Option<String>,
    reason: String,
    detail: String,
}

#[pymethods]
impl Skip {
    /// The JSONL skip record as a dict (`record` = "skipped").
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("record", "skipped")?;
        dict.set_item("path", &self.path)?;
        dict.set_item("member", &self.member)?;
        dict.set_item("reason", &self.reason)?;
        dict.set_item("detail", &self.detail)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "Skip(path={}, member={}, reason='{}')",
            py_str(self.path.as_deref()),
            py_str(self.member.as_deref()),
            self.reason
        )
    }
}

/// What one scan found: findings, skips (the item's own and its members'), and totals.
#[pyclass(module = "dlp", frozen, get_all, skip_from_py_object)]
#[derive(Clone, Debug)]
struct ScanResult {
    /// The path (or name) scanned.
    path: Option<String>,
    /// "skipped" when the item itself could not be inspected (then `reason` says why),
    /// "scanned" otherwise, even if some members inside it were skipped.
    status: String,
    reason: Option<String>,
    /// Bytes of content read.
    bytes: u64,
    /// Files read (for a directory, every file under it; 1 otherwise).
    files: u64,
    /// Items inspected: each file and each member inside archives and attachments.
    items_scanned: u64,
    /// Findings accepted by allow-list entries: counted, not reported.
    allowed: u64,
    /// The detected type of a single item ("pdf", "text", ...), when it was read.
    file_type: Option<String>,
    /// Seconds the scan took.
    elapsed: f64,
    findings: Vec<Finding>,
    skipped: Vec<Skip>,
}

impl ScanResult {
    fn from_collect(
        found: Collect,
        path: Option<String>,
        bytes: u64,
        file_type: Option<FileType>,
        started: Instant,
    ) -> ScanResult {
        // An unnamed text or buffer is reported by the engine as `-`: no path, here.
        let named = path.is_some();
        fn shown(p: &Path, named: bool) -> Option<&Path> {
            (named || p.as_os_str() != "-").then_some(p)
        }
        let own_skip = found.skipped.iter().find(|(item, s)| {
            s.member.is_none() && path.as_deref().is_none_or(|p| Path::new(p) == item)
        });
        let reason = own_skip.map(|(_, s)| s.reason.as_str().to_string());
        let items_scanned = found.reports.iter().map(|r| r.items_scanned).sum();
        let allowed = found.reports.iter().map(|r| r.allowed).sum();
        let findings = found
            .findings
            .into_iter()
            .map(|(item, f)| Finding::new(shown(&item, named), f))
            .collect();
        let skipped = found
            .skipped
            .into_iter()
            .map(|(item, s)| Skip {
                path: shown(&item, named).map(|p| p.display().to_string()),
                member: s.member,
                reason: s.reason.as_str().to_string(),
                detail: s.detail,
            })
            .collect();
        ScanResult {
            status: if reason.is_some() {
                "skipped"
            } else {
                "scanned"
            }
            .to_string(),
            reason,
            path,
            bytes,
            files: 1,
            items_scanned,
            allowed,
            file_type: file_type.map(|t| t.name().to_string()),
            elapsed: started.elapsed().as_secs_f64(),
            findings,
            skipped,
        }
    }
}

#[pymethods]
impl ScanResult {
    /// The result as a dict: its totals, and `findings` and `skipped` as lists of record
    /// dicts.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("path", &self.path)?;
        dict.set_item("status", &self.status)?;
        dict.set_item("reason", &self.reason)?;
        dict.set_item("bytes", self.bytes)?;
        dict.set_item("files", self.files)?;
        dict.set_item("items_scanned", self.items_scanned)?;
        dict.set_item("allowed", self.allowed)?;
        dict.set_item("file_type", &self.file_type)?;
        dict.set_item("elapsed", self.elapsed)?;
        let findings = PyList::empty(py);
        for f in &self.findings {
            findings.append(f.to_dict(py)?)?;
        }
        dict.set_item("findings", findings)?;
        let skipped = PyList::empty(py);
        for s in &self.skipped {
            skipped.append(s.to_dict(py)?)?;
        }
        dict.set_item("skipped", skipped)?;
        Ok(dict)
    }

    fn __len__(&self) -> usize {
        self.findings.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ScanResult(path={}, status='{}', findings={}, skipped={})",
            py_str(self.path.as_deref()),
            self.status,
            self.findings.len(),
            self.skipped.len()
        )
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", VERSION)?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("RulesError", py.get_type::<RulesError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add_class::<Engine>()?;
    m.add_class::<Finding>()?;
    m.add_class::<Skip>()?;
    m.add_class::<ScanResult>()?;
    m.add_class::<ResultIter>()?;
    m.add_function(wrap_pyfunction!(_engine_from_state, m)?)?;
    m.add_function(wrap_pyfunction!(_serve_worker, m)?)?;
    m.add_function(wrap_pyfunction!(_engines_built, m)?)?;
    m.add_function(wrap_pyfunction!(list_objects, m)?)?;
    Ok(())
}
