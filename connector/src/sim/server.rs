//! The simulator's HTTP server: `compliance-api.md` over a generated [`Workspace`], with rate
//! limits, retention, signed download URLs and injected faults. It binds to loopback only.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::workspace::{format_micros, sha256_hex, Rng, Workspace, WorkspaceSpec};
use crate::clock::SharedClock;
use crate::error::{Error, ErrorKind};
use crate::ratelimit::{Endpoint, WINDOW};
use crate::state::{format_time, none_or, parse_time};
use crate::sync::lock;

/// Faults to inject; change them at any time through [`Simulator::faults`].
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The next N API requests are answered `429` (a storm).
    pub throttle_next: u32,
    /// How storm 429s give `Retry-After`: cycles through seconds, an HTTP date, and none.
    pub retry_after_mixed: bool,
    /// The next N API requests are answered with a 5xx.
    pub server_errors_next: u32,
    /// The next N signed-URL downloads are cut short (the connection drops mid-body).
    pub truncate_next: u32,
    /// The next N log-file downloads serve altered bytes (the checksum does not match).
    pub corrupt_next: u32,
    /// The next N API requests are answered only after `slow_delay` (real time).
    pub slow_next: u32,
    /// Delay of slow responses.
    pub slow_delay: Duration,
    /// The next N API requests get `200` with a malformed JSON body.
    pub garbage_next: u32,
    /// Every request is answered `401` (the key was revoked).
    pub revoked: bool,
    /// Every request is answered `403` (the key lacks the compliance read scope).
    pub forbidden: bool,
    /// Conversation upload downloads answered `503` (an outage of that route only).
    pub user_files_down: bool,
    /// Conversation uploads answered `410` whatever their age.
    pub expired_files: Vec<String>,
    /// Fraction (0.0 to 1.0) of the requests to `error_rate_endpoints` that fail at random, for
    /// as long as it is set: answered with a 5xx, or, for a download, served from its signed URL
    /// cut short or (log files) with altered bytes. Drawn from the simulator's seeded generator.
    pub error_rate: f64,
    /// The endpoints `error_rate` applies to; empty: every endpoint.
    pub error_rate_endpoints: Vec<Endpoint>,
}

/// How a signed download fails when the error rate picked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFault {
    /// The connection drops mid-body.
    Truncate,
    /// Complete, well framed, wrong bytes (log files; only the checksum tells).
    Corrupt,
}

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The workspace to generate.
    pub spec: WorkspaceSpec,
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// API key accepted.
    pub api_key: String,
    /// Keys that authenticate but lack the Compliance API read scope: answered `403` on every
    /// route (a key created without the scope). Default `sim-unscoped-key`.
    pub unscoped_keys: Vec<String>,
    /// Limit of list routes per minute.
    pub list_per_minute: u32,
    /// Limit of get and file routes per minute.
    pub get_per_minute: u32,
    /// Retention of log files, in days.
    pub log_retention_days: u32,
    /// Retention of conversation uploads, in hours.
    pub upload_retention_hours: u32,
    /// Validity of signed URLs.
    pub signed_url_ttl: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            spec: WorkspaceSpec::default(),
            port: 0,
            api_key: "sim-compliance-key".to_string(),
            unscoped_keys: vec!["sim-unscoped-key".to_string()],
            list_per_minute: 50,
            get_per_minute: 100,
            log_retention_days: 30,
            upload_retention_hours: 48,
            signed_url_ttl: Duration::from_secs(300),
        }
    }
}

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    /// The endpoint (signed URLs are not listed).
    pub endpoint: Endpoint,
    /// When it arrived (simulator clock, since start).
    pub at: Duration,
    /// The status answered.
    pub status: u16,
}

struct SimState {
    config: SimConfig,
    workspace: Workspace,
    clock: SharedClock,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RequestLog>>,
    windows: Mutex<HashMap<Endpoint, VecDeque<Duration>>>,
    signed: Mutex<HashMap<String, SignedUrl>>,
    rng: Mutex<Rng>,
    key: Mutex<String>,
}

