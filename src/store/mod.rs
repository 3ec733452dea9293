//! Storage: one `Store` trait, a SQLite and a Postgres implementation, chosen
//! at run time from `DATABASE_URL`.
//!
//! The trait is split by concern (`SubscriberStore`, `DeliveryQueue`); each
//! backend implements every part in its own folder, so all SQL for a backend
//! lives in one place. Rules that both backends must follow the same way
//! (what a signup does, what a token means) are pure functions in `domain`
//! or here, called by both.

mod admin;
mod error;
mod migrations;
mod model;
mod postgres;
mod preferences;
mod publications;
mod queue;
mod rows;
mod signup_batch;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret;

pub use admin::{
    AdminAccount, AdminSession, AdminStore, DailyCount, DashboardStore, DeliveryView, LoginFailures, NewAdminSession,
    QueueSummary, StatusCounts, SubscriberSearch, contains_pattern, merge_daily,
};
pub use error::{StoreError, StoreResult};
pub use model::{
    ConfirmationRecord, Consent, ConsentView, ImportCounts, ImportedSubscriber, Page, PageRequest, SignupOutcome,
    SignupRecord, Subscriber, SubscriberFilter, SubscriberStore, TokenState, UnsubscribeKey, suppression_hash,
    token_state,
};
pub use postgres::PostgresStore;
pub use preferences::{PreferenceStore, Preferences};
pub use publications::{
    Audience, DigestCreated, DigestStatus, DigestStore, DigestView, DigestWindow, Publication, PublicationStore,
    Reader, UpsertOutcome, Upserted,
};
pub use queue::{
    Claim, ClaimPlan, ClaimRequest, ClaimedDelivery, DeliveryKind, DeliveryOutcome, DeliveryQueue, Limit, RateBucket,
    TestDigest,
};
pub use sqlite::SqliteStore;

use crate::config::DatabaseConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything the service keeps. Held as `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    SubscriberStore
    + PreferenceStore
    + PublicationStore
    + DigestStore
    + DeliveryQueue
    + AdminStore
    + DashboardStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Applies pending migrations; returns how many ran.
    async fn migrate(&self) -> StoreResult<usize>;

    /// How many migrations `migrate` would apply (for `bulletin doctor`).
    async fn pending_migrations(&self) -> StoreResult<usize>;

    /// A consistent copy of the whole database at `path`, taken while the
    /// service runs; never overwrites an existing file.
    async fn backup_to(&self, path: &Path) -> StoreResult<BackupOutcome>;

    /// A trivial query: for `/ready`.
    async fn ping(&self) -> StoreResult<()>;

    /// The server's HMAC key: `candidate` is stored if no key exists yet,
    /// and the stored key (this one or an earlier one) is returned. Every
    /// process sharing the database thus agrees on one key.
    async fn server_key(&self, candidate: &[u8]) -> StoreResult<Vec<u8>>;

    /// Closes the pool, waiting for connections to be returned.
    async fn close(&self);
}

/// What `backup_to` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupOutcome {
    Copied,
    /// Nothing was written: the path exists.
    TargetExists,
    /// Nothing was written: Postgres is backed up with `pg_dump`.
    UsePgDump,
}

/// Opens the database named by the configuration (creating a SQLite file if
/// missing). Does not migrate.
pub async fn connect(config: &DatabaseConfig) -> StoreResult<Arc<dyn Store>> {
    let url = config.url.expose_secret();
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, config.max_connections).await?))
    } else {
        Ok(Arc::new(PostgresStore::connect(url, config.max_connections).await?))
    }
}
