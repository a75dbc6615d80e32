//! The connector's settings, read from a TOML file. Every field has a default, so an empty file
//! (or no file) is a valid configuration; unknown fields are errors, so that a typo is not
//! silently ignored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dlp_engine::{FileType, Filter};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The longest lookback the Compliance API can serve: log files are kept 30 days.
pub const RETENTION_DAYS: u32 = 30;

/// The default API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.chatgpt.com/v1";

/// All settings of the connector.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How to reach the API.
    pub api: ApiConfig,
    /// Client-side rate limits, per endpoint.
    pub rate_limits: RateLimitConfig,
    /// Retries of throttled, failed and truncated requests.
    pub retry: RetryConfig,
    /// Which users and GPTs are inspected.
    pub scope: ScopeConfig,
    /// What is inspected, and how far back.
    pub scan: ScanConfig,
    /// Where the inspected content of items with findings is kept.
    pub evidence: EvidenceConfig,
    /// Where this connector's records go in `dlp chatgpt run`, besides the service's own sinks
    /// (`[[sinks]]` with `type = "stdout" | "jsonl" | "webhook"`; see
    /// [`crate::service::SinkConfig`]). Default none.
    pub sinks: Vec<crate::service::SinkConfig>,
}

impl Config {
    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Config::from_toml(&text)
            .map_err(|e| Error::new(ErrorKind::Config, format!("{}: {e}", path.display())))
    }

    /// Parses a TOML configuration and checks it.
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        let config: Config = toml::from_str(text)
            .map_err(|e| Error::new(ErrorKind::Config, format!("invalid configuration: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that the types cannot: regexes compile, limits are positive.
    pub fn validate(&self) -> Result<(), Error> {
        self.scope.users.compile()?;
        self.scope.gpts.compile()?;
        if self.rate_limits.list_per_minute == 0 || self.rate_limits.get_per_minute == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "rate limits must be at least 1 per minute",
            ));
        }
        let bounded = [
            (
                "api.request_timeout_secs",
                self.api.request_timeout_secs,
                3600,
            ),
            ("retry.max_delay_secs", self.retry.max_delay_secs, 3600),
            (
                "scan.overlap_minutes",
                u64::from(self.scan.overlap_minutes),
                24 * 60,
            ),
            (
                "scan.poll_interval_secs",
                self.scan.poll_interval_secs,
                7 * 86_400,
            ),
        ];
        for (field, value, max) in bounded {
            if value > max {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("{field} = {value} is over its maximum {max}"),
                ));
            }
        }
        self.scan.filter()?;
        if self.api.concurrency == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "api.concurrency must be at least 1",
            ));
        }
        for sink in &self.sinks {
            sink.validate(false)?;
        }
        self.evidence.validate()
    }
}

/// How to reach the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Base URL of the API, without a trailing slash. Default `https://api.chatgpt.com/v1`.
    pub base_url: String,
    /// Time limit of one request, headers and body, in seconds. Default 60.
    pub request_timeout_secs: u64,
    /// Downloads in flight at once (each still obeys the rate limits). Default 4.
    pub concurrency: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            request_timeout_secs: 60,
            concurrency: 4,
        }
    }
}

impl ApiConfig {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }
}

/// Client-side rate limits, per endpoint and per key. The documented limits are 50 requests per
/// minute on list routes and 100 on get-by-id and file routes; some workspaces get 100 on every
/// route. The connector never sends more than these in any rolling minute.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// List routes: `/logs`, `/max_event_time`, `/users`, `/gpts`, `/gpts/{id}/configs`,
    /// `/projects`. Default 50.
    pub list_per_minute: u32,
    /// Get-by-id and file routes: `/logs/{id}`, `/users/{id}/files/{id}`, `/gpt_files/{id}`,
    /// `/project_files/{id}`. Default 100.
    pub get_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            list_per_minute: 50,
            get_per_minute: 100,
        }
    }
}

/// Retries of throttled (429), failed (5xx), timed-out and truncated requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Failed attempts (5xx, timeouts, broken downloads) of one request before it fails; 429s
    /// are not counted here, only in the budget. Default 8.
    pub max_attempts: u32,
    /// Retries allowed in one scan cycle across all requests; when spent, failures are final.
    /// Throttling retries that honour `Retry-After` count too. Default 500.
    pub budget: u32,
    /// First backoff ceiling in milliseconds; full jitter picks a delay in [0, ceiling]. Default 500.
    pub base_delay_ms: u64,
    /// Largest backoff ceiling, and largest `Retry-After` honoured, in seconds. Default 120.
    pub max_delay_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 8,
            budget: 500,
            base_delay_ms: 500,
            max_delay_secs: 120,
        }
    }
}