/// A signed download URL handed out: what it serves, until when, and how it fails.
#[derive(Debug, Clone)]
struct SignedUrl {
    target: Signed,
    expires: Duration,
    fault: Option<BodyFault>,
}

#[derive(Debug, Clone)]
enum Signed {
    Log(usize),
    File(String),
}

/// A running simulator.
pub struct Simulator {
    state: Arc<SimState>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Generates the workspace (anchored at the clock's current time) and serves it on
    /// 127.0.0.1.
    pub async fn start(config: SimConfig, clock: SharedClock) -> Result<Simulator, Error> {
        let anchor = clock
            .wall()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| clock.wall());
        let workspace = Workspace::generate(&config.spec, anchor);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("simulator cannot bind 127.0.0.1:{}: {e}", config.port),
                )
            })?;
        let addr = listener.local_addr()?;
        let state = Arc::new(SimState {
            key: Mutex::new(config.api_key.clone()),
            rng: Mutex::new(Rng::new(config.spec.seed ^ 0x5151)),
            config,
            workspace,
            clock,
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            windows: Mutex::new(HashMap::new()),
            signed: Mutex::new(HashMap::new()),
        });
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Simulator { state, addr, task })
    }

    /// The API base URL (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The simulated workspace id.
    pub fn workspace_id(&self) -> &str {
        &self.state.workspace.id
    }

    /// The API key the simulator accepts.
    pub fn api_key(&self) -> String {
        lock(&self.state.key).clone()
    }

    /// Rotates the accepted key (the old one is refused from now on).
    pub fn rotate_key(&self, key: &str) {
        *lock(&self.state.key) = key.to_string();
    }

    /// The generated workspace, with its ground truth.
    pub fn workspace(&self) -> &Workspace {
        &self.state.workspace
    }

    /// Changes the injected faults.
    pub fn faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut lock(&self.state.faults));
    }

    /// Every API request received so far.
    pub fn requests(&self) -> Vec<RequestLog> {
        lock(&self.state.log).clone()
    }

    /// Requests answered, per endpoint.
    pub fn request_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for r in lock(&self.state.log).iter() {
            *counts.entry(r.endpoint.name()).or_default() += 1;
        }
        counts
    }

    /// The most requests any endpoint received within one rolling minute.
    pub fn max_per_minute(&self) -> BTreeMap<&'static str, usize> {
        let log = lock(&self.state.log);
        let mut by_endpoint: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
        for r in log.iter() {
            by_endpoint.entry(r.endpoint.name()).or_default().push(r.at);
        }
        by_endpoint
            .into_iter()
            .map(|(name, mut times)| {
                times.sort();
                let mut best = 0;
                let mut lo = 0;
                for hi in 0..times.len() {
                    while times[hi] >= times[lo] + WINDOW {
                        lo += 1;
                    }
                    best = best.max(hi - lo + 1);
                }
                (name, best)
            })
            .collect()
    }

    /// `429`s answered because a rate limit was exceeded (not injected storms).
    pub fn rate_limit_violations(&self) -> usize {
        lock(&self.state.log)
            .iter()
            .filter(|r| r.status == 430)
            .count()
    }

    /// Stops the server.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

fn endpoint_of(parts: &[&str]) -> Option<Endpoint> {
    Some(match parts {
        ["logs"] => Endpoint::ListLogs,
        ["logs", _] => Endpoint::GetLog,
        ["max_event_time"] => Endpoint::MaxEventTime,
        ["users"] => Endpoint::ListUsers,
        ["users", _, "files", _] => Endpoint::GetUserFile,
        ["gpts"] => Endpoint::ListGpts,
        ["gpts", _, "configs"] => Endpoint::ListGptConfigs,
        ["gpt_files", _] => Endpoint::GetGptFile,
        ["projects"] => Endpoint::ListProjects,
        ["projects", _, "configs"] => Endpoint::ListProjectConfigs,
        ["project_files", _] => Endpoint::GetProjectFile,
        _ => return None,
    })
}

