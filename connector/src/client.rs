//! The Compliance API client: paths, authentication, the resilience layers (rate limit →
//! retry with budget → timeout) and verified downloads.
//!
//! It never logs or formats the API key, and it never sends the key to the host of a signed
//! download URL.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{HeaderMap, AUTHORIZATION, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::SharedClock;
use crate::config::{ApiConfig, RateLimitConfig, RetryConfig};
use crate::credentials::ApiKey;
use crate::error::{Error, ErrorKind};
use crate::model::{EventType, Gpt, GptConfig, ListPage, LogFile, LogPage, Project, User};
use crate::ratelimit::{Endpoint, GrantJournal, RateLimiter};
use crate::retry::{backoff, parse_retry_after, RetryBudget};
use crate::state::none_or;
use crate::sync::lock;

/// Largest log file accepted, so a hostile or broken server cannot exhaust memory.
const MAX_LOG_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Largest JSON list response accepted.
const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;

/// Counters of one client, for summaries and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests sent to each API endpoint (signed URLs not included).
    pub requests: BTreeMap<&'static str, u64>,
    /// `429` answers received.
    pub throttled: u64,
    /// Retries made (all causes).
    pub retries: u64,
    /// Bytes downloaded from signed URLs.
    pub downloaded_bytes: u64,
    /// Requests that waited for the client's own rate limit before they were sent.
    pub rate_limit_waits: u64,
    /// Time spent waiting for the rate limit, all requests together, in milliseconds.
    pub rate_limit_wait_ms: u64,
    /// Requests waiting for the rate limit now.
    pub waiting_now: u64,
}

/// A downloaded file, or why its content is not available.
#[derive(Debug)]
pub enum Download {
    /// The content, complete and verified where a checksum was given.
    Content(Bytes),
    /// Larger than the size limit; not downloaded past the limit.
    TooLarge,
}

/// A client of one workspace's Compliance API.
#[derive(Debug)]
pub struct ComplianceClient {
    http: reqwest::Client,
    base: String,
    scope_path: String,
    key: ApiKey,
    limiter: RateLimiter,
    clock: SharedClock,
    retry: RetryConfig,
    budget: RetryBudget,
    timeout: Duration,
    stats: Mutex<ClientStats>,
    downloaded: AtomicU64,
    waiting: AtomicU64,
}

/// What one attempt produced.
enum Attempt<T> {
    Done(T),
    Retry {
        error: Error,
        after: Option<Duration>,
    },
}

