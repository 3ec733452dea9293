//! A fresh database per test: a temporary SQLite file, or a new Postgres
//! database (`TEST_POSTGRES_URL`) dropped when the test ends, even if it fails.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`, as in test names.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub url: String,
    /// For assertions: a direct connection pool, beside the app's own.
    pool: Pool,
    cleanup: Cleanup,
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

enum Cleanup {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database; a SQLite file goes in a temporary folder under
    /// `sqlite_parent` (e.g. a small tmpfs) when given.
    pub async fn create(backend: Backend, sqlite_parent: Option<&std::path::Path>) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = match sqlite_parent {
                    Some(parent) => tempfile::tempdir_in(parent).unwrap(),
                    None => tempfile::tempdir().unwrap(),
                };
                let path: PathBuf = dir.path().join("bulletin.db");
                let url = format!("sqlite://{}", path.display());
                // The app creates and migrates the file; assertions connect lazily.
                let pool = SqlitePool::connect_lazy(&format!("{url}?mode=rw")).unwrap();
                TestDb { url, pool: Pool::Sqlite(pool), cleanup: Cleanup::Sqlite { _dir: dir } }
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
                let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|error| {
                    panic!(
                        "the Postgres tests need a server and could not connect to {admin_url}: {error}.\n\
                         Start Postgres, or point the tests at one with \
                         TEST_POSTGRES_URL=postgres://user:password@host:5432/postgres"
                    )
                });
                let name = format!("bulletin_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))).execute(&mut admin).await.unwrap();
                let url = database_url(&admin_url, &name);
                let pool = PgPool::connect_lazy(&url).unwrap();
                TestDb { url, pool: Pool::Postgres(pool), cleanup: Cleanup::Postgres { admin_url, name } }
            }
        }
    }

    /// Runs a query that returns one integer (e.g. a `count(*)`).
    pub async fn count(&self, sql: &'static str) -> i64 {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Pool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    pub async fn text(&self, sql: &'static str) -> Option<String> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_optional(pool).await.unwrap(),
            Pool::Postgres(pool) => sqlx::query_scalar(sql).fetch_optional(pool).await.unwrap(),
        }
    }

    /// Runs a query with one text parameter (`$1`) that returns bytes.
    pub async fn bytes(&self, sql: &'static str, param: &str) -> Option<Vec<u8>> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar(sql).bind(param).fetch_optional(pool).await.unwrap(),
            Pool::Postgres(pool) => sqlx::query_scalar(sql).bind(param).fetch_optional(pool).await.unwrap(),
        }
    }

    /// Runs a statement with one timestamp parameter (`$1`).
    pub async fn execute_at(&self, sql: &'static str, at: DateTime<Utc>) -> u64 {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(sql).bind(at).execute(pool).await.unwrap().rows_affected(),
            Pool::Postgres(pool) => sqlx::query(sql).bind(at).execute(pool).await.unwrap().rows_affected(),
        }
    }
}

/// `host:port` of the Postgres server the tests use.
pub fn postgres_address() -> String {
    let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    let url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
}

fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(name);
    url.to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else { return };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop cannot await, and may run while the test's runtime unwinds:
        // drop the database from a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)))
                    .execute(&mut admin)
                    .await
                    .map(drop)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.url);
        }
    }
}