/// Which users and GPTs are inspected.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScopeConfig {
    /// Whose conversations and tool calls are inspected.
    pub users: UserScope,
    /// Which custom GPTs' knowledge files are inspected.
    pub gpts: GptScope,
}

/// How users are selected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserMode {
    /// Every user of the workspace (default).
    #[default]
    All,
    /// Only the users listed in `include` (minus `exclude`).
    Manual,
    /// Users whose email matches one of `email_patterns` (minus `exclude`).
    EmailRegex,
}

/// Whose conversations and tool calls are inspected.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserScope {
    /// `all` (default), `manual` or `email_regex`.
    pub mode: UserMode,
    /// With `manual`: user emails or user ids (`user-...`) to inspect. Default empty.
    pub include: Vec<String>,
    /// In every mode: user emails or ids never inspected. Default empty.
    pub exclude: Vec<String>,
    /// With `email_regex`: regular expressions matched against the whole email,
    /// case-insensitively. Default empty.
    pub email_patterns: Vec<String>,
}

/// A compiled [`UserScope`].
#[derive(Debug, Clone)]
pub struct UserFilter {
    mode: UserMode,
    include: Vec<String>,
    exclude: Vec<String>,
    patterns: Vec<Regex>,
}

impl UserScope {
    /// Compiles the patterns.
    pub fn compile(&self) -> Result<UserFilter, Error> {
        Ok(UserFilter {
            mode: self.mode,
            include: self.include.iter().map(|s| s.to_lowercase()).collect(),
            exclude: self.exclude.iter().map(|s| s.to_lowercase()).collect(),
            patterns: compile_patterns(&self.email_patterns, "scope.users.email_patterns")?,
        })
    }
}

impl UserFilter {
    /// Whether the user with this id and email is in scope.
    pub fn matches(&self, user_id: Option<&str>, email: Option<&str>) -> bool {
        let id = user_id.map(str::to_lowercase);
        let email = email.map(str::to_lowercase);
        let listed = |list: &[String]| {
            list.iter()
                .any(|entry| Some(entry) == id.as_ref() || Some(entry) == email.as_ref())
        };
        if listed(&self.exclude) {
            return false;
        }
        match self.mode {
            UserMode::All => true,
            UserMode::Manual => listed(&self.include),
            UserMode::EmailRegex => {
                email.is_some_and(|e| self.patterns.iter().any(|p| p.is_match(&e)))
            }
        }
    }
}

/// How GPTs are selected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GptMode {
    /// Every custom GPT of the workspace (default).
    #[default]
    All,
    /// Only the GPT ids in `include`.
    Manual,
    /// GPTs whose name matches one of `name_patterns`.
    NameRegex,
    /// No GPT knowledge files are inspected.
    None,
}

/// Which custom GPTs' knowledge files are inspected.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GptScope {
    /// `all` (default), `manual`, `name_regex` or `none`.
    pub mode: GptMode,
    /// With `manual`: GPT ids (`g-...`). Default empty.
    pub include: Vec<String>,
    /// With `name_regex`: regular expressions matched case-insensitively against the GPT's
    /// name (anywhere in it). Default empty.
    pub name_patterns: Vec<String>,
}

/// A compiled [`GptScope`].
#[derive(Debug, Clone)]
pub struct GptFilter {
    mode: GptMode,
    include: Vec<String>,
    patterns: Vec<Regex>,
}

impl GptScope {
    /// Compiles the patterns.
    pub fn compile(&self) -> Result<GptFilter, Error> {
        let patterns = self
            .name_patterns
            .iter()
            .map(|p| {
                Regex::new(&format!("(?i){p}")).map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("scope.gpts.name_patterns: {p:?}: {e}"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(GptFilter {
            mode: self.mode,
            include: self.include.clone(),
            patterns,
        })
    }
}

impl GptFilter {
    /// Whether any GPT can be in scope.
    pub fn is_enabled(&self) -> bool {
        self.mode != GptMode::None
    }

    /// Whether the GPT with this id and name is in scope.
    pub fn matches(&self, gpt_id: &str, name: Option<&str>) -> bool {
        match self.mode {
            GptMode::All => true,
            GptMode::None => false,
            GptMode::Manual => self.include.iter().any(|id| id == gpt_id),
            GptMode::NameRegex => name.is_some_and(|n| self.patterns.iter().any(|p| p.is_match(n))),
        }
    }
}

fn compile_patterns(patterns: &[String], field: &str) -> Result<Vec<Regex>, Error> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(&format!("(?i)^(?:{p})$"))
                .map_err(|e| Error::new(ErrorKind::Config, format!("{field}: {p:?}: {e}")))
        })
        .collect()
}

