//! The delivery worker: claims due rows from the queue with a lease, sends
//! them over SMTP (`SMTP_POOL_SIZE` at a time), and records the outcomes.
//!
//! Nothing is lost when the process dies: a claimed row that was not
//! recorded becomes due again when its lease ends, and any worker sends it.
//! The only possible duplicates are the messages in flight at that moment.

mod claimer;
mod prepared_emails;
mod recorder;
mod retry;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lettre::address::Envelope;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use retry::RetryPolicy;

use crate::clock;
use crate::config::DeliveryConfig;
use crate::email::dkim::Signer;
use crate::email::{Composer, Mailer, SendError};
use crate::store::{ClaimedDelivery, DeliveryKind, DeliveryOutcome, Store};
use claimer::{Claimed, Claimer};
use prepared_emails::PreparedEmails;

/// How long in-flight sends may take to finish after shutdown is requested.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

pub struct Worker {
    store: Arc<dyn Store>,
    mailer: Arc<Mailer>,
    composer: Arc<Composer>,
    emails: Arc<PreparedEmails>,
    /// Signs each finished message when DKIM is configured.
    signer: Option<Arc<Signer>>,
    settings: WorkerSettings,
    /// Nudged after a web request queues mail, so it goes out at once.
    wake: Arc<Notify>,
    id: String,
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub send_timeout: Duration,
    pub rate_per_sec: Option<f64>,
    pub confirmations_per_hour: Option<u32>,
    pub hard_bounce_limit: Option<u32>,
    pub retry: RetryPolicy,
}

impl WorkerSettings {
    pub fn new(delivery: &DeliveryConfig, concurrency: u32) -> WorkerSettings {
        WorkerSettings {
            concurrency: usize::try_from(concurrency).unwrap_or(1).max(1),
            lease: delivery.lease,
            poll_interval: delivery.poll_interval,
            send_timeout: delivery.send_timeout,
            rate_per_sec: delivery.send_rate_per_sec,
            confirmations_per_hour: delivery.confirmations_per_hour,
            hard_bounce_limit: delivery.hard_bounce_limit,
            retry: RetryPolicy::from_config(delivery),
        }
    }

    /// Rows claimed per round: enough to keep every connection busy while the
    /// next claim runs, few enough to be sent well within the lease.
    fn batch_size(&self) -> u32 {
        let by_concurrency = self.concurrency.saturating_mul(16).min(512);
        let by_rate = self.rate_per_sec.map_or(usize::MAX, |rate| (rate * self.lease.as_secs_f64() / 4.0) as usize);
        u32::try_from(by_concurrency.min(by_rate).max(1)).unwrap_or(1)
    }
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<Mailer>,
        composer: Arc<Composer>,
        signer: Option<Signer>,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Worker {
        let id = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let emails = Arc::new(PreparedEmails::new(store.clone(), composer.clone()));
        Worker { store, mailer, composer, emails, signer: signer.map(Arc::new), settings, wake, id }
    }

    /// Delivers until `shutdown` is cancelled, then stops claiming, lets the
    /// sends in flight finish, gives back what it had not started, and
    /// saves every outcome it has.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(worker = %self.id, concurrency = self.settings.concurrency, "delivery worker started");
        let (outcome_tx, outcome_rx) = mpsc::channel(1024);
        let recorder = tokio::spawn(recorder::record_outcomes(self.store.clone(), self.id.clone(), outcome_rx));
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let pacer = self.settings.rate_per_sec.and_then(pacer);
        let mut sends = JoinSet::new();
        let smtp_streak = Arc::new(AtomicI64::new(0));
        // Claims run ahead of the sends by up to one batch, so the SMTP
        // connections never wait for a database round trip.
        let (claimed_tx, mut claimed_rx) = mpsc::channel(usize::try_from(self.settings.batch_size()).unwrap_or(64));
        let claimer = Claimer {
            store: self.store.clone(),
            worker_id: self.id.clone(),
            settings: self.settings.clone(),
            wake: self.wake.clone(),
            smtp_streak: smtp_streak.clone(),
        };
        let claimer = tokio::spawn(claimer.run(claimed_tx, shutdown.clone()));

