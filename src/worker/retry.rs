//! When to try a temporarily failed delivery again, and when to give up.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngExt;

use crate::config::DeliveryConfig;

/// Exponential backoff with jitter: the n-th retry waits between half and
/// all of `base × 2^(n-1)`, at most `max`; a delivery still failing
/// `give_up_after` after it was queued is failed for good.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
    pub give_up_after: Duration,
    /// `MAX_ATTEMPTS`, the first send included; also bounds deliveries that
    /// crash their worker again and again.
    pub max_attempts: i64,
}

impl RetryPolicy {
    pub fn from_config(config: &DeliveryConfig) -> RetryPolicy {
        RetryPolicy {
            base: config.retry_base,
            max: config.retry_max,
            give_up_after: config.give_up_after,
            max_attempts: 25,
        }
    }

    /// The delay before retry number `attempts` (1 = first retry), before jitter.
    pub fn delay(&self, attempts: i64) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(30);
        self.base.saturating_mul(2u32.saturating_pow(exponent)).min(self.max)
    }

    /// When to try again after `attempts` attempts, or `None` to give up.
    pub fn next_attempt(&self, attempts: i64, queued_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_attempt_with(attempts, queued_at, now, rand::rng().random_range(0.5..=1.0))
    }

    fn next_attempt_with(
        &self,
        attempts: i64,
        queued_at: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        if attempts >= self.max_attempts {
            return None;
        }
        let wait = self.delay(attempts).mul_f64(jitter);
        let retry_at = now + TimeDelta::from_std(wait).ok()?;
        let deadline = queued_at + TimeDelta::from_std(self.give_up_after).ok()?;
        (retry_at <= deadline).then_some(retry_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        base: Duration::from_secs(30),
        max: Duration::from_secs(3600),
        give_up_after: Duration::from_secs(48 * 3600),
        max_attempts: 25,
    };

    #[test]
    fn delays_double_up_to_the_maximum() {
        let delays: Vec<u64> = (1..=9).map(|n| POLICY.delay(n).as_secs()).collect();
        assert_eq!(delays, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(POLICY.delay(1000).as_secs(), 3600);
    }

    #[test]
    fn jitter_keeps_the_wait_between_half_and_all_of_the_delay() {
        let now = Utc::now();
        let earliest = POLICY.next_attempt_with(3, now, now, 0.5).unwrap();
        let latest = POLICY.next_attempt_with(3, now, now, 1.0).unwrap();
        assert_eq!((earliest - now).num_seconds(), 60);
        assert_eq!((latest - now).num_seconds(), 120);
        let random = POLICY.next_attempt(3, now, now).unwrap();
        assert!(random >= earliest && random <= latest);
    }

    #[test]
    fn gives_up_past_the_deadline_or_after_too_many_attempts() {
        let queued = Utc::now();
        let almost_two_days = queued + TimeDelta::hours(47) + TimeDelta::minutes(59);
        assert_eq!(POLICY.next_attempt_with(10, queued, almost_two_days, 1.0), None);
        assert!(POLICY.next_attempt_with(10, queued, queued + TimeDelta::hours(1), 1.0).is_some());
        assert_eq!(POLICY.next_attempt_with(25, queued, queued, 1.0), None);
    }
}