/// What is inspected, and how far back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanConfig {
    /// Lookback of a historical scan, in days; capped at 30 (the logs' retention). When unset,
    /// the first scan looks back 30 days. Default unset.
    pub max_last_modified_days: Option<u32>,
    /// How far behind the saved cursor each forward poll starts again, in minutes, to catch log
    /// files published late; events already seen are skipped by id. Default 30.
    pub overlap_minutes: u32,
    /// Seconds between two forward polls of `dlp chatgpt watch`. Default 60.
    pub poll_interval_secs: u64,
    /// Largest file (attachment or knowledge file) whose content is inspected, in bytes; larger
    /// files are not downloaded past this size and are reported as skipped (`too_large`), and
    /// the engine applies the same maximum to archive members. Default 52428800 (50 MiB).
    pub max_file_size: u64,
    /// File types inspected, by the engine's type names (`pdf`, `docx`, `xlsx`, `csv`, `text`,
    /// `json`, `zip`, ...; `txt` is an alias of `text`, a leading dot is ignored); empty means
    /// all. The type is detected from the content, never from the file name, by the engine's
    /// filter ([`ScanConfig::filter`]); other files, and archive members of other types, are
    /// reported as skipped (`filtered_type`). Archives are always opened so that their members
    /// can be filtered. Default empty.
    pub file_types: Vec<String>,
    /// Inspect user and assistant message text. Default true.
    pub messages: bool,
    /// Inspect files attached to conversations. Default true.
    pub conversation_files: bool,
    /// Inspect custom GPTs' knowledge files. Default true.
    pub gpt_files: bool,
    /// Inspect tool-call inputs and outputs (`APP_LOG`). Default true.
    pub app_logs: bool,
    /// Run only these detectors: ids, categories (`pii`, `financial`, `health`, `secret`) or
    /// countries (`country:DE`), as `dlp scan --detectors` takes them. Default empty: the
    /// default set (`dlp detectors` marks it).
    pub detectors: Vec<String>,
    /// Leave out these detectors (ids, categories or countries). Default empty.
    pub exclude_detectors: Vec<String>,
    /// Report only findings of at least this confidence (`low`, `medium`, `high`). Default
    /// `low`: all.
    pub min_confidence: dlp_engine::Confidence,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            max_last_modified_days: None,
            overlap_minutes: 30,
            poll_interval_secs: 60,
            max_file_size: 50 * 1024 * 1024,
            file_types: Vec::new(),
            messages: true,
            conversation_files: true,
            gpt_files: true,
            app_logs: true,
            detectors: Vec::new(),
            exclude_detectors: Vec::new(),
            min_confidence: dlp_engine::Confidence::Low,
        }
    }
}

impl ScanConfig {
    /// The lookback in days: the configured one capped at 30, or 30.
    pub fn lookback_days(&self) -> u32 {
        self.max_last_modified_days
            .unwrap_or(RETENTION_DAYS)
            .clamp(1, RETENTION_DAYS)
    }

    /// The inspection engine of these settings: `base` (its rules, limits and isolation) with
    /// this file filter and detector selection.
    pub fn build_engine(
        &self,
        base: &dlp_engine::EngineBuilder,
    ) -> Result<dlp_engine::Engine, Error> {
        let mut engine = base.clone();
        engine.filter(self.filter()?);
        self.select_detectors(&mut engine);
        engine.build().map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot build the inspection engine: {e}"),
            )
        })
    }

    /// Applies the detector selection and confidence threshold to an engine builder.
    pub fn select_detectors(&self, engine: &mut dlp_engine::EngineBuilder) {
        if !self.detectors.is_empty() {
            engine.detectors(self.detectors.iter().cloned());
        }
        if !self.exclude_detectors.is_empty() {
            engine.exclude_detectors(self.exclude_detectors.iter().cloned());
        }
        engine.min_confidence(self.min_confidence);
    }

    /// The engine filter of `file_types` and `max_file_size`: the one place where files are
    /// admitted by type and size (the download stops at `max_file_size` too). An unknown type
    /// name is an error that lists the valid ones.
    pub fn filter(&self) -> Result<Filter, Error> {
        let file_types = if self.file_types.is_empty() {
            None
        } else {
            let mut types = Vec::new();
            for name in &self.file_types {
                let file_type: FileType = name.trim().trim_start_matches('.').parse().map_err(
                    |e: dlp_engine::extract::UnknownFileType| {
                        Error::new(ErrorKind::Config, format!("scan.file_types: {e}"))
                    },
                )?;
                types.push(file_type);
            }
            Some(types)
        };
        Ok(Filter {
            file_types,
            max_file_size: Some(self.max_file_size),
        })
    }
}

