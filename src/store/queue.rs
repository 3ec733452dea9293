//! The outgoing-mail queue: what workers claim and what they report back.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::{SubscriberEmail, SubscriberName, Token, Topics};

/// Durable delivery queue shared by every worker process.
#[async_trait]
pub trait DeliveryQueue {
    /// Claims up to `limit` due deliveries for one worker, in one short
    /// transaction: each gets a lease until `lease_until` and one more attempt.
    /// Deliveries whose subscriber no longer wants them (erased,
    /// unsubscribed, already confirmed) are cancelled here instead.
    async fn claim_deliveries(&self, request: &ClaimRequest<'_>) -> StoreResult<Claim>;

    /// Writes a batch of outcomes in one transaction; returns the digests
    /// that have nothing left to send since.
    async fn record_outcomes(
        &self,
        worker: &str,
        outcomes: &[DeliveryOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>>;

    /// Gives claimed but unsent deliveries back (graceful shutdown), due at once.
    async fn release_deliveries(&self, worker: &str, delivery_ids: &[i64], now: DateTime<Utc>) -> StoreResult<()>;

    /// When the earliest queued delivery becomes due, if any is queued.
    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>>;
}

#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    /// Identifies the claiming worker process; leases are checked against it.
    pub worker: &'a str,
    pub limit: u32,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    /// Messages per second shared by all workers (`SEND_RATE_PER_SEC`).
    pub rate_per_sec: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Claim {
    pub deliveries: Vec<ClaimedDelivery>,
    /// Set when the shared send rate allowed nothing: wait this long.
    pub rate_limited_for: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Confirmation,
    Digest,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Confirmation => "confirmation",
            DeliveryKind::Digest => "digest",
        }
    }
}

/// A delivery a worker holds a lease on, with what it needs to render it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery_id: i64,
    pub kind: DeliveryKind,
    /// Including this one.
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub subscriber_id: i64,
    pub email: SubscriberEmail,
    pub name: Option<SubscriberName>,
    pub topics: Topics,
    pub unsubscribe_salt: Vec<u8>,
    pub digest_id: Option<i64>,
    /// Confirmation emails only.
    pub confirmation_token: Option<Token>,
}

impl ClaimedDelivery {
    pub fn reader(&self) -> super::Reader {
        super::Reader {
            email: self.email.clone(),
            name: self.name.clone(),
            topics: self.topics.clone(),
            unsubscribe_salt: self.unsubscribe_salt.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Sent {
        delivery_id: i64,
    },
    /// A temporary failure: due again at `retry_at`.
    Retry {
        delivery_id: i64,
        retry_at: DateTime<Utc>,
        error: String,
    },
    /// A permanent failure (or temporary ones for too long): never retried.
    Failed {
        delivery_id: i64,
        error: String,
    },
    /// Nothing to send after all (e.g. none of the digest is for this reader any more).
    Cancelled {
        delivery_id: i64,
        reason: String,
    },
}

impl DeliveryOutcome {
    pub fn delivery_id(&self) -> i64 {
        match self {
            DeliveryOutcome::Sent { delivery_id }
            | DeliveryOutcome::Retry { delivery_id, .. }
            | DeliveryOutcome::Failed { delivery_id, .. }
            | DeliveryOutcome::Cancelled { delivery_id, .. } => *delivery_id,
        }
    }
}

/// The shared token bucket behind `SEND_RATE_PER_SEC`: how many sends the
/// bucket allows now, and what is left after `taken`. Pure, used by both
/// backends inside their claim transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBucket {
    pub tokens: f64,
    pub refilled_at: DateTime<Utc>,
}

impl RateBucket {
    /// The bucket refilled up to `now`; it holds at most one second of sends.
    pub fn refill(self, rate_per_sec: f64, now: DateTime<Utc>) -> RateBucket {
        let elapsed = (now - self.refilled_at).to_std().unwrap_or(Duration::ZERO).as_secs_f64();
        let capacity = rate_per_sec.max(1.0);
        RateBucket { tokens: (self.tokens + elapsed * rate_per_sec).min(capacity), refilled_at: now }
    }

    pub fn whole_tokens(self) -> u32 {
        self.tokens.max(0.0).floor().min(f64::from(u32::MAX)) as u32
    }

    /// How long until one whole token is available.
    pub fn wait_for_one(self, rate_per_sec: f64) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens) / rate_per_sec).max(0.001))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn the_rate_bucket_refills_with_time_up_to_one_second_of_sends() {
        let start = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        let empty = RateBucket { tokens: 0.0, refilled_at: start };
        assert_eq!(empty.refill(10.0, start + TimeDelta::milliseconds(350)).whole_tokens(), 3);
        assert_eq!(empty.refill(10.0, start + TimeDelta::hours(1)).whole_tokens(), 10);
        assert_eq!(empty.refill(0.5, start + TimeDelta::hours(1)).whole_tokens(), 1);
        let wait = empty.refill(4.0, start).wait_for_one(4.0);
        assert_eq!(wait, Duration::from_millis(250));
    }
}
