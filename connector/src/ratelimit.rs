//! The client-side rate limiter: no endpoint ever receives more requests in a rolling minute
//! than its configured limit.
//!
//! A sliding log per endpoint (the grant times of its last `limit` requests) rather than a token
//! bucket: a bucket allows a burst on top of its rate, and the API counts per minute.
//!
//! The server counts per key and endpoint, whatever the process: a connector restarted (or
//! killed again and again) within a minute must not start with an empty log. A [`GrantJournal`]
//! keeps the grants outside the process (the connector's state database); a limiter given one
//! starts from the grants it holds of the last window, and records each new grant in it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::{SharedClock, TimeHold};
use crate::config::RateLimitConfig;
use crate::error::Error;
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
    /// Every endpoint.
    pub const ALL: [Endpoint; 11] = [
        Endpoint::ListLogs,
        Endpoint::GetLog,
        Endpoint::MaxEventTime,
        Endpoint::ListUsers,
        Endpoint::GetUserFile,
        Endpoint::ListGpts,
        Endpoint::ListGptConfigs,
        Endpoint::GetGptFile,
        Endpoint::ListProjects,
        Endpoint::ListProjectConfigs,
        Endpoint::GetProjectFile,
    ];

    /// The endpoint of a [`Endpoint::name`].
    pub fn from_name(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }

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

/// Where a [`RateLimiter`] keeps its grants beyond the life of the process.
///
/// Recording is on the path of every request: keep it cheap. A failure to record costs only the
/// protection of a restart within the next minute; the limiter logs it and goes on.
pub trait GrantJournal: Send + Sync + fmt::Debug {
    /// Remembers that a request to `endpoint` was granted at `at` (wall clock); returns an id
    /// for [`GrantJournal::settled`], if the journal can move a grant.
    fn record(&self, endpoint: Endpoint, at: OffsetDateTime) -> Result<Option<i64>, Error>;
    /// The request of grant `id` got its answer at `at`: it counts from then.
    fn settled(&self, id: i64, at: OffsetDateTime) -> Result<(), Error> {
        let _ = (id, at);
        Ok(())
    }
    /// The grants recorded at or after `since` (wall clock), in any order.
    fn since(&self, since: OffsetDateTime) -> Result<Vec<(Endpoint, OffsetDateTime)>, Error>;
}

/// How far before the clock's start a restored grant may lie: grant times are kept on the
/// clock's [`crate::Clock::elapsed`] line shifted by this much, so that a grant made by an
/// earlier process (before this clock started) still has a place on it.
const HISTORY: Duration = Duration::from_secs(WINDOW.as_secs() + SAFETY_MARGIN.as_secs());

/// A request granted by [`RateLimiter::acquire`], to give back to [`RateLimiter::settle`].
#[derive(Debug)]
#[must_use = "settle the permit when the response arrived"]
pub struct Permit {
    hold: TimeHold,
    endpoint: Endpoint,
    granted: Duration,
    journal_id: Option<i64>,
}

/// Per-endpoint sliding-window limiter.
#[derive(Debug)]
pub struct RateLimiter {
    clock: SharedClock,
    config: RateLimitConfig,
    /// Grant times, on the clock's elapsed time plus [`HISTORY`].
    grants: Mutex<HashMap<Endpoint, VecDeque<Duration>>>,
    journal: Option<Arc<dyn GrantJournal>>,
    journal_failed: AtomicBool,
}

impl RateLimiter {
    /// A limiter with these limits.
    pub fn new(config: RateLimitConfig, clock: SharedClock) -> RateLimiter {
        RateLimiter {
            clock,
            config,
            grants: Mutex::new(HashMap::new()),
            journal: None,
            journal_failed: AtomicBool::new(false),
        }
    }