/// Where evidence goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceMode {
    /// No evidence is kept (default).
    #[default]
    None,
    /// Files in a local directory (`path`).
    Local,
    /// An object store (`url`): S3 or an S3-compatible server, a local directory, or memory.
    ObjectStore,
}

/// Server-side encryption that evidence writes ask S3 for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerSideEncryption {
    /// `"AES256"`: SSE-S3, keys managed by S3.
    #[serde(rename = "AES256")]
    Aes256,
    /// `"aws:kms"`: SSE-KMS, keys in AWS KMS (`sse_kms_key_id`, else the bucket's default).
    #[serde(rename = "aws:kms")]
    AwsKms,
}

/// Evidence capture: the inspected content of items with findings, kept for review under
/// `<workspace id>/<item kind>/<item id>` ([`crate::Evidence::key`]).
///
/// A write that fails (after the object store's retries) does not fail the scan: the content
/// is kept in the state database, committed with the item's findings, and written at the
/// start of every later cycle until it succeeds ([`crate::ScanSummary::pending_evidence`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceConfig {
    /// `none` (default), `local` or `object_store`.
    pub mode: EvidenceMode,
    /// With `local`: the directory, created if missing. Directories created in it are
    /// readable by their owner only (0700), and so is every evidence file (0600). Default
    /// unset.
    pub path: Option<PathBuf>,
    /// With `object_store`: `s3://BUCKET/PREFIX` (S3 or an S3-compatible server, with the
    /// credentials, region and endpoint of the usual `AWS_*` environment variables, as `dlp
    /// scan s3://...` reads them), `file:///DIRECTORY` (as `local`) or `memory://` (tests).
    /// Default unset.
    pub url: Option<String>,
    /// With an `s3://` URL: server-side encryption that every write asks for, `"AES256"`
    /// (SSE-S3) or `"aws:kms"` (SSE-KMS). Default unset: the bucket's default encryption (or
    /// `AWS_SERVER_SIDE_ENCRYPTION`, when set).
    pub sse: Option<ServerSideEncryption>,
    /// With `sse = "aws:kms"`: the KMS key to encrypt with (key id, ARN or alias). Default
    /// unset: the bucket's default KMS key, else the account's `aws/s3` key.
    pub sse_kms_key_id: Option<String>,
}

impl EvidenceConfig {
    /// Checks that the fields fit the mode.
    fn validate(&self) -> Result<(), Error> {
        let fail = |message: &str| Err(Error::new(ErrorKind::Config, message.to_string()));
        match self.mode {
            EvidenceMode::Local if self.path.is_none() => {
                return fail("evidence.mode = \"local\" needs evidence.path");
            }
            EvidenceMode::ObjectStore if self.url.is_none() => {
                return fail("evidence.mode = \"object_store\" needs evidence.url");
            }
            _ => {}
        }
        let s3 = self.mode == EvidenceMode::ObjectStore
            && self.url.as_deref().is_some_and(|url| {
                url.get(..5)
                    .is_some_and(|s| s.eq_ignore_ascii_case("s3://"))
            });
        if self.sse.is_some() && !s3 {
            return fail(
                "evidence.sse applies to an object store: set evidence.mode = \"object_store\" \
                 and evidence.url = \"s3://BUCKET/PREFIX\"",
            );
        }
        if self.sse_kms_key_id.is_some() && self.sse != Some(ServerSideEncryption::AwsKms) {
            return fail("evidence.sse_kms_key_id needs evidence.sse = \"aws:kms\"");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_selection_and_confidence_reach_the_engine() {
        let c = Config::from_toml(
            "[scan]\ndetectors = [\"financial\", \"us_ssn\"]\nmin_confidence = \"high\"\n",
        )
        .unwrap();
        assert_eq!(c.scan.min_confidence, dlp_engine::Confidence::High);
        let mut builder = dlp_engine::EngineBuilder::new();
        builder.isolation(dlp_engine::Isolation::InProcess);
        c.scan.select_detectors(&mut builder);
        let engine = builder.build().unwrap();
        let found: Vec<String> = engine
            .scan_text("4111 1111 1111 1111, SSN 536228813, 536-22-8813, AKIAIOSFODNN7EXAMPLE")
            .into_iter()
            .map(|f| f.detector)
            .collect();
        // The card and the delimited SSN; not the medium undelimited SSN, not the key.
        assert_eq!(found, ["credit_card", "us_ssn"]);
        assert!(Config::from_toml("[scan]\nmin_confidence = \"sure\"\n").is_err());
    }

    #[test]
    fn empty_config_has_documented_defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.rate_limits.list_per_minute, 50);
        assert_eq!(c.rate_limits.get_per_minute, 100);
        assert_eq!(c.scan.lookback_days(), 30);
        assert_eq!(c.scan.overlap_minutes, 30);
    }

