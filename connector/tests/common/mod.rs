//! Shared helpers of the connector's integration tests: a regex inspector that knows the
//! simulator's planted formats, and a simulator + connector pair on a virtual clock.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use dlp_connector::sim::{Planted, SimConfig, Simulator, WorkspaceSpec};
use dlp_connector::{
    ApiKey, Config, Connector, CrashHooks, FindingRecord, Inspector, MemorySink, Record,
    SkippedRecord, VirtualClock,
};
use dlp_engine::{Category, Collect, Confidence, Finding, SkipReason, Skipped};
use regex::Regex;
use sha2::{Digest, Sha256};
use time::macros::datetime;

/// Detects exactly the formats the simulator plants, in text only (no extraction: binary files
/// are `unsupported_format`); independent of the engine's detectors.
#[derive(Debug)]
pub struct PlantedFormats {
    rules: Vec<(&'static str, Category, Regex)>,
}

impl PlantedFormats {
    pub fn shared() -> Arc<dyn Inspector> {
        let rule = |id, category, re: &str| (id, category, Regex::new(re).unwrap());
        Arc::new(PlantedFormats {
            rules: vec![
                rule(
                    "credit_card",
                    Category::Pii,
                    r"\b4\d{3} \d{4} \d{4} \d{4}\b",
                ),
                rule("us_ssn", Category::Pii, r"\b\d{3}-\d{2}-\d{4}\b"),
                rule(
                    "aws_access_key_id",
                    Category::Secret,
                    r"\bAKIA[A-Z2-7]{16}\b",
                ),
                rule("github_token", Category::Secret, r"\bghp_[A-Za-z0-9]{36}\b"),
                rule("iban", Category::Pii, r"\bDE\d{20}\b"),
                rule(
                    "email",
                    Category::Pii,
                    r"\b[a-z]+\.[a-z]+@contoso-mail\.com\b",
                ),
            ],
        })
    }
}

pub fn fingerprint(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Inspector for PlantedFormats {
    fn inspect_text(&self, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for (id, category, re) in &self.rules {
            for m in re.find_iter(text) {
                out.push(Finding {
                    detector: id.to_string(),
                    category: *category,
                    confidence: Confidence::High,
                    start: m.start(),
                    end: m.end(),
                    line: 1,
                    column: 1,
                    member: None,
                    location: None,
                    masked: format!("{}****", &m.as_str()[..4]),
                    fingerprint: fingerprint(m.as_str()),
                    allowed: false,
                    ocr: false,
                });
            }
        }
        out.sort_by_key(|f| f.start);
        out
    }

    fn inspect_file(&self, name: &str, bytes: &[u8]) -> Collect {
        let mut found = Collect::default();
        if bytes[..bytes.len().min(8192)].contains(&0) {
            found.skipped.push((
                name.into(),
                Skipped {
                    member: None,
                    reason: SkipReason::UnsupportedFormat,
                    detail: "binary content".into(),
                },
            ));
        } else {
            let text = String::from_utf8_lossy(bytes);
            let findings = self.inspect_text(&text).into_iter();
            found.findings = findings.map(|f| (name.into(), f)).collect();
        }
        found
    }
}

pub const ANCHOR: time::OffsetDateTime = datetime!(2026-07-09 12:00:00 UTC);

pub struct Env {
    pub clock: VirtualClock,
    pub sim: Simulator,
    pub dir: tempfile::TempDir,
    pub sink: MemorySink,
}

pub async fn env(spec: WorkspaceSpec) -> Env {
    env_with(SimConfig {
        spec,
        ..Default::default()
    })
    .await
}

pub async fn env_with(config: SimConfig) -> Env {
    let clock = VirtualClock::new(ANCHOR);
    let sim = Simulator::start(config, clock.shared()).await.unwrap();
    Env {
        clock,
        sim,
        dir: tempfile::tempdir().unwrap(),
        sink: MemorySink::new(),
    }
}

impl Env {
    pub fn state_path(&self) -> std::path::PathBuf {
        self.dir.path().join("state.db")
    }

    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.api.base_url = self.sim.base_url();
        config.api.request_timeout_secs = 5;
        config
    }

    pub fn connector(&self, config: Config, hooks: CrashHooks) -> Connector {
        self.connector_with_key(config, hooks, &self.sim.api_key())
    }

    pub fn connector_with_key(&self, config: Config, hooks: CrashHooks, key: &str) -> Connector {
        Connector::builder(self.sim.workspace_id(), ApiKey::new(key).unwrap())
            .inspector(PlantedFormats::shared())
            .config(config)
            .clock(self.clock.shared())
            .state_path(Path::new(&self.state_path()))
            .unwrap()
            .sink(Box::new(self.sink.clone()))
            .crash_hooks(hooks)
            .build()
            .unwrap()
    }

    pub fn findings(&self) -> Vec<FindingRecord> {
        self.sink
            .records()
            .into_iter()
            .filter_map(|r| {
                if let Record::Finding(f) = r {
                    Some(f)
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn skipped(&self) -> Vec<SkippedRecord> {
        self.sink
            .records()
            .into_iter()
            .filter_map(|r| {
                if let Record::Skipped(s) = r {
                    Some(s)
                } else {
                    None
                }
            })
            .collect()
    }

    /// Asserts that no endpoint ever got more than the documented limits in a rolling minute.
    pub fn assert_limits_kept(&self, list: usize, get: usize) {
        assert_eq!(
            self.sim.rate_limit_violations(),
            0,
            "the simulator had to refuse requests over the limit"
        );
        for (endpoint, max) in self.sim.max_per_minute() {
            let limit = if [
                "logs",
                "max_event_time",
                "users",
                "gpts",
                "gpts/{id}/configs",
                "projects",
            ]
            .contains(&endpoint)
            {
                list
            } else {
                get
            };
            assert!(
                max <= limit,
                "{endpoint}: {max} requests in one minute, limit {limit}"
            );
        }
    }
}

/// The identity of a finding: item id, detector, fingerprint of the value.
pub type Key = (String, String, String);

pub fn planted_key(p: &Planted) -> Key {
    let item = match p.item {
        dlp_connector::ItemKind::Message | dlp_connector::ItemKind::AppLog => {
            p.event_id.clone().unwrap()
        }
        _ => p.file_id.clone().unwrap(),
    };
    (item, p.detector.clone(), fingerprint(&p.value))
}

pub fn finding_key(f: &FindingRecord) -> Key {
    let item = match f.meta.item.unwrap() {
        dlp_connector::ItemKind::Message | dlp_connector::ItemKind::AppLog => {
            f.meta.event_id.clone().unwrap()
        }
        _ => f.meta.file_id.clone().unwrap(),
    };
    (item, f.detector.clone(), f.fingerprint.clone())
}

/// Findings by key, asserting that none was reported twice.
pub fn unique_findings(findings: &[FindingRecord]) -> BTreeMap<Key, FindingRecord> {
    let mut map = BTreeMap::new();
    for f in findings {
        let previous = map.insert(finding_key(f), f.clone());
        assert!(previous.is_none(), "finding reported twice: {f:?}");
    }
    map
}
