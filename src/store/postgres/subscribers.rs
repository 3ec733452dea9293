//! Subscribers on Postgres. Same statements as on SQLite, plus row locks
//! (`FOR UPDATE`) where SQLite's single writer makes them unnecessary.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use super::PostgresStore;
use crate::domain::{ConfirmationThrottle, SubscriptionStatus, ThrottleState, Token};
use crate::store::StoreResult;
use crate::store::model::{
    ConfirmationRecord, ImportCounts, ImportedSubscriber, Page, PageRequest, SignupOutcome, SignupRecord, Subscriber,
    SubscriberFilter, SubscriberStore, TokenState, suppression_hash,
};
use crate::store::rows::{SubscriberRow, TokenRow, subscriber_columns};

type Tx = Transaction<'static, Postgres>;

#[async_trait]
impl SubscriberStore for PostgresStore {
    async fn signup_batch(
        &self,
        signups: &[SignupRecord],
        throttle: &ConfirmationThrottle,
    ) -> StoreResult<Vec<SignupOutcome>> {
        // `FOR UPDATE` cannot lock a row that does not exist yet: two
        // processes' first signups of one address race to insert it, and the
        // loser, seeing the unique violation, runs again and finds the row.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_signups(signups, throttle).await {
                Err(error) if attempt < 3 && error.violates("subscribers_email_key") => continue,
                result => return result,
            }
        }
    }

    async fn confirmation_state(
        &self,
        token: &crate::domain::TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<TokenState> {
        let row = find_token(&self.pool, token, false).await?;
        row.map_or(Ok(TokenState::Unknown), |row| row.state(now))
    }

    async fn confirm(
        &self,
        token: &crate::domain::TokenHash,
        confirmation: &ConfirmationRecord,
    ) -> StoreResult<TokenState> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = find_token(&mut *tx, token, true).await? else { return Ok(TokenState::Unknown) };
        let state = row.state(confirmation.now)?;
        if state == TokenState::Confirmable {
            sqlx::query(
                "UPDATE subscribers SET status = 'confirmed', confirmed_at = $1, confirmed_via = 'link', \
                 confirmed_ip = $2, confirmed_user_agent = $3, updated_at = $1 WHERE subscriber_id = $4",
            )
            .bind(confirmation.now)
            .bind(confirmation.ip.as_deref())
            .bind(confirmation.user_agent.as_deref())
            .bind(row.subscriber_id)
            .execute(&mut *tx)
            .await?;
        }
        if matches!(state, TokenState::Confirmable | TokenState::Confirmed) {
            sqlx::query("UPDATE confirmation_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
                .bind(confirmation.now)
                .bind(token.as_bytes())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(if state == TokenState::Confirmable { TokenState::Confirmed } else { state })
    }

    async fn unsubscribe(&self, token: &crate::domain::TokenHash, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = $1, updated_at = $1 \
             WHERE unsubscribe_token_hash = $2 AND status <> 'unsubscribed' RETURNING email",
        )
        .bind(now)
        .bind(token.as_bytes())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(email) = email else { return Ok(false) };
        // Whoever left is never re-added by an import, even after an erase.
        sqlx::query(
            "INSERT INTO suppressions (email_hash, reason, created_at) VALUES ($1, 'unsubscribed', $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(suppression_hash(&crate::domain::SubscriberEmail::from_trusted(email)))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_subscribers(&self, filter: &SubscriberFilter, page: PageRequest) -> StoreResult<Page<Subscriber>> {
        let status = filter.status.map(SubscriptionStatus::as_str);
        let rows: Vec<SubscriberRow> = sqlx::query_as(concat!(
            "SELECT ",
            subscriber_columns!(),
            " FROM subscribers WHERE ($1 IS NULL OR status = $1) ORDER BY subscriber_id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(status)
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM subscribers WHERE ($1 IS NULL OR status = $1)")
            .bind(status)
            .fetch_one(&self.pool)
            .await?;
        let items = rows.into_iter().map(Subscriber::try_from).collect::<StoreResult<_>>()?;
        Ok(Page { items, page: page.page, per_page: page.per_page, total })
    }

    async fn subscribers_after(&self, after: i64, limit: u32) -> StoreResult<Vec<Subscriber>> {
        let rows: Vec<SubscriberRow> = sqlx::query_as(concat!(
            "SELECT ",
            subscriber_columns!(),
            " FROM subscribers WHERE subscriber_id > $1 ORDER BY subscriber_id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Subscriber::try_from).collect()
    }

    async fn erase_subscriber(&self, subscriber_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM subscribers WHERE subscriber_id = $1 FOR UPDATE")
                .bind(subscriber_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(email) = email else { return Ok(false) };
        let email = crate::domain::SubscriberEmail::from_trusted(email);
        sqlx::query("INSERT INTO suppressions (email_hash, reason, created_at) VALUES ($1, 'erased', $2) ON CONFLICT DO NOTHING")
            .bind(suppression_hash(&email))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', payload = NULL, leased_by = NULL, finished_at = $1, \
             updated_at = $1, last_error = 'subscriber erased' WHERE subscriber_id = $2 AND status IN ('queued', 'sending')",
        )
        .bind(now)
        .bind(subscriber_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM subscribers WHERE subscriber_id = $1").bind(subscriber_id).execute(&mut *tx).await?;
        super::queue::finish_digests(&mut tx, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn import_subscribers(&self, batch: &[ImportedSubscriber], now: DateTime<Utc>) -> StoreResult<ImportCounts> {
        let mut tx = self.pool.begin().await?;
        let mut counts = ImportCounts::default();
        for row in batch {
            let suppressed: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = $1)")
                    .bind(suppression_hash(&row.email))
                    .fetch_one(&mut *tx)
                    .await?;
            if suppressed {
                counts.suppressed += 1;
                continue;
            }
            let confirmed = row.status == SubscriptionStatus::Confirmed;
            let unsubscribed = row.status == SubscriptionStatus::Unsubscribed;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO subscribers (email, name, status, topics, unsubscribe_salt, unsubscribe_token_hash, \
                 consent_at, consent_source, confirmed_at, confirmed_via, unsubscribed_at, created_at, updated_at, \
                 topic_keys) VALUES ($1, $2, $3, $4, $5, $6, $7, 'import', $8, $9, $10, $7, $7, $11) \
                 ON CONFLICT DO NOTHING RETURNING subscriber_id",
            )
            .bind(row.email.as_str())
            .bind(row.name.as_ref().map(|n| n.as_str()))
            .bind(row.status.as_str())
            .bind(row.topics.to_json())
            .bind(&row.unsubscribe_key.salt[..])
            .bind(row.unsubscribe_key.token_hash.as_bytes())
            .bind(now)
            .bind(confirmed.then_some(now))
            .bind(confirmed.then_some("import"))
            .bind(unsubscribed.then_some(now))
            .bind(row.topics.keys_json())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(subscriber_id) = inserted else {
                counts.already_known += 1;
                continue;
            };
            counts.imported += 1;
            if row.status == SubscriptionStatus::Pending {
                let sent = ThrottleState { last_sent_at: Some(now), window_started_at: Some(now), sent_in_window: 1 };
                queue_confirmation(
                    &mut tx,
                    subscriber_id,
                    &sent,
                    &row.confirmation_token,
                    row.confirmation_expires_at,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(counts)
    }
}

/// Stores a confirmation token and queues the email carrying it.
async fn queue_confirmation(
    tx: &mut Tx,
    subscriber_id: i64,
    throttle: &ThrottleState,
    token: &Token,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE subscribers SET last_confirmation_at = $1, confirmation_window_started_at = $2, \
         confirmations_in_window = $3 WHERE subscriber_id = $4",
    )
    .bind(throttle.last_sent_at)
    .bind(throttle.window_started_at)
    .bind(i64::from(throttle.sent_in_window))
    .bind(subscriber_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO confirmation_tokens (token_hash, subscriber_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token.hash().as_bytes())
    .bind(subscriber_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO deliveries (kind, subscriber_id, payload, status, available_at, created_at, updated_at) \
         VALUES ('confirmation', $1, $2, 'queued', $3, $3, $3)",
    )
    .bind(subscriber_id)
    .bind(token.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn find_token<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    token: &crate::domain::TokenHash,
    lock: bool,
) -> StoreResult<Option<TokenRow>> {
    let query = if lock {
        "SELECT t.subscriber_id, t.created_at, t.expires_at, s.status, s.consent_at \
         FROM confirmation_tokens t JOIN subscribers s ON s.subscriber_id = t.subscriber_id WHERE t.token_hash = $1 \
         FOR UPDATE OF s"
    } else {
        "SELECT t.subscriber_id, t.created_at, t.expires_at, s.status, s.consent_at \
         FROM confirmation_tokens t JOIN subscribers s ON s.subscriber_id = t.subscriber_id WHERE t.token_hash = $1"
    };
    Ok(sqlx::query_as(query).bind(token.as_bytes()).fetch_optional(executor).await?)
}