impl ComplianceClient {
    /// A client for `workspace_id` (a workspace UUID, or an `org-...` organization id).
    pub fn new(
        api: &ApiConfig,
        limits: RateLimitConfig,
        retry: RetryConfig,
        workspace_id: &str,
        key: ApiKey,
        clock: SharedClock,
    ) -> Result<ComplianceClient, Error> {
        if workspace_id.is_empty()
            || !workspace_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!("invalid workspace id {workspace_id:?}"),
            ));
        }
        let base = api.base_url.trim_end_matches('/').to_string();
        Url::parse(&base).map_err(|e| {
            Error::new(ErrorKind::Config, format!("invalid base URL {base:?}: {e}"))
        })?;
        let scope_path = if workspace_id.starts_with("org-") {
            format!("/compliance/organizations/{workspace_id}")
        } else {
            format!("/compliance/workspaces/{workspace_id}")
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("dlp-connector/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::new(ErrorKind::Config, format!("HTTP client: {e}")))?;
        Ok(ComplianceClient {
            http,
            base,
            scope_path,
            key,
            limiter: RateLimiter::new(limits, clock.clone()),
            clock,
            budget: RetryBudget::new(retry.budget),
            retry,
            timeout: api.request_timeout(),
            stats: Mutex::new(ClientStats::default()),
            downloaded: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
        })
    }

    /// Keeps the rate limiter's grants in `journal`, starting from those it holds of the last
    /// window ([`RateLimiter::set_journal`]): a client built again within a minute (a restarted
    /// or crash-looping connector) stays under the limits the server counts per key and
    /// endpoint.
    pub fn with_grant_journal(
        mut self,
        journal: Arc<dyn GrantJournal>,
    ) -> Result<ComplianceClient, Error> {
        self.limiter.set_journal(journal)?;
        Ok(self)
    }

    /// Refills the retry budget; the scanner calls it at the start of each cycle.
    pub fn reset_retry_budget(&self) {
        self.budget.reset(self.retry.budget);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ClientStats {
        let mut stats = lock(&self.stats).clone();
        stats.downloaded_bytes = self.downloaded.load(Ordering::Relaxed);
        stats.waiting_now = self.waiting.load(Ordering::Relaxed);
        stats
    }

    fn count(&self, f: impl FnOnce(&mut ClientStats)) {
        f(&mut lock(&self.stats));
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.base, self.scope_path, path)
    }

    /// `GET /logs`: one page of log files of `event_type` whose `end_time` is after `after`.
    pub async fn list_logs(
        &self,
        event_type: EventType,
        after: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<LogPage, Error> {
        let mut query = vec![
            ("event_type", event_type.as_str().to_string()),
            ("after", after.to_string()),
            ("limit", limit.clamp(1, 100).to_string()),
        ];
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        self.get_json(Endpoint::ListLogs, "/logs", &query).await
    }

    /// `GET /max_event_time`: the time of the newest event of `event_type`, a hint.
    pub async fn max_event_time(&self, event_type: EventType) -> Result<Option<String>, Error> {
        let query = [("event_type", event_type.as_str().to_string())];
        let value: Value = self
            .get_json(Endpoint::MaxEventTime, "/max_event_time", &query)
            .await?;
        Ok(value
            .get("max_event_time")
            .and_then(|m| m.get(event_type.as_str()))
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// Downloads a log file, verifying its size and SHA-256 when the listing gave them.
    pub async fn download_log(&self, file: &LogFile) -> Result<Bytes, Error> {
        let path = format!("/logs/{}", path_segment(&file.id)?);
        let verify = Verify {
            size: file.file_size,
            sha256: file.file_sha256.clone(),
        };
        match self
            .download(Endpoint::GetLog, &path, MAX_LOG_FILE_BYTES, &verify)
            .await?
        {
            Download::Content(bytes) => Ok(bytes),
            Download::TooLarge => Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "log file {} is larger than {MAX_LOG_FILE_BYTES} bytes",
                    file.id
                ),
            )),
        }
    }

    /// One page of `/users`.
    pub async fn list_users(&self, after: Option<&str>) -> Result<ListPage<User>, Error> {
        self.get_json(Endpoint::ListUsers, "/users", &list_query(after, 200))
            .await
    }

    /// All users, every page.
    pub async fn all_users(&self) -> Result<Vec<User>, Error> {
        let mut users = Vec::new();
        let mut after: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self.list_users(after.as_deref()).await?;
            // A cursor seen before would loop forever.
            let done =
                !page.has_more || none_or(page.last_id.as_ref(), |id| !seen.insert(id.clone()));
            users.extend(page.data);
            if done {
                return Ok(users);
            }
            after = page.last_id;
        }
    }

    /// Downloads a conversation upload of `user_id`. `410` is an [`ErrorKind::Expired`] error.
    pub async fn download_user_file(
        &self,
        user_id: &str,
        file_id: &str,
        max_size: u64,
    ) -> Result<Download, Error> {
        let path = format!(
            "/users/{}/files/{}",
            path_segment(user_id)?,
            path_segment(file_id)?
        );
        self.download(Endpoint::GetUserFile, &path, max_size, &Verify::default())
            .await
    }

    /// One page of `/gpts`.
    pub async fn list_gpts(&self, after: Option<&str>) -> Result<ListPage<Gpt>, Error> {
        self.get_json(Endpoint::ListGpts, "/gpts", &list_query(after, 20))
            .await
    }

    /// All live custom GPTs, every page.
    pub async fn all_gpts(&self) -> Result<Vec<Gpt>, Error> {
        let mut gpts = Vec::new();
        let mut after: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self.list_gpts(after.as_deref()).await?;
            // A cursor seen before would loop forever.
            let done =
                !page.has_more || none_or(page.last_id.as_ref(), |id| !seen.insert(id.clone()));
            gpts.extend(page.data);
            if done {
                return Ok(gpts);
            }
            after = page.last_id;
        }
    }

    /// All configuration versions of a GPT, newest first (first page).
    pub async fn gpt_configs(&self, gpt_id: &str) -> Result<ListPage<GptConfig>, Error> {
        let path = format!("/gpts/{}/configs", path_segment(gpt_id)?);
        self.get_json(Endpoint::ListGptConfigs, &path, &[]).await
    }

    /// Downloads a GPT knowledge file.
    pub async fn download_gpt_file(&self, file_id: &str, max_size: u64) -> Result<Download, Error> {
        let path = format!("/gpt_files/{}", path_segment(file_id)?);
        self.download(Endpoint::GetGptFile, &path, max_size, &Verify::default())
            .await
    }

    /// One page of `/projects`.
    pub async fn list_projects(&self, after: Option<&str>) -> Result<ListPage<Project>, Error> {
        self.get_json(Endpoint::ListProjects, "/projects", &list_query(after, 20))
            .await
    }

    /// All configuration versions of a project, newest first (first page).
    pub async fn project_configs(&self, project_id: &str) -> Result<ListPage<GptConfig>, Error> {
        let path = format!("/projects/{}/configs", path_segment(project_id)?);
        self.get_json(Endpoint::ListProjectConfigs, &path, &[])
            .await
    }

    /// Downloads a project file.
    pub async fn download_project_file(
        &self,
        file_id: &str,
        max_size: u64,
    ) -> Result<Download, Error> {
        let path = format!("/project_files/{}", path_segment(file_id)?);
        self.download(
            Endpoint::GetProjectFile,
            &path,
            max_size,
            &Verify::default(),
        )
        .await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let url = self.url(path);
        self.with_retry(endpoint, || async {
            let response = match self.send_api(endpoint, &url, query).await? {
                Attempt::Done(r) => r,
                Attempt::Retry { error, after } => return Ok(Attempt::Retry { error, after }),
            };
            let body = match read_body(response, MAX_JSON_BYTES, self.timeout).await {
                Ok(Some(body)) => body,
                Ok(None) => {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{} response too large", endpoint.name()),
                    ))
                }
                Err(error) => return Ok(Attempt::Retry { error, after: None }),
            };
            serde_json::from_slice(&body)
                .map(Attempt::Done)
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Protocol,
                        format!("unexpected {} response: {e}", endpoint.name()),
                    )
                })
        })
        .await
    }

    async fn download(
        &self,
        endpoint: Endpoint,
        path: &str,
        max_size: u64,
        verify: &Verify,
    ) -> Result<Download, Error> {
        let url = self.url(path);
        self.with_retry(endpoint, || async {
            let response = match self.send_api(endpoint, &url, &[]).await? {
                Attempt::Done(r) => r,
                Attempt::Retry { error, after } => return Ok(Attempt::Retry { error, after }),
            };
            let response = if response.status().is_redirection() {
                let location = redirect_target(&response)?;
                // The signed URL is not rate limited and must not see the bearer token.
                let sent = tokio::time::timeout(self.timeout, self.http.get(location).send()).await;
                match sent {
                    Ok(Ok(r)) if r.status().is_success() => r,
                    // An expired or refused link: ask the API for a fresh one.
                    Ok(Ok(r)) => {
                        let status = r.status();
                        return Ok(Attempt::Retry {
                            error: Error::new(
                                ErrorKind::Transient,
                                format!("signed URL answered {status}"),
                            )
                            .with_status(status.as_u16()),
                            after: None,
                        });
                    }
                    Ok(Err(e)) => {
                        return Ok(retry_transient(format!("signed URL: {}", without_url(&e))))
                    }
                    Err(_) => return Ok(retry_transient("signed URL timed out".to_string())),
                }
            } else {
                response
            };
            if response.content_length().is_some_and(|n| n > max_size) {
                return Ok(Attempt::Done(Download::TooLarge));
            }
            let body = match read_body(response, max_size, self.timeout).await {
                Ok(Some(body)) => body,
                Ok(None) => return Ok(Attempt::Done(Download::TooLarge)),
                Err(error) => return Ok(Attempt::Retry { error, after: None }),
            };
            self.downloaded
                .fetch_add(body.len() as u64, Ordering::Relaxed);
            if let Err(error) = verify.check(&body) {
                return Ok(Attempt::Retry { error, after: None });
            }
            Ok(Attempt::Done(Download::Content(body)))
        })
        .await
    }

    /// One rate-limited, authenticated request. Errors that must not be retried are `Err`.
    async fn send_api(
        &self,
        endpoint: Endpoint,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Attempt<reqwest::Response>, Error> {
        let asked = self.clock.elapsed();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = self.limiter.acquire(endpoint).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let waited = self.clock.elapsed().saturating_sub(asked);
        self.count(|s| {
            *s.requests.entry(endpoint.name()).or_default() += 1;
            if !waited.is_zero() {
                s.rate_limit_waits += 1;
                s.rate_limit_wait_ms += u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
            }
        });
        let request = self
            .http
            .get(url)
            .query(query)
            .header(AUTHORIZATION, format!("Bearer {}", self.key.expose()))
            .send();
        let sent = tokio::time::timeout(self.timeout, request).await;
        self.limiter.settle(permit);
        let response = match sent {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                return Ok(retry_transient(format!(
                    "{}: {}",
                    endpoint.name(),
                    without_url(&e)
                )))
            }
            Err(_) => return Ok(retry_transient(format!("{}: timed out", endpoint.name()))),
        };
        let status = response.status();
        if status.is_success()
            || status == StatusCode::TEMPORARY_REDIRECT
            || status == StatusCode::FOUND
            || status == StatusCode::SEE_OTHER
            || status == StatusCode::PERMANENT_REDIRECT
        {
            return Ok(Attempt::Done(response));
        }
        let retry_after = retry_after(response.headers(), self.clock.wall());
        let detail = error_detail(response, self.timeout).await;
        let code = status.as_u16();
        let what = endpoint.name();
        let error = match code {
            401 => Error::new(
                ErrorKind::Unauthorized,
                format!("401 Unauthorized on {what}: the API key is missing, invalid or revoked ({detail})"),
            ),
            403 => Error::new(
                ErrorKind::Forbidden,
                format!(
                    "403 Forbidden on {what}: the API key lacks the Compliance API read scope or is not \
                     authorized for this workspace; ask OpenAI support to grant the compliance read scope \
                     to this key ({detail})"
                ),
            ),
            404 => Error::new(ErrorKind::NotFound, format!("404 Not Found on {what} ({detail})")),
            410 => Error::new(ErrorKind::Expired, format!("410 Gone on {what}: expired ({detail})")),
            429 => {
                self.count(|s| s.throttled += 1);
                return Ok(Attempt::Retry {
                    error: Error::new(ErrorKind::Throttled, format!("429 on {what}: rate limited ({detail})"))
                        .with_status(code),
                    after: retry_after,
                });
            }
            500..=599 => {
                return Ok(Attempt::Retry {
                    error: Error::new(ErrorKind::Server, format!("{code} on {what} ({detail})")).with_status(code),
                    after: None,
                })
            }
            _ => Error::new(ErrorKind::Client, format!("{code} on {what} ({detail})")),
        };
        Err(error.with_status(code))
    }

    async fn with_retry<T, F, Fut>(&self, endpoint: Endpoint, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Attempt<T>, Error>>,
    {
        // Failures other than throttling count against the attempts of this request; every
        // retry, throttled or not, spends the cycle's budget. A throttled request is waiting
        // its turn, not failing, so a long storm does not exhaust its attempts.
        let mut failures = 0u32;
        loop {
            match attempt().await? {
                Attempt::Done(value) => return Ok(value),
                Attempt::Retry { error, after } => {
                    if error.kind() != ErrorKind::Throttled {
                        failures += 1;
                    }
                    let tries = failures.max(1);
                    if failures >= self.retry.max_attempts.max(1) || !self.budget.take() {
                        tracing::warn!(endpoint = endpoint.name(), error = %error, "giving up");
                        return Err(error);
                    }
                    self.count(|s| s.retries += 1);
                    let cap = Duration::from_secs(self.retry.max_delay_secs.max(1));
                    let delay = match after {
                        Some(after) => after.min(cap),
                        None => backoff(&self.retry, tries),
                    };
                    tracing::debug!(endpoint = endpoint.name(), error = %error, ?delay, "retrying");
                    self.clock.sleep(delay).await;
                }
            }
        }
    }
}

