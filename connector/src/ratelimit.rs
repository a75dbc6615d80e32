//! The client-side rate limiter: no endpoint ever receives more requests in a rolling minute
//! than its configured limit.
//!
//! A sliding log per endpoint (the grant times of its last `limit` requests) rather than a token
//! bucket: a bucket allows a burst on top of its rate, and the API counts per minute.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{SharedClock, TimeHold};
use crate::config::RateLimitConfig;
use crate::sync::lock;

/// The window the API counts requests in.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Extra wait past the window, for differences in network delay between requests.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(1);

/// The API's endpoints, as the rate limits see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /logs`.
    ListLogs,
    /// `GET /logs/{id}`.
    GetLog,
    /// `GET /max_event_time`.
    MaxEventTime,
    /// `GET /users`.
    ListUsers,
    /// `GET /users/{id}/files/{id}`.
    GetUserFile,
    /// `GET /gpts`.
    ListGpts,
    /// `GET /gpts/{id}/configs`.
    ListGptConfigs,
    /// `GET /gpt_files/{id}`.
    GetGptFile,
    /// `GET /projects`.
    ListProjects,
    /// `GET /projects/{id}/configs`.
    ListProjectConfigs,
    /// `GET /project_files/{id}`.
    GetProjectFile,
}

impl Endpoint {
    /// Whether the endpoint is a list route (the lower limit).
    pub fn is_list(self) -> bool {
        !matches!(
            self,
            Endpoint::GetLog
                | Endpoint::GetUserFile
                | Endpoint::GetGptFile
                | Endpoint::GetProjectFile
        )
    }

    /// A short stable name, used in counters and logs.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::ListLogs => "logs",
            Endpoint::GetLog => "logs/{id}",
            Endpoint::MaxEventTime => "max_event_time",
            Endpoint::ListUsers => "users",
            Endpoint::GetUserFile => "users/{id}/files/{id}",
            Endpoint::ListGpts => "gpts",
            Endpoint::ListGptConfigs => "gpts/{id}/configs",
            Endpoint::GetGptFile => "gpt_files/{id}",
            Endpoint::ListProjects => "projects",
            Endpoint::ListProjectConfigs => "projects/{id}/configs",
            Endpoint::GetProjectFile => "project_files/{id}",
        }
    }
}

/// Per-endpoint sliding-window limiter.
#[derive(Debug)]
pub struct RateLimiter {
    clock: SharedClock,
    config: RateLimitConfig,
    grants: Mutex<HashMap<Endpoint, VecDeque<Duration>>>,
}

impl RateLimiter {
    /// A limiter with these limits.
    pub fn new(config: RateLimitConfig, clock: SharedClock) -> RateLimiter {
        RateLimiter {
            clock,
            config,
            grants: Mutex::new(HashMap::new()),
        }
    }

    /// The limit of an endpoint, per minute.
    pub fn limit(&self, endpoint: Endpoint) -> u32 {
        if endpoint.is_list() {
            self.config.list_per_minute
        } else {
            self.config.get_per_minute
        }
        .max(1)
    }

    /// Waits until a request to `endpoint` may be sent. The returned hold keeps a virtual clock
    /// still until the request is on the wire; drop it once the response headers arrived.
    pub async fn acquire(&self, endpoint: Endpoint) -> TimeHold {
        let limit = self.limit(endpoint) as usize;
        loop {
            // Time is held before it is read, so the grant time is the time the server sees.
            let hold = self.clock.hold();
            let now = self.clock.elapsed();
            let wait_until = {
                let mut grants = lock(&self.grants);
                let log = grants.entry(endpoint).or_default();
                while log.front().is_some_and(|&t| t + WINDOW <= now) {
                    log.pop_front();
                }
                if log.len() < limit {
                    log.push_back(now);
                    None
                } else {
                    // The oldest grant leaves the window at t + WINDOW. The server stamps
                    // requests on arrival, and network delays differ from one request to the
                    // next, so wait a margin more: without it a first request slowed by its
                    // connection setup still counts in the server's window.
                    log.front().map(|&t| t + WINDOW + SAFETY_MARGIN)
                }
            };
            match wait_until {
                None => return hold,
                Some(deadline) => {
                    drop(hold);
                    self.clock.sleep_until(deadline).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, VirtualClock};
    use time::OffsetDateTime;

    #[tokio::test]
    async fn never_more_than_limit_in_any_window() {
        let clock = VirtualClock::new(OffsetDateTime::UNIX_EPOCH);
        let limiter = RateLimiter::new(
            RateLimitConfig {
                list_per_minute: 5,
                get_per_minute: 7,
            },
            clock.shared(),
        );
        let mut times = Vec::new();
        for _ in 0..23 {
            drop(limiter.acquire(Endpoint::ListLogs).await);
            times.push(clock.elapsed());
        }
        for (i, &t) in times.iter().enumerate() {
            let in_window = times[i..].iter().filter(|&&u| u < t + WINDOW).count();
            assert!(
                in_window <= 5,
                "{in_window} requests in the window starting {t:?}"
            );
        }
        // 23 requests at 5 per minute: four full windows must pass.
        assert!(clock.elapsed() >= Duration::from_secs(240));
        assert!(clock.elapsed() <= Duration::from_secs(240) + 4 * SAFETY_MARGIN);
        // Another endpoint is not slowed by this one.
        let before = clock.elapsed();
        drop(limiter.acquire(Endpoint::GetLog).await);
        assert_eq!(clock.elapsed(), before);
    }
}
