//! What every request handler can reach.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::config::Config;
use crate::domain::ConfirmationThrottle;
use crate::email::Composer;
use crate::keys::Keys;
use crate::routes::limits::Limits;
use crate::routes::pages::Pages;
use crate::signup_queue::SignupQueue;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub keys: Keys,
    pub pages: Pages,
    /// For digest previews.
    pub composer: Arc<Composer>,
    pub limits: Arc<Limits>,
    /// Wakes this process's delivery worker after mail is queued.
    pub worker_wake: Arc<Notify>,
    /// Where signups are written, in batches.
    pub signups: SignupQueue,
    /// SHA-256 of `ADMIN_TOKEN`: compared in constant time, whatever the length.
    pub admin_token_hash: Option<[u8; 32]>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        config: Arc<Config>,
        keys: Keys,
        pages: Pages,
        composer: Arc<Composer>,
        worker_wake: Arc<Notify>,
    ) -> Self {
        use secrecy::ExposeSecret;
        let admin_token_hash = config.admin_token.as_ref().map(|t| Sha256::digest(t.expose_secret().as_bytes()).into());
        let limits = Arc::new(Limits::new(&config.http));
        let throttle = ConfirmationThrottle {
            resend_interval: config.signup.resend_interval,
            max_per_day: config.signup.max_confirmations_per_day,
        };
        let signups = SignupQueue::start(store.clone(), throttle, worker_wake.clone());
        AppState { store, config, keys, pages, composer, limits, worker_wake, signups, admin_token_hash }
    }
}