fn retry_transient<T>(message: String) -> Attempt<T> {
    Attempt::Retry {
        error: Error::new(ErrorKind::Transient, message),
        after: None,
    }
}

/// A reqwest error's text without its URL (signed URLs carry credentials in their query).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body cut short"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn list_query(after: Option<&str>, limit: u32) -> Vec<(&'static str, String)> {
    let mut query = vec![("limit", limit.to_string())];
    if let Some(after) = after {
        query.push(("after", after.to_string()));
    }
    query
}

/// Ids come from API responses; one with a path separator would address another resource.
fn path_segment(id: &str) -> Result<&str, Error> {
    if id.is_empty() || id.contains(['/', '?', '#', '%']) || id == "." || id == ".." {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!("invalid id {id:?} in an API response"),
        ));
    }
    Ok(id)
}

fn redirect_target(response: &reqwest::Response) -> Result<Url, Error> {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::new(ErrorKind::Protocol, "a redirect without a Location"))?;
    response
        .url()
        .join(location)
        .map_err(|_| Error::new(ErrorKind::Protocol, "a redirect to an invalid Location"))
}

fn retry_after(headers: &HeaderMap, now: time::OffsetDateTime) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

/// Reads a body up to `max` bytes: `Ok(None)` when larger, `Err` (transient) when cut short.
async fn read_body(
    response: reqwest::Response,
    max: u64,
    timeout: Duration,
) -> Result<Option<Bytes>, Error> {
    let read = async {
        let mut stream = response.bytes_stream();
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::new(ErrorKind::Transient, without_url(&e)))?;
            if body.len() as u64 + chunk.len() as u64 > max {
                return Ok(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(Bytes::from(body)))
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| Err(Error::new(ErrorKind::Transient, "body timed out")))
}