        let mut unsent = Vec::new();
        loop {
            while sends.try_join_next().is_some() {}
            let Claimed { delivery, lease_until } = tokio::select! {
                claimed = claimed_rx.recv() => match claimed {
                    Some(claimed) => claimed,
                    None => break,
                },
                () = shutdown.cancelled() => break,
            };
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                () = shutdown.cancelled() => {
                    unsent.push(delivery.delivery_id);
                    break;
                }
            };
            if let Some(pacer) = &pacer {
                pacer.until_ready().await;
            }
            // A lease about to run out would let another worker send it too.
            let send_deadline = lease_until - TimeDelta::from_std(self.settings.send_timeout).unwrap_or_default();
            if clock::now() >= send_deadline {
                self.release(&[delivery.delivery_id]).await;
                continue;
            }
            let job = SendJob {
                mailer: self.mailer.clone(),
                composer: self.composer.clone(),
                emails: self.emails.clone(),
                signer: self.signer.clone(),
                retry: self.settings.retry,
                hard_bounce_limit: self.settings.hard_bounce_limit,
                outcomes: outcome_tx.clone(),
                smtp_streak: smtp_streak.clone(),
            };
            sends.spawn(job.run(delivery, permit));
        }
        // Whatever was claimed but not started goes back, due at once.
        if let Err(error) = claimer.await {
            tracing::error!(error = %error, "the claimer failed");
        }
        while let Some(Claimed { delivery, .. }) = claimed_rx.recv().await {
            unsent.push(delivery.delivery_id);
        }
        if !unsent.is_empty() {
            self.release(&unsent).await;
        }

        tracing::info!(worker = %self.id, in_flight = sends.len(), "delivery worker stopping");
        if tokio::time::timeout(SHUTDOWN_GRACE, async { while sends.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!(
                abandoned = sends.len(),
                "sends still running at the shutdown deadline; their leases will expire"
            );
            sends.abort_all();
        }
        drop(outcome_tx);
        if let Err(error) = recorder.await {
            tracing::error!(error = %error, "the outcome recorder failed");
        }
        self.mailer.close().await;
        tracing::info!(worker = %self.id, "delivery worker stopped");
    }

    async fn release(&self, delivery_ids: &[i64]) {
        if let Err(error) = self.store.release_deliveries(&self.id, delivery_ids, clock::now()).await {
            tracing::warn!(error = %error, count = delivery_ids.len(), "cannot release deliveries; they become due when their lease ends");
        }
    }
}

/// One message on its way: compose, send under a timeout, report.
struct SendJob {
    mailer: Arc<Mailer>,
    composer: Arc<Composer>,
    emails: Arc<PreparedEmails>,
    signer: Option<Arc<Signer>>,
    retry: RetryPolicy,
    hard_bounce_limit: Option<u32>,
    outcomes: mpsc::Sender<DeliveryOutcome>,
    /// Consecutive sends that could not reach the server; 0 after a success.
    smtp_streak: Arc<AtomicI64>,
}

impl SendJob {
    async fn run(self, delivery: ClaimedDelivery, _permit: OwnedSemaphorePermit) {
        let outcome = self.deliver(&delivery).await;
        if self.outcomes.send(outcome).await.is_err() {
            tracing::error!(
                delivery_id = delivery.delivery_id,
                "outcome recorder is gone; the delivery will be retried"
            );
        }
    }

