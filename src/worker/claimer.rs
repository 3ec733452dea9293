//! Claiming due deliveries, a batch ahead of the sends, and pausing while
//! the SMTP server or the database cannot be reached.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::{RetryPolicy, WorkerSettings};
use crate::clock;
use crate::store::{ClaimRequest, ClaimedDelivery, Store};

/// A delivery this worker holds a lease on, until `lease_until`.
pub(super) struct Claimed {
    pub delivery: ClaimedDelivery,
    pub lease_until: DateTime<Utc>,
}

pub(super) struct Claimer {
    pub store: Arc<dyn Store>,
    pub worker_id: String,
    pub settings: WorkerSettings,
    /// Nudged when this process queues mail.
    pub wake: Arc<Notify>,
    /// Consecutive sends that could not reach the server (0 after a success).
    pub smtp_streak: Arc<AtomicI64>,
}

impl Claimer {
    /// Claims until `shutdown`, handing deliveries to `claimed`; gives back
    /// what it holds when it stops.
    pub async fn run(self, claimed: mpsc::Sender<Claimed>, shutdown: CancellationToken) {
        let mut pause = Pause::default();
        while !shutdown.is_cancelled() {
            pause.observe_smtp(self.smtp_streak.load(Ordering::Relaxed), &self.settings.retry);
            if let Some(wait) = pause.remaining() {
                self.idle(wait, &shutdown).await;
                continue;
            }
            let now = clock::now();
            let lease_until = now + TimeDelta::from_std(self.settings.lease).unwrap_or(TimeDelta::seconds(60));
            let request = ClaimRequest {
                worker: &self.worker_id,
                limit: self.settings.batch_size(),
                now,
                lease_until,
                rate_per_sec: self.settings.rate_per_sec,
                confirmations_per_hour: self.settings.confirmations_per_hour,
            };
            let claim = match self.store.claim_deliveries(&request).await {
                Ok(claim) => {
                    pause.database_ok();
                    claim
                }
                Err(error) => {
                    let wait = pause.database_failed();
                    tracing::warn!(error = %error, retry_in = ?wait, "cannot claim deliveries");
                    self.idle(wait, &shutdown).await;
                    continue;
                }
            };
            if claim.deliveries.is_empty() {
                let wait = claim.rate_limited_for.unwrap_or(self.settings.poll_interval);
                self.idle(wait, &shutdown).await;
                continue;
            }
            let mut deliveries = claim.deliveries.into_iter();
            while let Some(delivery) = deliveries.next() {
                let slot = tokio::select! {
                    slot = claimed.reserve() => slot.ok(),
                    () = shutdown.cancelled() => None,
                };
                let Some(slot) = slot else {
                    let unsent: Vec<i64> =
                        std::iter::once(delivery.delivery_id).chain(deliveries.map(|d| d.delivery_id)).collect();
                    if let Err(error) = self.store.release_deliveries(&self.worker_id, &unsent, clock::now()).await {
                        tracing::warn!(error = %error, "cannot release deliveries; they become due when their lease ends");
                    }
                    return;
                };
                slot.send(Claimed { delivery, lease_until });
            }
        }
    }

    /// Waits for `wait`, a wake-up from the web side, or shutdown.
    async fn idle(&self, wait: Duration, shutdown: &CancellationToken) {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = self.wake.notified() => {}
            () = shutdown.cancelled() => {}
        }
    }
}

/// Backing off from an SMTP server that cannot be reached, or a database
/// that cannot be queried, instead of failing every queued message in turn.
#[derive(Debug, Default)]
struct Pause {
    /// The SMTP failure streak already acted on.
    smtp_streak_seen: i64,
    /// Pauses in a row, each twice as long as the one before.
    smtp_pauses: i64,
    until: Option<tokio::time::Instant>,
    database_failures: u32,
}

impl Pause {
    /// Pauses longer with each new failure in a row; a success resets it.
    fn observe_smtp(&mut self, streak: i64, retry: &RetryPolicy) {
        if streak == 0 {
            if self.smtp_pauses > 0 {
                tracing::info!("the SMTP server answers again; deliveries resumed");
            }
            self.smtp_pauses = 0;
        } else if streak > self.smtp_streak_seen {
            self.smtp_pauses += 1;
            let wait = retry.delay(self.smtp_pauses);
            if self.smtp_pauses == 1 {
                tracing::warn!(pause = ?wait, "the SMTP server cannot be reached; pausing deliveries");
            }
            self.until = Some(tokio::time::Instant::now() + wait);
        }
        self.smtp_streak_seen = streak;
    }

    fn remaining(&mut self) -> Option<Duration> {
        let until = self.until?;
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            self.until = None;
            None
        } else {
            Some(left)
        }
    }

    fn database_failed(&mut self) -> Duration {
        self.database_failures = self.database_failures.saturating_add(1);
        Duration::from_millis(250)
            .saturating_mul(2u32.saturating_pow(self.database_failures.min(7)))
            .min(Duration::from_secs(30))
    }

    fn database_ok(&mut self) {
        self.database_failures = 0;
    }
}