async fn handle(
    State(sim): State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "only GET is supported");
    }
    let path = uri.path().to_string();
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    if let Some(token) = path.strip_prefix("/signed/") {
        return signed(&sim, token, &headers).await;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (scope, rest) = match parts.as_slice() {
        ["v1", "compliance", kind @ ("workspaces" | "organizations"), id, rest @ ..] => {
            ((*kind, *id), rest.to_vec())
        }
        _ => return error(StatusCode::NOT_FOUND, "unknown route"),
    };
    let Some(endpoint) = endpoint_of(&rest) else {
        return error(StatusCode::NOT_FOUND, "unknown route");
    };
    let now = sim.clock.elapsed();
    let respond = |status: u16| {
        lock(&sim.log).push(RequestLog {
            endpoint,
            at: now,
            status,
        })
    };

    let (slow, injected) = {
        let mut f = lock(&sim.faults);
        let slow = if f.slow_next > 0 {
            f.slow_next -= 1;
            Some(f.slow_delay)
        } else {
            None
        };
        let injected = if f.revoked {
            Some(error(
                StatusCode::UNAUTHORIZED,
                "Invalid API key: the key was revoked",
            ))
        } else if f.forbidden {
            Some(error(
                StatusCode::FORBIDDEN,
                "This key does not have the api.compliance.read scope",
            ))
        } else if f.throttle_next > 0 {
            f.throttle_next -= 1;
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded (storm)");
            let form = if f.retry_after_mixed {
                f.throttle_next % 3
            } else {
                0
            };
            let value = match form {
                0 => Some("2".to_string()),
                1 => Some(httpdate::fmt_http_date(
                    (sim.clock.wall() + time::Duration::seconds(3)).into(),
                )),
                _ => None,
            };
            if let Some(v) = value.and_then(|v| v.parse().ok()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Some(r)
        } else if f.garbage_next > 0 {
            f.garbage_next -= 1;
            Some(
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"data\": [{\"id\": tru",
                )
                    .into_response(),
            )
        } else if f.server_errors_next > 0 {
            f.server_errors_next -= 1;
            let status = [
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
            ][f.server_errors_next as usize % 3];
            Some((status, "upstream failure").into_response())
        } else {
            None
        };
        (slow, injected)
    };
    // Random failures: a 5xx here, or a broken body behind the redirect.
    let mut body_fault = None;
    let injected = match injected {
        Some(r) => Some(r),
        None => match random_failure(&sim, endpoint) {
            Some(Ok(status)) => Some((status, "upstream failure (error rate)").into_response()),
            Some(Err(fault)) => {
                body_fault = Some(fault);
                None
            }
            None => None,
        },
    };
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let auth_ok = bearer == Some(lock(&sim.key).as_str());
    if !auth_ok
        && injected.is_none()
        && bearer.is_some_and(|b| sim.config.unscoped_keys.iter().any(|k| k == b))
    {
        respond(403);
        return error(
            StatusCode::FORBIDDEN,
            "This key does not have the api.compliance.read scope",
        );
    }
    if !auth_ok && injected.is_none() {
        respond(401);
        return error(StatusCode::UNAUTHORIZED, "Missing or invalid API key");
    }
    if let Some(r) = injected {
        respond(r.status().as_u16());
        return r;
    }
    let scope_ok = match scope.0 {
        "workspaces" => scope.1 == sim.workspace.id,
        _ => scope.1 == sim.workspace.org_id(),
    };
    // As the contract says (compliance-api.md): a key not authorized for this workspace is a
    // 403, as a key without the scope is.
    if !scope_ok {
        respond(403);
        return error(
            StatusCode::FORBIDDEN,
            "This key is not authorized for this workspace",
        );
    }
    // The rate limit: a rolling minute per endpoint.
    {
        let limit = if endpoint.is_list() {
            sim.config.list_per_minute
        } else {
            sim.config.get_per_minute
        } as usize;
        let mut windows = lock(&sim.windows);
        let w = windows.entry(endpoint).or_default();
        while w.front().is_some_and(|&t| t + WINDOW <= now) {
            w.pop_front();
        }
        if w.len() >= limit {
            let wait = w
                .front()
                .map(|&t| (t + WINDOW).saturating_sub(now))
                .unwrap_or_default();
            drop(windows);
            // 430 in the log marks a limit violation, as opposed to an injected storm.
            respond(430);
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            if let Ok(v) = (wait.as_secs() + 1).to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        w.push_back(now);
    }
    let r = route(&sim, endpoint, &rest, &query, body_fault);
    respond(r.status().as_u16());
    r
}

/// Whether the error rate fails this request: with a status, or with a broken body.
fn random_failure(sim: &SimState, endpoint: Endpoint) -> Option<Result<StatusCode, BodyFault>> {
    let f = lock(&sim.faults);
    let applies = f.error_rate > 0.0
        && (f.error_rate_endpoints.is_empty() || f.error_rate_endpoints.contains(&endpoint));
    if !applies {
        return None;
    }
    let mut rng = lock(&sim.rng);
    if rng.below(1_000_000) as f64 >= f.error_rate.min(1.0) * 1_000_000.0 {
        return None;
    }
    let download = matches!(
        endpoint,
        Endpoint::GetLog | Endpoint::GetUserFile | Endpoint::GetGptFile | Endpoint::GetProjectFile
    );
    let kinds = if download { 4 } else { 3 };
    Some(match rng.below(kinds) {
        0 => Ok(StatusCode::INTERNAL_SERVER_ERROR),
        1 => Ok(StatusCode::SERVICE_UNAVAILABLE),
        2 if endpoint == Endpoint::GetLog => Err(BodyFault::Corrupt),
        2 => Ok(StatusCode::BAD_GATEWAY),
        _ => Err(BodyFault::Truncate),
    })
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn route(
    sim: &SimState,
    endpoint: Endpoint,
    rest: &[&str],
    query: &[(String, String)],
    body_fault: Option<BodyFault>,
) -> Response {
    let ws = &sim.workspace;
    let now = sim.clock.wall();
    let retention = now - time::Duration::days(i64::from(sim.config.log_retention_days));
    let visible = |i: usize| {
        let f = &ws.log_files[i];
        f.visible_at <= now && f.end_time >= retention
    };
    match endpoint {
        Endpoint::ListLogs => {
            let types: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == "event_type")
                .map(|(_, v)| v.as_str())
                .collect();
            if types.is_empty() {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "event_type is required");
            }
            let Some(after) = param(query, "after").and_then(parse_time) else {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "after must be an ISO 8601 timestamp with time zone",
                );
            };
            let before = match param(query, "before") {
                Some(b) => match parse_time(b) {
                    Some(t) => Some(t),
                    None => return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid before"),
                },
                None => None,
            };
            let limit = match param(query, "limit").map(str::parse::<usize>) {
                None => 100,
                Some(Ok(n)) if (1..=100).contains(&n) => n,
                _ => {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "limit must be between 1 and 100",
                    )
                }
            };
            let matching: Vec<usize> = (0..ws.log_files.len())
                .filter(|&i| {
                    let f = &ws.log_files[i];
                    visible(i)
                        && types.contains(&f.event_type)
                        && f.end_time > after
                        && none_or(before, |b| f.end_time <= b)
                })
                .collect();
            let page = &matching[..matching.len().min(limit)];
            let data: Vec<Value> = page
                .iter()
                .map(|&i| {
                    let f = &ws.log_files[i];
                    // Listed end times are rounded down to the second; the server compares exact ones.
                    let rounded = f.end_time.replace_nanosecond(0).unwrap_or(f.end_time);
                    json!({"id": f.id, "event_type": f.event_type, "end_time": format_time(rounded),
                        "file_name": format!("{}.jsonl", f.id), "file_size": f.content.len(),
                        "file_sha256": sha256_hex(&f.content)})
                })
                .collect();
            let last = page
                .last()
                .map(|&i| format_micros(ws.log_files[i].end_time));
            axum::Json(json!({"object": "list", "data": data, "has_more": matching.len() > page.len(), "last_end_time": last}))
                .into_response()
        }
        Endpoint::GetLog => {
            match (0..ws.log_files.len()).find(|&i| ws.log_files[i].id == rest[1]) {
                Some(i) if visible(i) => redirect(sim, Signed::Log(i), body_fault),
                Some(_) => error(StatusCode::GONE, "log file expired"),
                None => error(StatusCode::NOT_FOUND, "log file not found"),
            }
        }
        Endpoint::MaxEventTime => {
            let Some(t) = param(query, "event_type") else {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "event_type is required");
            };
            let max = (0..ws.log_files.len())
                .filter(|&i| visible(i) && ws.log_files[i].event_type == t)
                .map(|i| ws.log_files[i].end_time)
                .max()
                .map(format_micros);
            axum::Json(json!({"max_event_time": {t: max}})).into_response()
        }
        Endpoint::ListUsers => {
            let items: Vec<(String, Value)> = ws
                .users
                .iter()
                .map(|u| {
                    (u.id.clone(), json!({"object": "compliance.workspace.user", "id": u.id, "email": u.email,
                    "name": u.name, "created_at": 1_700_000_000.0, "role": "standard-user", "status": "active"}))
                })
                .collect();
            list_page(items, query, 200)
        }
        Endpoint::GetUserFile => {
            if lock(&sim.faults).user_files_down {
                return error(StatusCode::SERVICE_UNAVAILABLE, "file service unavailable");
            }
            let (user, file) = (rest[1], rest[3]);
            let Some(f) = ws
                .files
                .get(file)
                .filter(|f| f.user_id.as_deref() == Some(user))
            else {
                return error(StatusCode::NOT_FOUND, "file not found");
            };
            if f.uploaded_at > now {
                return error(StatusCode::NOT_FOUND, "file not found");
            }
            let expired = now - f.uploaded_at
                > time::Duration::hours(i64::from(sim.config.upload_retention_hours))
                || lock(&sim.faults).expired_files.iter().any(|id| id == file);
            if expired {
                return error(StatusCode::GONE, "This file has expired");
            }
            redirect(sim, Signed::File(file.to_string()), body_fault)
        }
        Endpoint::ListGpts => {
            // GPTs and versions created later are not there yet.
            let items = ws
                .gpts
                .iter()
                .filter_map(|g| Some((g.id.clone(), g.json_at(now)?)))
                .collect();
            list_page(items, query, 20)
        }
        Endpoint::ListGptConfigs => match ws.gpts.iter().find(|g| g.id == rest[1]) {
            Some(g) if g.created_at <= now => {
                let data: Vec<Value> = g.configs_at(now).map(|c| c.json.clone()).collect();
                let last = data.last().and_then(|c| c.get("id")).cloned();
                axum::Json(
                    json!({"object": "list", "data": data, "has_more": false, "last_id": last}),
                )
                .into_response()
            }
            _ => error(StatusCode::NOT_FOUND, "GPT not found"),
        },
        Endpoint::GetGptFile => match ws
            .files
            .get(rest[1])
            .filter(|f| f.user_id.is_none() && f.uploaded_at <= now)
        {
            Some(f) => redirect(sim, Signed::File(f.id.clone()), body_fault),
            None => error(StatusCode::NOT_FOUND, "file not found"),
        },
        Endpoint::ListProjects => {
            let items = ws
                .projects
                .iter()
                .map(|p| (p["id"].as_str().unwrap_or("").to_string(), p.clone()))
                .collect();
            list_page(items, query, 20)
        }
        Endpoint::ListProjectConfigs => match ws.projects.iter().find(|p| p["id"] == rest[1]) {
            Some(p) => axum::Json(p["latest_config"].clone()).into_response(),
            None => error(StatusCode::NOT_FOUND, "project not found"),
        },
        Endpoint::GetProjectFile => error(StatusCode::NOT_FOUND, "file not found"),
    }
}