    async fn deliver(&self, delivery: &ClaimedDelivery) -> DeliveryOutcome {
        let delivery_id = delivery.delivery_id;
        let (envelope, message) = match self.compose(delivery).await {
            Ok(Some(composed)) => composed,
            Ok(None) => {
                let reason = "none of the digest matches the reader's topics any more".to_owned();
                return DeliveryOutcome::Cancelled { delivery_id, reason };
            }
            // A template or database problem: retried, so the mail goes out once fixed.
            Err(error) => {
                tracing::error!(delivery_id, error = %error, error.cause_chain = ?error, "cannot compose email");
                return self.retry_or_fail(delivery, format!("cannot compose email: {error}"));
            }
        };
        match self.mailer.send(&envelope, &message).await {
            Ok(()) => {
                self.smtp_streak.store(0, Ordering::Relaxed);
                tracing::debug!(delivery_id, kind = delivery.kind.as_str(), "sent");
                DeliveryOutcome::Sent { delivery_id }
            }
            Err(SendError::Permanent { reason, bad_address }) => {
                tracing::warn!(delivery_id, reason = %reason, bad_address, "rejected for good by the SMTP server");
                if bad_address {
                    let unsubscribe_at = self.hard_bounce_limit;
                    DeliveryOutcome::Bounced { delivery_id, error: reason, unsubscribe_at }
                } else {
                    DeliveryOutcome::Failed { delivery_id, error: reason }
                }
            }
            Err(SendError::Temporary { reason, unreachable }) => {
                if unreachable {
                    self.smtp_streak.fetch_add(1, Ordering::Relaxed);
                }
                tracing::info!(delivery_id, attempt = delivery.attempts, reason = %reason, "temporary failure");
                self.retry_or_fail(delivery, reason)
            }
        }
    }

    /// The envelope and the final (signed) message for a delivery; `None`
    /// when a digest has nothing for this reader.
    async fn compose(&self, delivery: &ClaimedDelivery) -> anyhow::Result<Option<(Envelope, Vec<u8>)>> {
        let Some((envelope, message)) = self.complete(delivery).await? else { return Ok(None) };
        let message = match &self.signer {
            Some(signer) => signer.sign(&message, clock::now().timestamp()).context("cannot sign the email (DKIM)")?,
            None => message,
        };
        Ok(Some((envelope, message)))
    }

    /// The prepared email completed for this delivery's reader.
    async fn complete(&self, delivery: &ClaimedDelivery) -> anyhow::Result<Option<(Envelope, Vec<u8>)>> {
        match (delivery.kind, delivery.digest_id) {
            (DeliveryKind::Digest, Some(digest_id)) => {
                let Some(prepared) = self.emails.digest(digest_id, &delivery.topics).await? else { return Ok(None) };
                let token = self.composer.unsubscribe_token(&delivery.unsubscribe_salt);
                Ok(Some(prepared.for_reader(&delivery.email, &token)))
            }
            (DeliveryKind::Digest, None) => {
                let test = delivery.test.as_ref().context("a digest delivery without a digest")?;
                let Some(prepared) = self.emails.test_digest(test, &delivery.topics).await? else { return Ok(None) };
                let token = self.composer.unsubscribe_token(&delivery.unsubscribe_salt);
                Ok(Some(prepared.for_reader(&delivery.email, &token)))
            }
            (DeliveryKind::Confirmation, _) => {
                let token = delivery.confirmation_token.as_ref().context("a confirmation without its token")?;
                Ok(Some(self.emails.confirmation()?.for_reader(&delivery.email, token)))
            }
        }
    }

    fn retry_or_fail(&self, delivery: &ClaimedDelivery, error: String) -> DeliveryOutcome {
        let delivery_id = delivery.delivery_id;
        match self.retry.next_attempt(delivery.attempts, delivery.created_at, clock::now()) {
            Some(retry_at) => DeliveryOutcome::Retry { delivery_id, retry_at, error },
            None => {
                let error = format!("gave up after {} attempts: {error}", delivery.attempts);
                tracing::warn!(delivery_id, error = %error, "delivery failed");
                DeliveryOutcome::Failed { delivery_id, error }
            }
        }
    }
}

/// Spreads sends evenly at `rate` per second within this process; the
/// shared bucket in the database keeps all processes together under it.
fn pacer(rate: f64) -> Option<DefaultDirectRateLimiter> {
    let period = Duration::from_secs_f64(1.0 / rate);
    Quota::with_period(period).map(RateLimiter::direct)
}

/// The machine's name, so that an operator can tell whose lease a row holds.
fn hostname() -> String {
    hostname::get().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "worker".into())
}
