//! Storage errors, classified so callers can tell "try again later" (503)
//! from a bug (500).

use sqlx::error::DatabaseError;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot take the request right now: unreachable, locked
    /// past the busy timeout, out of disk, restarting. Retrying later helps.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value the program cannot read; points at a bug or manual edits.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// Whether this is a violation of the named unique index or constraint.
    pub(super) fn violates(&self, constraint: &str) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => db.constraint() == Some(constraint),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_transient(&error) { StoreError::Unavailable(error) } else { StoreError::Database(error) }
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => is_transient_database_error(db.as_ref()),
        _ => false,
    }
}

fn is_transient_database_error(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if let Ok(sqlite_code) = code.parse::<i32>() {
        // SQLite result codes; the low byte is the primary code.
        // BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL.
        return matches!(sqlite_code & 0xff, 5 | 6 | 10 | 13 | 14 | 15);
    }
    // Postgres SQLSTATE: connection exceptions, insufficient resources,
    // operator intervention (shutdown, restart), serialization failures.
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "40001" || code == "40P01"
}