/// The message of an error body: `error.message`, else `detail`, else `message`, else the text.
async fn error_detail(response: reqwest::Response, timeout: Duration) -> String {
    let text = match read_body(response, 64 * 1024, timeout).await {
        Ok(Some(body)) => String::from_utf8_lossy(&body).into_owned(),
        _ => return "no readable body".to_string(),
    };
    let message = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        [
            v.pointer("/error/message"),
            v.get("detail"),
            v.get("message"),
        ]
        .into_iter()
        .flatten()
        .find_map(|m| {
            m.as_str()
                .map(str::to_string)
                .or_else(|| (!m.is_null()).then(|| m.to_string()))
        })
    });
    let mut message = message.unwrap_or(text);
    if message.len() > 300 {
        let mut cut = 300;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    if message.trim().is_empty() {
        "empty body".to_string()
    } else {
        message
    }
}

#[derive(Debug, Default)]
struct Verify {
    size: Option<u64>,
    sha256: Option<String>,
}

impl Verify {
    fn check(&self, body: &[u8]) -> Result<(), Error> {
        if let Some(size) = self.size {
            if body.len() as u64 != size {
                return Err(Error::new(
                    ErrorKind::Transient,
                    format!("download has {} bytes, the listing says {size}", body.len()),
                ));
            }
        }
        if let Some(want) = &self.sha256 {
            let got = hex(&Sha256::digest(body));
            if !got.eq_ignore_ascii_case(want.trim()) {
                return Err(Error::new(
                    ErrorKind::Transient,
                    "download does not match its SHA-256",
                ));
            }
        }
        Ok(())
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