fn list_page(
    items: Vec<(String, Value)>,
    query: &[(String, String)],
    default_limit: usize,
) -> Response {
    let limit = param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(default_limit)
        .clamp(1, 200);
    let start = match param(query, "after") {
        Some(after) => match items.iter().position(|(id, _)| id == after) {
            Some(i) => i + 1,
            None => return error(StatusCode::UNPROCESSABLE_ENTITY, "unknown after cursor"),
        },
        None => 0,
    };
    let page: Vec<&(String, Value)> = items.iter().skip(start).take(limit).collect();
    let has_more = start + page.len() < items.len();
    axum::Json(
        json!({"object": "list", "data": page.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "has_more": has_more, "last_id": page.last().map(|(id, _)| id)}),
    )
    .into_response()
}

fn redirect(sim: &SimState, target: Signed, fault: Option<BodyFault>) -> Response {
    let token = {
        let mut rng = lock(&sim.rng);
        format!("{:016x}{:016x}", rng.next(), rng.next())
    };
    let expires = sim.clock.elapsed() + sim.config.signed_url_ttl;
    lock(&sim.signed).insert(
        token.clone(),
        SignedUrl {
            target,
            expires,
            fault,
        },
    );
    // An absolute URL on the same loopback server, with a signature-like query.
    let location = format!("/signed/{token}?X-Signature={token}");
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

async fn signed(sim: &SimState, token: &str, headers: &HeaderMap) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        // Storage services refuse a request that carries two kinds of credentials.
        return (StatusCode::BAD_REQUEST, "Only one auth mechanism allowed").into_response();
    }
    let Some(SignedUrl {
        target,
        expires,
        fault,
    }) = lock(&sim.signed).get(token).cloned()
    else {
        return (StatusCode::FORBIDDEN, "AccessDenied").into_response();
    };
    if sim.clock.elapsed() > expires {
        return (StatusCode::FORBIDDEN, "Request has expired").into_response();
    }
    let (mut content, is_log) = match target {
        Signed::Log(i) => (
            Bytes::from(sim.workspace.log_files[i].content.clone()),
            true,
        ),
        Signed::File(id) => match sim.workspace.files.get(&id) {
            Some(f) => (f.content.clone(), false),
            None => return (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
        },
    };
    let (truncate, corrupt) = match fault {
        Some(BodyFault::Truncate) => (true, false),
        Some(BodyFault::Corrupt) => (false, is_log),
        None => {
            let mut f = lock(&sim.faults);
            let truncate = f.truncate_next > 0;
            if truncate {
                f.truncate_next -= 1;
            }
            let corrupt = !truncate && is_log && f.corrupt_next > 0;
            if corrupt {
                f.corrupt_next -= 1;
            }
            (truncate, corrupt)
        }
    };
    if corrupt {
        // A complete, well-framed response with the wrong bytes: only the checksum can tell.
        content.truncate(content.len() / 2);
    }
    let content_type = if is_log {
        "application/x-ndjson"
    } else {
        "application/octet-stream"
    };
    if truncate {
        let half = Bytes::from(content[..content.len() / 2].to_vec());
        let full = content.len();
        let stream = futures::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset",
            )),
        ]);
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, full)
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    ([(header::CONTENT_TYPE, content_type)], content).into_response()
}

/// The simulated workspace's time window: `[anchor - days, anchor + future_hours]`.
pub fn window(spec: &WorkspaceSpec, anchor: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    (
        anchor - time::Duration::days(i64::from(spec.days)),
        anchor + time::Duration::hours(i64::from(spec.future_hours)),
    )
}
