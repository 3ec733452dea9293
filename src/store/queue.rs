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
    /// Confirmation emails per hour shared by all workers
    /// (`CONFIRMATIONS_PER_HOUR`); beyond it they wait in the queue.
    pub confirmations_per_hour: Option<u32>,
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
    /// A "send test to me" digest from the dashboard: no subscriber, no digest.
    pub test: Option<TestDigest>,
}

/// What a test digest delivery keeps in its payload: the publications it
/// shows and who asked. It belongs to no digest, so it announces nothing
/// and no digest counts it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestDigest {
    pub to: String,
    pub topics: Vec<String>,
    pub publication_ids: Vec<i64>,
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
    /// A permanent refusal of the address itself (a hard bounce): failed
    /// like `Failed`, and counted against the subscriber, who is
    /// unsubscribed (and suppressed) at `unsubscribe_at` hard bounces.
    Bounced {
        delivery_id: i64,
        error: String,
        unsubscribe_at: Option<u32>,
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
            | DeliveryOutcome::Bounced { delivery_id, .. }
            | DeliveryOutcome::Cancelled { delivery_id, .. } => *delivery_id,
        }
    }
}

/// A limit shared by every worker through a row of `rate_buckets`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// The row's name.
    pub bucket: &'static str,
    pub per_sec: f64,
    /// Most tokens the bucket holds: the burst allowed after a quiet spell.
    pub capacity: f64,
}

impl Limit {
    /// `SEND_RATE_PER_SEC`: at most one second of sends at once.
    pub fn sends(per_sec: f64) -> Limit {
        Limit { bucket: "send", per_sec, capacity: per_sec.max(1.0) }
    }

    /// `CONFIRMATIONS_PER_HOUR`: a bucket of that many, refilled over the hour.
    pub fn confirmations(per_hour: u32) -> Limit {
        let per_hour = f64::from(per_hour.max(1));
        Limit { bucket: "confirmations", per_sec: per_hour / 3600.0, capacity: per_hour }
    }
}

/// A token bucket as stored. Pure; both backends refill and spend it inside
/// their claim transaction, with the row locked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBucket {
    pub tokens: f64,
    pub refilled_at: DateTime<Utc>,
}

impl RateBucket {
    /// The bucket refilled up to `now`.
    pub fn refill(self, limit: &Limit, now: DateTime<Utc>) -> RateBucket {
        let elapsed = (now - self.refilled_at).to_std().unwrap_or(Duration::ZERO).as_secs_f64();
        RateBucket { tokens: (self.tokens + elapsed * limit.per_sec).min(limit.capacity), refilled_at: now }
    }

    pub fn whole_tokens(self) -> u32 {
        self.tokens.max(0.0).floor().min(f64::from(u32::MAX)) as u32
    }

    pub fn spend(self, taken: usize) -> RateBucket {
        RateBucket { tokens: self.tokens - taken as f64, ..self }
    }

    /// How long until one whole token is available.
    pub fn wait_for_one(self, limit: &Limit) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens) / limit.per_sec).max(0.001))
    }
}

/// How many rows of each priority one claim may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimPlan {
    /// Priority 0: confirmations (and other transactional mail).
    pub transactional: u32,
    /// Every priority, in all (transactional ones first).
    pub total: u32,
}

impl ClaimPlan {
    /// What the request's limit and the buckets (already refilled) allow.
    pub fn new(limit: u32, sends: Option<RateBucket>, confirmations: Option<RateBucket>) -> ClaimPlan {
        let total = sends.map_or(limit, |b| limit.min(b.whole_tokens()));
        let transactional = confirmations.map_or(total, |b| total.min(b.whole_tokens()));
        ClaimPlan { transactional, total }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn start() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000)
    }

    #[test]
    fn the_send_bucket_refills_with_time_up_to_one_second_of_sends() {
        let empty = RateBucket { tokens: 0.0, refilled_at: start() };
        let ten = Limit::sends(10.0);
        assert_eq!(empty.refill(&ten, start() + TimeDelta::milliseconds(350)).whole_tokens(), 3);
        assert_eq!(empty.refill(&ten, start() + TimeDelta::hours(1)).whole_tokens(), 10);
        assert_eq!(empty.refill(&Limit::sends(0.5), start() + TimeDelta::hours(1)).whole_tokens(), 1);
        let four = Limit::sends(4.0);
        assert_eq!(empty.refill(&four, start()).wait_for_one(&four), Duration::from_millis(250));
    }

    #[test]
    fn the_confirmation_bucket_holds_an_hour_and_refills_over_it() {
        let limit = Limit::confirmations(60);
        let empty = RateBucket { tokens: 0.0, refilled_at: start() };
        assert_eq!(empty.refill(&limit, start() + TimeDelta::minutes(10)).whole_tokens(), 10);
        assert_eq!(empty.refill(&limit, start() + TimeDelta::days(2)).whole_tokens(), 60);
        let full = RateBucket { tokens: 0.0, refilled_at: DateTime::<Utc>::UNIX_EPOCH }.refill(&limit, start());
        assert_eq!(full.spend(58).whole_tokens(), 2);
    }

    #[test]
    fn a_claim_takes_transactional_mail_up_to_its_bucket_and_bulk_mail_up_to_the_rest() {
        let bucket = |tokens| Some(RateBucket { tokens, refilled_at: start() });
        assert_eq!(ClaimPlan::new(64, None, None), ClaimPlan { transactional: 64, total: 64 });
        assert_eq!(ClaimPlan::new(64, bucket(10.0), None), ClaimPlan { transactional: 10, total: 10 });
        assert_eq!(ClaimPlan::new(64, None, bucket(3.5)), ClaimPlan { transactional: 3, total: 64 });
        assert_eq!(ClaimPlan::new(64, bucket(2.0), bucket(5.0)), ClaimPlan { transactional: 2, total: 2 });
    }
}
