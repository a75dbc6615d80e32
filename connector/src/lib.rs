//! The ChatGPT Enterprise connector of `dlp`.
//!
//! It follows a workspace through OpenAI's Compliance API (see `compliance-api.md`): the
//! compliance logs of conversation messages and tool calls, conversation uploads, and custom
//! GPTs' knowledge files; it inspects them with an [`Inspector`] (the `dlp-engine` engine) and
//! writes [`Record`]s (findings and skipped items) after committing them to a SQLite state, so
//! that a killed scan resumes without losing or repeating anything.
//!
//! The [`sim`] module is an HTTP simulator of the API over a generated workspace with planted
//! sensitive values, used by the tests and by `dlp chatgpt demo`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use dlp_connector::{ApiKey, Connector, JsonlSink};
//! # async fn run(inspector: Arc<dyn dlp_connector::Inspector>) -> Result<(), dlp_connector::Error> {
//! let key = ApiKey::load(None)?; // OPENAI_COMPLIANCE_API_KEY
//! let connector = Connector::builder("a1b2c3d4-0000-4000-8000-000000000000", key, inspector)
//!     .state_path(std::path::Path::new("dlp-chatgpt.db"))?
//!     .sink(Box::new(JsonlSink::new(std::io::stdout())))
//!     .build()?;
//! let summary = connector.historical_scan(Some(30)).await?;
//! eprintln!("{} findings", summary.findings);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod client;
mod clock;
mod config;
mod credentials;
mod demo;
mod error;
mod evidence;
mod inspect;
mod model;
mod ratelimit;
mod record;
mod retry;
mod scan;
pub mod sim;
mod state;

pub use client::{ClientStats, ComplianceClient, Download};
pub use clock::{Clock, SharedClock, Sleep, SystemClock, TimeHold, VirtualClock};
pub use config::{
    ApiConfig, Config, EvidenceConfig, EvidenceMode, GptFilter, GptMode, GptScope, RateLimitConfig,
    RetryConfig, ScanConfig, ScopeConfig, UserFilter, UserMode, UserScope, DEFAULT_BASE_URL,
    RETENTION_DAYS,
};
pub use credentials::{ApiKey, API_KEY_ENV};
pub use demo::{ctrl_c, run_demo, runtime, DemoOptions, DemoReport};
pub use error::{Error, ErrorKind};
pub use evidence::Evidence;
pub use inspect::{looks_binary, Detection, Inspector, SkipReason};
pub use model::{
    parse_log, Actor, Author, Content, Conversation, Event, EventType, FileRef, Gpt, GptConfig,
    KnowledgeFile, ListPage, LogFile, LogPage, Message, ParsedLog, Project, User,
};
pub use ratelimit::{Endpoint, RateLimiter, SAFETY_MARGIN, WINDOW};
pub use record::{
    FindingRecord, ItemKind, ItemMeta, JsonlSink, MemorySink, Record, RecordSink, SkippedRecord,
    TeeSink,
};
pub use retry::{backoff, parse_retry_after, RetryBudget};
pub use scan::{Connector, ConnectorBuilder, CrashHooks, LostWindow, ScanSummary};
pub use state::{Batch, FileStatus, StateStore};

#[cfg(test)]
mod tests {
    #[test]
    fn public_types_are_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<super::Connector>();
        assert::<super::ComplianceClient>();
        assert::<super::RateLimiter>();
        assert::<super::sim::Simulator>();
        assert::<super::Error>();
        assert::<super::ApiKey>();
        assert::<super::VirtualClock>();
    }
}