    /// Keeps the grants in `journal` from now on, and counts the grants it holds of the last
    /// window as if this limiter had made them (a restarted process goes on where the last one
    /// stopped instead of sending a fresh burst).
    pub fn set_journal(&mut self, journal: Arc<dyn GrantJournal>) -> Result<(), Error> {
        let now_wall = self.clock.wall();
        let now = self.now();
        let window = time::Duration::try_from(WINDOW).unwrap_or(time::Duration::MINUTE);
        let restored = journal.since(now_wall - window)?;
        {
            let mut grants = lock(&self.grants);
            for (endpoint, at) in restored {
                // A grant from the future (the wall clock was set back) counts as now.
                let age = Duration::try_from(now_wall - at)
                    .unwrap_or(Duration::ZERO)
                    .min(WINDOW);
                grants
                    .entry(endpoint)
                    .or_default()
                    .push_back(now.saturating_sub(age));
            }
            for log in grants.values_mut() {
                log.make_contiguous().sort();
            }
        }
        self.journal = Some(journal);
        Ok(())
    }

    /// The time grants are kept on.
    fn now(&self) -> Duration {
        self.clock.elapsed() + HISTORY
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

    /// Waits until a request to `endpoint` may be sent. The permit's hold keeps a virtual
    /// clock still until the request is on the wire; give the permit to
    /// [`RateLimiter::settle`] once the response headers arrived (or the request failed).
    pub async fn acquire(&self, endpoint: Endpoint) -> Permit {
        let limit = self.limit(endpoint) as usize;
        loop {
            // Time is held before it is read, so the grant time is the time the server sees.
            let hold = self.clock.hold();
            let now = self.now();
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
                None => {
                    let journal_id = self.journal_grant(endpoint);
                    return Permit {
                        hold,
                        endpoint,
                        granted: now,
                        journal_id,
                    };
                }
                Some(deadline) => {
                    drop(hold);
                    self.clock
                        .sleep_until(deadline.saturating_sub(HISTORY))
                        .await;
                }
            }
        }
    }

