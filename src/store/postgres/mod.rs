//! Postgres backend: for several web and worker processes sharing one
//! database. Workers split the queue with `FOR UPDATE SKIP LOCKED`.

mod admin;
mod bounces;
mod dashboard;
mod preferences;
mod publications;
mod queue;
mod signups;
mod subscribers;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

use super::{Backend, BackupOutcome, Store, StoreResult, migrations};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PostgresStore> {
        let options = PgConnectOptions::from_str(url)?.application_name("bulletin");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A restarted server leaves dead connections in the pool; test
            // each one before use so a request does not fail on one of them.
            .test_before_acquire(true)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(PostgresStore { pool })
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> StoreResult<usize> {
        let pending = {
            let mut conn = self.pool.acquire().await?;
            migrations::pending(&MIGRATOR, &mut *conn).await?
        };
        MIGRATOR.run(&self.pool).await?;
        Ok(pending)
    }

    async fn pending_migrations(&self) -> StoreResult<usize> {
        let mut conn = self.pool.acquire().await?;
        migrations::pending(&MIGRATOR, &mut *conn).await
    }

    /// Postgres has its own consistent online copy: `pg_dump`.
    async fn backup_to(&self, _path: &Path) -> StoreResult<BackupOutcome> {
        Ok(BackupOutcome::UsePgDump)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn server_key(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "INSERT INTO server_keys (name, key_bytes, created_at) VALUES ('hmac', $1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(candidate)
        .bind(crate::clock::now())
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar("SELECT key_bytes FROM server_keys WHERE name = 'hmac'").fetch_one(&self.pool).await?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
