//! Retry decisions: which failures are retried, how long to wait, and the budget that bounds
//! the retries of a whole scan cycle.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use crate::config::RetryConfig;

/// Retries left for a scan cycle, shared by all requests.
#[derive(Debug)]
pub struct RetryBudget {
    left: AtomicU32,
}

impl RetryBudget {
    /// A budget of `retries`.
    pub fn new(retries: u32) -> RetryBudget {
        RetryBudget {
            left: AtomicU32::new(retries),
        }
    }

    /// Takes one retry; false when spent.
    pub fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Refills the budget (at the start of a cycle).
    pub fn reset(&self, retries: u32) {
        self.left.store(retries, Ordering::SeqCst);
    }
}

/// The full-jitter backoff before retry number `attempt` (1-based): a uniform delay in
/// `[0, min(max, base * 2^(attempt-1))]`.
pub fn backoff(config: &RetryConfig, attempt: u32) -> Duration {
    let base = Duration::from_millis(config.base_delay_ms.max(1));
    let ceiling = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(Duration::from_secs(config.max_delay_secs.max(1)));
    ceiling.mul_f64(rand::random::<f64>())
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (relative to `now`). `None` when absent
/// or unreadable, so that the caller falls back to its own backoff.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds.min(86_400.0)));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let when = OffsetDateTime::from(when);
    let delta = when - now;
    Some(if delta.is_negative() {
        Duration::ZERO
    } else {
        delta.unsigned_abs()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retry_after_forms() {
        let now = datetime!(2026-07-09 10:00:00 UTC);
        let cases: &[(&str, Option<u64>)] = &[
            ("7", Some(7)),
            (" 0 ", Some(0)),
            ("Thu, 09 Jul 2026 10:00:30 GMT", Some(30)),
            ("Thu, 09 Jul 2026 09:00:00 GMT", Some(0)),
            ("soon", None),
            ("-3", None),
            ("", None),
        ];
        for &(value, want) in cases {
            assert_eq!(
                parse_retry_after(value, now).map(|d| d.as_secs()),
                want,
                "Retry-After: {value:?}"
            );
        }
    }

    #[test]
    fn backoff_is_bounded_and_budget_runs_out() {
        let config = RetryConfig {
            base_delay_ms: 100,
            max_delay_secs: 2,
            ..Default::default()
        };
        for attempt in 1..40 {
            assert!(backoff(&config, attempt) <= Duration::from_secs(2));
        }
        assert!(backoff(&config, 1) <= Duration::from_millis(100));
        let budget = RetryBudget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take());
    }
}