    #[test]
    fn out_of_range_values_are_errors() {
        for text in [
            "[scan]\noverlap_minutes = 4000000000",
            "[scan]\npoll_interval_secs = 18446744073709551615",
            "[api]\nconcurrency = 0",
            "[rate_limits]\nlist_per_minute = 0",
            "[evidence]\nmode = \"local\"",
            "[evidence]\nmode = \"object_store\"",
            "[evidence]\nmode = \"local\"\npath = \"/e\"\nsse = \"AES256\"",
            "[evidence]\nmode = \"object_store\"\nurl = \"file:///e\"\nsse = \"AES256\"",
            "[evidence]\nmode = \"object_store\"\nurl = \"s3://b/p\"\nsse = \"aes256\"",
            "[evidence]\nmode = \"object_store\"\nurl = \"s3://b/p\"\nsse = \"AES256\"\n\
             sse_kms_key_id = \"k\"",
        ] {
            assert!(Config::from_toml(text).is_err(), "{text}");
        }
    }

    #[test]
    fn evidence_encryption_settings() {
        let c = Config::from_toml(
            "[evidence]\nmode = \"object_store\"\nurl = \"s3://bucket/dlp\"\n\
             sse = \"aws:kms\"\nsse_kms_key_id = \"alias/dlp\"\n",
        )
        .unwrap();
        assert_eq!(c.evidence.sse, Some(ServerSideEncryption::AwsKms));
        assert_eq!(c.evidence.sse_kms_key_id.as_deref(), Some("alias/dlp"));
        let c = Config::from_toml(
            "[evidence]\nmode = \"object_store\"\nurl = \"S3://bucket\"\nsse = \"AES256\"\n",
        )
        .unwrap();
        assert_eq!(c.evidence.sse, Some(ServerSideEncryption::Aes256));
    }

    #[test]
    fn lookback_is_capped_at_retention() {
        let c = Config::from_toml("[scan]\nmax_last_modified_days = 90").unwrap();
        assert_eq!(c.scan.lookback_days(), 30);
    }

    #[test]
    fn unknown_field_and_bad_regex_are_errors() {
        assert!(Config::from_toml("[scan]\nmax_days = 3").is_err());
        let e =
            Config::from_toml("[scope.users]\nmode = \"email_regex\"\nemail_patterns = [\"(\"]")
                .unwrap_err();
        assert!(e.to_string().contains("email_patterns"));
    }

    #[test]
    fn user_scope_modes() {
        let all = UserScope {
            exclude: vec!["bob@x.com".into()],
            ..Default::default()
        }
        .compile()
        .unwrap();
        assert!(all.matches(Some("user-1"), Some("alice@x.com")));
        assert!(!all.matches(Some("user-2"), Some("BOB@x.com")));
        let manual = UserScope {
            mode: UserMode::Manual,
            include: vec!["user-1".into()],
            ..Default::default()
        }
        .compile()
        .unwrap();
        assert!(manual.matches(Some("user-1"), None));
        assert!(!manual.matches(Some("user-2"), Some("alice@x.com")));
        let re = UserScope {
            mode: UserMode::EmailRegex,
            email_patterns: vec![".*@finance\\.example\\.com".into()],
            ..Default::default()
        }
        .compile()
        .unwrap();
        assert!(re.matches(None, Some("Ann@Finance.example.com")));
        assert!(!re.matches(None, Some("ann@example.com")));
    }

    #[test]
    fn file_types_become_the_engine_filter() {
        let s = ScanConfig {
            file_types: vec!["pdf".into(), ".CSV".into()],
            max_file_size: 1000,
            ..Default::default()
        };
        let filter = s.filter().unwrap();
        assert_eq!(filter.max_file_size, Some(1000));
        assert!(filter.allows(FileType::Pdf));
        assert!(filter.allows(FileType::Csv));
        assert!(!filter.allows(FileType::Text));
        assert!(
            filter.allows(FileType::Zip),
            "archives are opened to filter members"
        );
        assert!(!filter.allows(FileType::Docx));
        assert_eq!(ScanConfig::default().filter().unwrap().file_types, None);
        let err = Config::from_toml("[scan]\nfile_types = [\"md\"]\n").unwrap_err();
        assert!(err.to_string().contains("valid:"), "{err}");
    }
}
