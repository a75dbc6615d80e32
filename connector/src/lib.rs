//! The ChatGPT Enterprise connector of `dlp`.
//!
//! It follows a workspace through OpenAI's Compliance API (see `compliance-api.md`): the
//! compliance logs of conversation messages and tool calls, conversation uploads, and custom
//! GPTs' knowledge files. It inspects them with `dlp-engine`, the same engine, isolation, limits
//! and skip reasons as `dlp scan` (documents and archives are parsed in worker processes with a
//! memory cap, a time limit and a kill, on tokio's blocking pool so that polling and downloads go
//! on meanwhile), and writes [`Record`]s (findings and skipped items, in the engine's categories,
//! confidences and skip reasons) after committing them to a SQLite state, so that a killed scan
//! resumes without losing or repeating anything.
//!
//! With the `sim` feature, the `sim` module is an HTTP simulator of the API over a generated
//! workspace with planted sensitive values, and `run_demo` scans it: for the tests and
//! `dlp chatgpt demo`.
//!
//! ```no_run
//! use dlp_connector::{ApiKey, Connector, JsonlSink};
//! # async fn run() -> Result<(), dlp_connector::Error> {
//! // Documents are parsed by this executable re-run as a worker: serve when so started.
//! dlp_engine::serve_worker_if_requested();
//! let key = ApiKey::load(None)?; // OPENAI_COMPLIANCE_API_KEY
//! let connector = Connector::builder("a1b2c3d4-0000-4000-8000-000000000000", key)
//!     .engine(dlp_engine::EngineBuilder::new())
//!     .state_path(std::path::Path::new("dlp-chatgpt.db"))?
//!     .sink(Box::new(JsonlSink::new(std::io::stdout())))
//!     .build()?;
//! let summary = connector.historical_scan(Some(30)).await?;
//! eprintln!("{} findings", summary.findings);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod access;
mod client;
mod clock;
mod config;
mod credentials;
#[cfg(feature = "sim")]
mod demo;
mod error;
mod evidence;
mod inspect;
mod model;
mod ratelimit;
mod record;
mod registry;
mod retry;
mod runtime;
mod scan;
pub mod service;
#[cfg(feature = "sim")]
pub mod sim;
mod state;
mod sync;

pub use access::{check_access, validate_workspace_id, Access};
pub use client::{ClientStats, ComplianceClient, Download};
pub use clock::{Clock, ScaledClock, SharedClock, Sleep, SystemClock, TimeHold, VirtualClock};
pub use config::{
    ApiConfig, Config, EvidenceConfig, EvidenceMode, GptFilter, GptMode, GptScope, RateLimitConfig,
    RetryConfig, ScanConfig, ScopeConfig, ServerSideEncryption, UserFilter, UserMode, UserScope,
    DEFAULT_BASE_URL, RETENTION_DAYS,
};
pub use credentials::{ApiKey, API_KEY_ENV};
#[cfg(feature = "sim")]
pub use demo::{run_demo, DemoOptions, DemoReport};
pub use error::{Error, ErrorKind};
pub use evidence::Evidence;
pub use inspect::Inspector;
pub use model::{
    parse_log, Actor, Author, Content, Conversation, Event, EventType, FileRef, Gpt, GptConfig,
    KnowledgeFile, ListPage, LogFile, LogPage, Message, ParsedLog, Project, User,
};
pub use ratelimit::{Endpoint, GrantJournal, Permit, RateLimiter, SAFETY_MARGIN, WINDOW};
pub use record::{
    FindingRecord, ItemKind, ItemMeta, JsonlSink, MemorySink, Record, RecordSink, SkipReason,
    SkippedRecord, TeeSink,
};
pub use registry::{
    validate_name, Entry, KeyInput, KeySource, LoadedConnector, NewConnector, Registry, Removal,
    ServiceLock, Status, REGISTRY_DIR,
};
pub use retry::{backoff, parse_retry_after, RetryBudget};
pub use runtime::{ctrl_c, runtime, stop_signal};
pub use scan::{Connector, ConnectorBuilder, CrashHooks, ScanSummary};
pub use state::{
    Batch, Cycle, FileStatus, LostWindow, PendingEvidence, PendingLogFile, StateReport, StateStore,
    StoredRecord,
};

#[cfg(test)]
mod tests {
    #[test]
    fn public_types_are_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<super::Connector>();
        assert::<super::ComplianceClient>();
        assert::<super::RateLimiter>();
        #[cfg(feature = "sim")]
        assert::<super::sim::Simulator>();
        assert::<super::Error>();
        assert::<super::ApiKey>();
        assert::<super::VirtualClock>();
        assert::<super::Registry>();
        assert::<super::LoadedConnector>();
    }
}
