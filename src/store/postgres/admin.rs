//! Admin accounts, sessions and failed logins on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::PostgresStore;
use crate::domain::TokenHash;
use crate::store::StoreResult;
use crate::store::admin::{AdminAccount, AdminSession, AdminStore, LoginFailures, NewAdminSession};

/// `last_seen_at` is written at most this often: a dashboard polling a
/// digest's progress every second does not write every second.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

#[async_trait]
impl AdminStore for PostgresStore {
    async fn add_admin(&self, email: &str, password_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO admins (email, password_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(email)
        .bind(password_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn remove_admin(&self, email: &str) -> StoreResult<bool> {
        let deleted =
            sqlx::query("DELETE FROM admins WHERE lower(email) = lower($1)").bind(email).execute(&self.pool).await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn admin_by_email(&self, email: &str) -> StoreResult<Option<AdminAccount>> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT admin_id, email, password_hash FROM admins WHERE lower(email) = lower($1)")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(admin_id, email, password_hash)| AdminAccount { admin_id, email, password_hash }))
    }

    async fn create_session(&self, session: &NewAdminSession) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM admin_sessions WHERE last_seen_at <= $1")
            .bind(session.expire_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO admin_sessions (session_hash, admin_id, csrf_token, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(session.session.as_bytes())
        .bind(session.admin_id)
        .bind(&session.csrf_token)
        .bind(session.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn touch_session(
        &self,
        session: &TokenHash,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AdminSession>> {
        let row: Option<(i64, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT s.admin_id, s.csrf_token, a.email, s.last_seen_at FROM admin_sessions s \
             JOIN admins a ON a.admin_id = s.admin_id WHERE s.session_hash = $1 AND s.last_seen_at > $2",
        )
        .bind(session.as_bytes())
        .bind(idle_since)
        .fetch_optional(&self.pool)
        .await?;
        let Some((admin_id, csrf_token, email, last_seen_at)) = row else { return Ok(None) };
        if last_seen_at < now - TOUCH_EVERY {
            sqlx::query("UPDATE admin_sessions SET last_seen_at = $1 WHERE session_hash = $2")
                .bind(now)
                .bind(session.as_bytes())
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(AdminSession { admin_id, email, csrf_token }))
    }

    async fn end_session(&self, session: &TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM admin_sessions WHERE session_hash = $1")
            .bind(session.as_bytes())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn login_failures(&self, key: &str, since: DateTime<Utc>) -> StoreResult<LoginFailures> {
        let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT count(*), min(failed_at) FROM admin_login_failures WHERE failure_key = $1 AND failed_at > $2",
        )
        .bind(key)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(LoginFailures { count, oldest })
    }

    async fn record_login_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM admin_login_failures WHERE failed_at <= $1")
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        for key in keys {
            sqlx::query("INSERT INTO admin_login_failures (failure_key, failed_at) VALUES ($1, $2)")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
