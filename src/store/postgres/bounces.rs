//! Hard bounces: counted per subscriber; at the limit the subscriber is
//! unsubscribed and their address suppressed, as if they had left.

use chrono::{DateTime, Utc};

use crate::domain::SubscriberEmail;
use crate::store::{StoreResult, suppression_hash};

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// One more hard bounce for the subscriber; at `unsubscribe_at` of them
/// they are unsubscribed and suppressed (imports skip them).
pub(super) async fn count_hard_bounce(
    tx: &mut Tx,
    subscriber_id: i64,
    unsubscribe_at: Option<u32>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let counted: Option<(i64, String)> = sqlx::query_as(
        "UPDATE subscribers SET hard_bounces = hard_bounces + 1, updated_at = $1 WHERE subscriber_id = $2 \
         RETURNING hard_bounces, email",
    )
    .bind(now)
    .bind(subscriber_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((bounces, email)) = counted else { return Ok(()) };
    if unsubscribe_at.is_none_or(|limit| bounces < i64::from(limit)) {
        return Ok(());
    }
    let unsubscribed = sqlx::query(
        "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = $1, updated_at = $1 \
         WHERE subscriber_id = $2 AND status <> 'unsubscribed'",
    )
    .bind(now)
    .bind(subscriber_id)
    .execute(&mut **tx)
    .await?;
    if unsubscribed.rows_affected() > 0 {
        tracing::info!(subscriber_id, bounces, "unsubscribed after repeated hard bounces");
    }
    sqlx::query(
        "INSERT INTO suppressions (email_hash, reason, created_at) VALUES ($1, 'bounced', $2) ON CONFLICT DO NOTHING",
    )
    .bind(suppression_hash(&SubscriberEmail::from_trusted(email)))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
