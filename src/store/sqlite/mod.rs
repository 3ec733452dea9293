//! SQLite backend: one file, WAL, `synchronous=NORMAL`.
//!
//! Writes go through a pool of exactly one connection, so writers queue in
//! the application instead of spinning in SQLite's busy handler; reads use a
//! separate pool. Read-then-write transactions start with `BEGIN IMMEDIATE`
//! so that they take the write lock up front (a deferred transaction that
//! upgrades fails with SQLITE_BUSY at once, whatever the busy timeout).

mod admin;
mod bounces;
mod dashboard;
mod preferences;
mod publications;
mod queue;
mod signups;
mod subscribers;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, Transaction};

use super::{Backend, BackupOutcome, Store, StoreResult, migrations};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's write lock before the
/// request is answered 503.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    checkpoints: Option<tokio::task::JoinHandle<()>>,
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// A WAL this long (about 64 MiB) is emptied even if that waits for readers.
const WAL_TRUNCATE_FRAMES: i64 = 16_384;

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        let writer_options = options
            .clone()
            // 16 MiB of page cache for the writer (the default is 2 MiB):
            // index pages stay in memory instead of being read back from the
            // OS on every write.
            .pragma("cache_size", "-16384")
            // Checkpoints run beside the writer (`checkpoint_regularly`), not
            // inside whichever commit happens to fill the WAL.
            .pragma("wal_autocheckpoint", "0");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            // After SQLITE_FULL, IOERR or BUSY inside a transaction SQLite may
            // roll it back by itself; sqlx's ROLLBACK then fails and it goes on
            // believing a transaction is open, so every later BEGIN fails.
            // Such a connection is closed and replaced instead of reused.
            .after_release(|connection, _| {
                Box::pin(async move {
                    connection.ping().await?;
                    Ok(!connection.is_in_transaction())
                })
            })
            .connect_with(writer_options)
            .await?;
        // An in-memory database exists once per connection: share the writer.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone().read_only(true))
                .await?
        };
        let checkpoints = (!in_memory).then(|| tokio::spawn(checkpoint_regularly(options)));
        Ok(SqliteStore { writer, reader, checkpoints })
    }

    /// A write transaction that holds the write lock from its first statement.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Copies the WAL into the database file every second, on a connection of
/// its own. A PASSIVE checkpoint never waits for (or blocks) the writer, so
/// no signup pays for one; it skips what readers still need, and the next
/// one picks that up. Readers that never let go (a dashboard polling a large
/// digest's counts) could keep the WAL from ever being reset; past
/// `WAL_TRUNCATE_FRAMES` a TRUNCATE checkpoint waits for them and empties it.
async fn checkpoint_regularly(options: SqliteConnectOptions) {
    use sqlx::Connection;
    let mut connection = None;
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if connection.is_none() {
            connection = sqlx::SqliteConnection::connect_with(&options).await.ok();
        }
        let Some(conn) = connection.as_mut() else { continue };
        let passive: Result<(i64, i64, i64), _> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&mut *conn).await;
        let result = match passive {
            Ok((_busy, wal_frames, _copied)) if wal_frames > WAL_TRUNCATE_FRAMES => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *conn).await.map(drop)
            }
            other => other.map(drop),
        };
        if let Err(error) = result {
            tracing::warn!(error = %error, "WAL checkpoint failed; trying again");
            connection = None;
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(checkpoints) = self.checkpoints.take() {
            checkpoints.abort();
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<usize> {
        let pending = {
            let mut conn = self.writer.acquire().await?;
            migrations::pending(&MIGRATOR, &mut *conn).await?
        };
        MIGRATOR.run(&self.writer).await?;
        Ok(pending)
    }

    async fn pending_migrations(&self) -> StoreResult<usize> {
        let mut conn = self.writer.acquire().await?;
        migrations::pending(&MIGRATOR, &mut *conn).await
    }

    /// `VACUUM INTO` on a reader: one read transaction, so the copy is a
    /// consistent snapshot, and writers (WAL) go on meanwhile.
    async fn backup_to(&self, path: &Path) -> StoreResult<BackupOutcome> {
        if path.exists() {
            return Ok(BackupOutcome::TargetExists);
        }
        let target = path.to_str().ok_or_else(|| sqlx::Error::Configuration("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.reader).await?;
        Ok(BackupOutcome::Copied)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn server_key(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO server_keys (name, key_bytes, created_at) VALUES ('hmac', $1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(candidate)
        .bind(crate::clock::now())
        .execute(&mut *tx)
        .await?;
        let key: Vec<u8> =
            sqlx::query_scalar("SELECT key_bytes FROM server_keys WHERE name = 'hmac'").fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn close(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.abort();
        }
        self.reader.close().await;
        self.writer.close().await;
    }
}
