//! Signups from every request of this process go through one queue and are
//! written in batches: whatever arrived while the previous batch was being
//! written goes in the next one. An idle server writes each signup at once
//! (a batch of one); a busy one writes hundreds per transaction, which is
//! what keeps SQLite's single writer and Postgres's commit flush from
//! limiting a signup spike.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::domain::ConfirmationThrottle;
use crate::store::{SignupOutcome, SignupRecord, Store};

const MAX_BATCH: usize = 256;

/// Why a queued signup was not written.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum SignupFailure {
    #[error("the database is unavailable")]
    Unavailable,
    #[error("the signup could not be stored")]
    Failed,
}

type Reply = oneshot::Sender<Result<SignupOutcome, SignupFailure>>;

#[derive(Clone)]
pub struct SignupQueue {
    sender: mpsc::Sender<(SignupRecord, Reply)>,
}

impl SignupQueue {
    /// Starts the writer task. `wake` is told when confirmations were queued.
    pub fn start(store: Arc<dyn Store>, throttle: ConfirmationThrottle, wake: Arc<Notify>) -> SignupQueue {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(store, throttle, wake, receiver));
        SignupQueue { sender }
    }

    /// Stores a signup; resolves once it is committed.
    pub async fn submit(&self, signup: SignupRecord) -> Result<SignupOutcome, SignupFailure> {
        let (reply, outcome) = oneshot::channel();
        self.sender.send((signup, reply)).await.map_err(|_| SignupFailure::Failed)?;
        outcome.await.map_err(|_| SignupFailure::Failed)?
    }
}

async fn write_batches(
    store: Arc<dyn Store>,
    throttle: ConfirmationThrottle,
    wake: Arc<Notify>,
    mut receiver: mpsc::Receiver<(SignupRecord, Reply)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (signups, replies): (Vec<SignupRecord>, Vec<Reply>) = batch.drain(..).unzip();
        let started = std::time::Instant::now();
        match store.signup_batch(&signups, &throttle).await {
            Ok(outcomes) => {
                tracing::debug!(signups = outcomes.len(), took = ?started.elapsed(), "signups stored");
                if outcomes.iter().any(|o| o.confirmation_queued) {
                    wake.notify_one();
                }
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                let failure = if error.is_unavailable() { SignupFailure::Unavailable } else { SignupFailure::Failed };
                tracing::error!(error = %error, error.cause_chain = ?error, signups = replies.len(), "cannot store signups");
                for reply in replies {
                    let _ = reply.send(Err(failure));
                }
            }
        }
    }
}
