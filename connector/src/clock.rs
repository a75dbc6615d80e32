//! Time as the connector sees it: a monotonic clock, the wall clock, and sleeping.
//!
//! Everything that waits (the rate limiter, retry backoff, the watch loop) goes through a
//! [`Clock`], so that tests run against a [`VirtualClock`] and never really sleep. This module
//! must never be bypassed with `tokio::time::sleep` or `SystemTime::now` elsewhere in the crate.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::sync::lock;

/// A boxed future returned by [`Clock::sleep_until`].
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of time and of waiting.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic time elapsed since the clock was created.
    fn elapsed(&self) -> Duration;
    /// The current wall-clock time (UTC).
    fn wall(&self) -> OffsetDateTime;
    /// Waits until [`Clock::elapsed`] reaches `deadline`.
    fn sleep_until(&self, deadline: Duration) -> Sleep<'_>;
    /// Keeps a virtual clock from advancing while the returned guard lives.
    ///
    /// The client holds time still from the moment the rate limiter grants a request until the
    /// response headers arrive, so that the server stamps the request with the time the limiter
    /// saw. A real clock cannot be held; its guard does nothing.
    fn hold(&self) -> TimeHold;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        let deadline = self.elapsed().saturating_add(duration);
        self.sleep_until(deadline)
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock: `Instant`, `SystemTime` and `tokio::time::sleep`.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A real clock, shared.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock {
            start: Instant::now(),
        })
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn wall(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep<'_> {
        let wait = deadline.saturating_sub(self.elapsed());
        Box::pin(tokio::time::sleep(wait))
    }

    fn hold(&self) -> TimeHold {
        TimeHold { clock: None }
    }
}

/// A real clock that runs `scale` times faster than real time, from the time it is created:
/// for simulations that show days of activity in minutes (`dlp chatgpt simulate --time-scale`).
/// Its sleeps are real sleeps, shortened by the scale.
#[derive(Debug)]
pub struct ScaledClock {
    start: Instant,
    wall_start: OffsetDateTime,
    scale: u32,
}

impl ScaledClock {
    /// A clock running `scale` times faster than real time (1: real time), shared.
    pub fn shared(scale: u32) -> SharedClock {
        Arc::new(ScaledClock {
            start: Instant::now(),
            wall_start: OffsetDateTime::now_utc(),
            scale: scale.max(1),
        })
    }
}

impl Clock for ScaledClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed().saturating_mul(self.scale)
    }

    fn wall(&self) -> OffsetDateTime {
        self.wall_start + self.elapsed()
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep<'_> {
        let wait = deadline.saturating_sub(self.elapsed()) / self.scale;
        Box::pin(tokio::time::sleep(wait))
    }

    fn hold(&self) -> TimeHold {
        TimeHold { clock: None }
    }
}

#[derive(Debug, Default)]
struct VirtualState {
    elapsed: Duration,
    holds: usize,
}

#[derive(Debug)]
struct VirtualInner {
    start_wall: OffsetDateTime,
    state: Mutex<VirtualState>,
    released: Notify,
}

/// A clock for tests and the simulator's accelerated demo: sleeping advances time at once.
///
/// A sleeper moves time forward to its deadline as soon as no [`TimeHold`] is alive, so that a
/// request already granted by the rate limiter reaches the server before time moves on.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    inner: Arc<VirtualInner>,
}

impl VirtualClock {
    /// A virtual clock whose wall time starts at `start_wall`.
    pub fn new(start_wall: OffsetDateTime) -> Self {
        VirtualClock {
            inner: Arc::new(VirtualInner {
                start_wall,
                state: Mutex::new(VirtualState::default()),
                released: Notify::new(),
            }),
        }
    }

    /// This clock as a [`SharedClock`].
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    /// Moves time forward by `by` (tests use it to let hours or days pass).
    pub fn advance(&self, by: Duration) {
        let mut state = lock(&self.inner.state);
        state.elapsed = state.elapsed.saturating_add(by);
    }
}

impl Clock for VirtualClock {
    fn elapsed(&self) -> Duration {
        lock(&self.inner.state).elapsed
    }

    fn wall(&self) -> OffsetDateTime {
        self.inner.start_wall + self.elapsed()
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep<'_> {
        Box::pin(async move {
            loop {
                let released = self.inner.released.notified();
                tokio::pin!(released);
                // Registered before the check, so a release between the check and the await
                // is not missed.
                released.as_mut().enable();
                {
                    let mut state = lock(&self.inner.state);
                    if state.elapsed >= deadline {
                        return;
                    }
                    if state.holds == 0 {
                        state.elapsed = deadline;
                        return;
                    }
                }
                released.await;
            }
        })
    }

    fn hold(&self) -> TimeHold {
        lock(&self.inner.state).holds += 1;
        TimeHold {
            clock: Some(self.inner.clone()),
        }
    }
}

/// Keeps a [`VirtualClock`] still while alive; see [`Clock::hold`].
pub struct TimeHold {
    clock: Option<Arc<VirtualInner>>,
}

impl fmt::Debug for TimeHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeHold")
            .field("virtual", &self.clock.is_some())
            .finish()
    }
}

impl Drop for TimeHold {
    fn drop(&mut self) {
        if let Some(inner) = self.clock.take() {
            let mut state = lock(&inner.state);
            state.holds = state.holds.saturating_sub(1);
            drop(state);
            inner.released.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_sleep_advances_without_waiting() {
        let clock = VirtualClock::new(OffsetDateTime::UNIX_EPOCH);
        let real = Instant::now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
        assert!(real.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn hold_keeps_time_still_until_released() {
        let clock = VirtualClock::new(OffsetDateTime::UNIX_EPOCH);
        let hold = clock.hold();
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep(Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        assert_eq!(clock.elapsed(), Duration::ZERO);
        drop(hold);
        sleeper.await.unwrap();
        assert_eq!(clock.elapsed(), Duration::from_secs(5));
    }
}
