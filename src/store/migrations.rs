//! Counting what the embedded migrations would apply.

use std::collections::HashSet;

use sqlx::migrate::{Migrate, Migrator};

use super::StoreResult;

/// How many of `migrator`'s migrations have not been applied on `conn` yet.
pub(super) async fn pending<C: Migrate>(migrator: &Migrator, conn: &mut C) -> StoreResult<usize> {
    conn.ensure_migrations_table("_sqlx_migrations").await?;
    let applied: HashSet<i64> =
        conn.list_applied_migrations("_sqlx_migrations").await?.iter().map(|m| m.version).collect();
    Ok(migrator.iter().filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version)).count())
}