    /// The request of `permit` got its answer (or failed): from now on it counts in its
    /// window from this moment instead of from its grant. The server stamped it somewhere in
    /// between, so counting from the later time keeps the limit in the server's window however
    /// long the request took to arrive (a slow connection set-up, a starved process), where a
    /// fixed margin could be exceeded.
    pub fn settle(&self, permit: Permit) {
        let Permit {
            hold,
            endpoint,
            granted,
            journal_id,
        } = permit;
        drop(hold);
        let now = self.now();
        if now <= granted {
            return;
        }
        // The journal too, so that a restart counts it from its answer as well.
        if let (Some(journal), Some(id)) = (&self.journal, journal_id) {
            if let Err(e) = journal.settled(id, self.clock.wall()) {
                if !self.journal_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot record rate-limit grants; a restart within a minute may exceed the limits");
                }
            }
        }
        let mut grants = lock(&self.grants);
        if let Some(log) = grants.get_mut(&endpoint) {
            if let Some(slot) = log.iter_mut().find(|t| **t == granted) {
                *slot = now;
                log.make_contiguous().sort();
            }
        }
    }

    fn journal_grant(&self, endpoint: Endpoint) -> Option<i64> {
        let journal = self.journal.as_ref()?;
        match journal.record(endpoint, self.clock.wall()) {
            Ok(id) => id,
            Err(e) => {
                // Once: a broken journal would otherwise log on every request.
                if !self.journal_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot record rate-limit grants; a restart within a minute may exceed the limits");
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, VirtualClock};

    #[tokio::test]
    async fn a_slow_request_counts_from_its_answer() {
        let clock = VirtualClock::new(OffsetDateTime::UNIX_EPOCH);
        let limiter = RateLimiter::new(
            RateLimitConfig {
                list_per_minute: 2,
                get_per_minute: 2,
            },
            clock.shared(),
        );
        // The first request takes 10 s to be answered (the server stamped it somewhere in
        // between); the second is quick.
        let slow = limiter.acquire(Endpoint::ListLogs).await;
        drop(limiter.acquire(Endpoint::ListLogs).await);
        clock.advance(Duration::from_secs(10));
        limiter.settle(slow);
        // The third waits for the quick one to leave the window (60 s + margin from 0)...
        drop(limiter.acquire(Endpoint::ListLogs).await);
        assert_eq!(clock.elapsed(), WINDOW + SAFETY_MARGIN);
        // ...and the fourth for the slow one, counted from its answer at 10 s.
        drop(limiter.acquire(Endpoint::ListLogs).await);
        assert_eq!(
            clock.elapsed(),
            Duration::from_secs(10) + WINDOW + SAFETY_MARGIN
        );
    }

    #[tokio::test]
    async fn a_restart_counts_a_slow_request_from_its_answer_too() {
        let clock = VirtualClock::new(OffsetDateTime::UNIX_EPOCH);
        let limits = RateLimitConfig {
            list_per_minute: 1,
            get_per_minute: 1,
        };
        let journal = Arc::new(MemoryJournal::default());
        let mut first = RateLimiter::new(limits.clone(), clock.shared());
        first.set_journal(journal.clone()).unwrap();
        let slow = first.acquire(Endpoint::ListLogs).await;
        clock.advance(Duration::from_secs(10));
        first.settle(slow);
        drop(first); // killed
        let mut second = RateLimiter::new(limits, clock.shared());
        second.set_journal(journal).unwrap();
        drop(second.acquire(Endpoint::ListLogs).await);
        assert_eq!(
            clock.elapsed(),
            Duration::from_secs(10) + WINDOW + SAFETY_MARGIN
        );
    }

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

    /// A journal in memory, as the state database would keep it.
    #[derive(Debug, Default)]
    struct MemoryJournal(Mutex<Vec<(Endpoint, OffsetDateTime)>>);

    impl GrantJournal for MemoryJournal {
        fn record(&self, endpoint: Endpoint, at: OffsetDateTime) -> Result<Option<i64>, Error> {
            let mut grants = lock(&self.0);
            grants.push((endpoint, at));
            Ok(i64::try_from(grants.len() - 1).ok())
        }
        fn settled(&self, id: i64, at: OffsetDateTime) -> Result<(), Error> {
            let mut grants = lock(&self.0);
            if let Some(grant) = usize::try_from(id).ok().and_then(|i| grants.get_mut(i)) {
                grant.1 = at;
            }
            Ok(())
        }
        fn since(&self, since: OffsetDateTime) -> Result<Vec<(Endpoint, OffsetDateTime)>, Error> {
            Ok(lock(&self.0)
                .iter()
                .filter(|(_, at)| *at >= since)
                .copied()
                .collect())
        }
    }

    #[tokio::test]
    async fn a_restarted_limiter_counts_the_grants_of_the_last_one() {
        let limits = RateLimitConfig {
            list_per_minute: 5,
            get_per_minute: 7,
        };
        let journal = Arc::new(MemoryJournal::default());
        let clock = VirtualClock::new(OffsetDateTime::UNIX_EPOCH);
        let mut first = RateLimiter::new(limits.clone(), clock.shared());
        first.set_journal(journal.clone()).unwrap();
        for _ in 0..5 {
            drop(first.acquire(Endpoint::ListLogs).await);
        }
        drop(first);
        clock.advance(Duration::from_secs(10));
        // The new process has a new clock: its elapsed time starts at zero, its wall time goes
        // on. The grants of the last one still count, until they leave the window.
        let restarted = VirtualClock::new(clock.wall());
        let mut second = RateLimiter::new(limits, restarted.shared());
        second.set_journal(journal.clone()).unwrap();
        drop(second.acquire(Endpoint::GetLog).await);
        assert_eq!(restarted.elapsed(), Duration::ZERO, "another endpoint");
        drop(second.acquire(Endpoint::ListLogs).await);
        let waited = restarted.elapsed();
        assert!(
            waited >= Duration::from_secs(50) && waited <= Duration::from_secs(50) + SAFETY_MARGIN,
            "{waited:?}"
        );
        assert_eq!(lock(&journal.0).len(), 7);
    }
}
