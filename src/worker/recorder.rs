//! Writes delivery outcomes in batches: one transaction for many messages,
//! so a fast SMTP server is not held back by one commit per email.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::clock;
use crate::store::{DeliveryOutcome, Store};

const MAX_BATCH: usize = 256;
/// How long the first outcome of a batch may wait for company.
const GATHER_FOR: Duration = Duration::from_millis(20);
/// After the senders stopped, how long to keep trying to save the last
/// outcomes while the database is down. Anything unsaved is sent again by
/// whichever worker next claims it, once its lease ends.
const FLUSH_DEADLINE: Duration = Duration::from_secs(15);

/// Runs until every sender has dropped its `Sender` and all outcomes are written.
pub async fn record_outcomes(store: Arc<dyn Store>, worker_id: String, mut outcomes: mpsc::Receiver<DeliveryOutcome>) {
    let mut batch: Vec<DeliveryOutcome> = Vec::with_capacity(MAX_BATCH);
    let mut closed = false;
    while !closed {
        match outcomes.recv().await {
            Some(outcome) => batch.push(outcome),
            None => break,
        }
        let gather_until = Instant::now() + GATHER_FOR;
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(gather_until, outcomes.recv()).await {
                Ok(Some(outcome)) => batch.push(outcome),
                Ok(None) => {
                    closed = true;
                    break;
                }
                Err(_) => break,
            }
        }
        write_batch(store.as_ref(), &worker_id, &mut batch, closed).await;
    }
}

async fn write_batch(store: &dyn Store, worker_id: &str, batch: &mut Vec<DeliveryOutcome>, closing: bool) {
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match store.record_outcomes(worker_id, batch, clock::now()).await {
            Ok(finished_digests) => {
                for digest_id in finished_digests {
                    tracing::info!(digest_id, "digest sent: nothing left to deliver");
                }
                batch.clear();
                return;
            }
            Err(error) if closing && started.elapsed() > FLUSH_DEADLINE => {
                tracing::error!(error = %error, unsaved = batch.len(), "giving up saving delivery outcomes at shutdown; \
                    those messages will be sent again");
                batch.clear();
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error, pending = batch.len(), retry_in = ?wait, "cannot save delivery outcomes");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}
