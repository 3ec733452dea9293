//! What every request handler can reach.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::config::Config;
use crate::email::Composer;
use crate::keys::Keys;
use crate::routes::limits::Limits;
use crate::routes::pages::Pages;
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
        AppState { store, config, keys, pages, composer, limits, worker_wake, admin_token_hash }
    }
}
