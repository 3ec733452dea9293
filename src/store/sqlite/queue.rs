//! The delivery queue on SQLite. `BEGIN IMMEDIATE` serialises claims, which
//! is what `FOR UPDATE SKIP LOCKED` does on Postgres.

use std::ops::RangeInclusive;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::store::StoreResult;
use crate::store::queue::{
    Claim, ClaimPlan, ClaimRequest, DeliveryKind, DeliveryOutcome, DeliveryQueue, Limit, RateBucket,
};
use crate::store::rows::ClaimRow;

#[async_trait]
impl DeliveryQueue for SqliteStore {
    async fn claim_deliveries(&self, request: &ClaimRequest<'_>) -> StoreResult<Claim> {
        let mut tx = self.begin_write().await?;
        let sends = match request.rate_per_sec {
            Some(rate) => Some(load_bucket(&mut tx, Limit::sends(rate), request.now).await?),
            None => None,
        };
        let confirmations = match request.confirmations_per_hour {
            Some(per_hour) => Some(load_bucket(&mut tx, Limit::confirmations(per_hour), request.now).await?),
            None => None,
        };
        let plan = ClaimPlan::new(request.limit, sends.map(|(_, b)| b), confirmations.map(|(_, b)| b));
        if let (0, Some((limit, bucket))) = (plan.total, sends) {
            return Ok(Claim { deliveries: Vec::new(), rate_limited_for: Some(bucket.wait_for_one(&limit)) });
        }
        let ids = if plan.transactional == plan.total {
            claim_ids(&mut tx, request, 0..=1, plan.total).await?
        } else {
            let mut ids = claim_ids(&mut tx, request, 0..=0, plan.transactional).await?;
            let rest = plan.total - u32::try_from(ids.len()).unwrap_or(plan.total);
            ids.extend(claim_ids(&mut tx, request, 1..=1, rest).await?);
            ids
        };
        if ids.is_empty() {
            // An idle queue is also when digests get their final status if
            // the outcome writers raced past each other.
            finish_digests(&mut tx, request.now).await?;
            tx.commit().await?;
            return Ok(Claim::default());
        }

        let rows: Vec<ClaimRow> = sqlx::query_as(
            "SELECT d.delivery_id, d.kind, d.attempts, d.created_at, d.digest_id, d.payload, s.subscriber_id, \
             s.email, s.name, s.status, s.topics, s.unsubscribe_salt \
             FROM deliveries d LEFT JOIN subscribers s ON s.subscriber_id = d.subscriber_id \
             WHERE d.delivery_id IN (SELECT value FROM json_each($1)) \
             ORDER BY d.priority, d.available_at, d.delivery_id",
        )
        .bind(json_ids(&ids))
        .fetch_all(&mut *tx)
        .await?;

        let mut deliveries = Vec::with_capacity(rows.len());
        let mut unwanted = Vec::new();
        for row in rows {
            let delivery_id = row.delivery_id;
            match row.into_sendable()? {
                Some(delivery) => deliveries.push(delivery),
                None => unwanted.push(delivery_id),
            }
        }
        if !unwanted.is_empty() {
            sqlx::query(
                "UPDATE deliveries SET status = 'cancelled', payload = NULL, leased_by = NULL, finished_at = $1, \
                 updated_at = $1 WHERE delivery_id IN (SELECT value FROM json_each($2))",
            )
            .bind(request.now)
            .bind(json_ids(&unwanted))
            .execute(&mut *tx)
            .await?;
            finish_digests(&mut tx, request.now).await?;
        }
        if let Some((limit, bucket)) = sends {
            save_bucket(&mut tx, &limit, bucket.spend(deliveries.len())).await?;
        }
        if let Some((limit, bucket)) = confirmations {
            let taken = deliveries.iter().filter(|d| d.kind == DeliveryKind::Confirmation).count();
            save_bucket(&mut tx, &limit, bucket.spend(taken)).await?;
        }
        tx.commit().await?;
        Ok(Claim { deliveries, rate_limited_for: None })
    }

    async fn record_outcomes(
        &self,
        worker: &str,
        outcomes: &[DeliveryOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        let mut tx = self.begin_write().await?;
        let sent: Vec<i64> = outcomes
            .iter()
            .filter(|o| matches!(o, DeliveryOutcome::Sent { .. }))
            .map(DeliveryOutcome::delivery_id)
            .collect();
        if !sent.is_empty() {
            sqlx::query(
                "UPDATE deliveries SET status = 'sent', payload = NULL, leased_by = NULL, last_error = NULL, \
                 finished_at = $1, updated_at = $1 \
                 WHERE delivery_id IN (SELECT value FROM json_each($2)) AND status IN ('queued', 'sending')",
            )
            .bind(now)
            .bind(json_ids(&sent))
            .execute(&mut *tx)
            .await?;
        }
        for outcome in outcomes {
            match outcome {
                DeliveryOutcome::Sent { .. } => {}
                DeliveryOutcome::Retry { delivery_id, retry_at, error } => {
                    sqlx::query(
                        "UPDATE deliveries SET status = 'queued', available_at = $1, leased_by = NULL, \
                         last_error = $2, updated_at = $3 \
                         WHERE delivery_id = $4 AND status = 'sending' AND leased_by = $5",
                    )
                    .bind(retry_at)
                    .bind(error)
                    .bind(now)
                    .bind(delivery_id)
                    .bind(worker)
                    .execute(&mut *tx)
                    .await?;
                }
                DeliveryOutcome::Cancelled { delivery_id, reason } => {
                    sqlx::query(
                        "UPDATE deliveries SET status = 'cancelled', payload = NULL, leased_by = NULL, last_error = $1, \
                         finished_at = $2, updated_at = $2 WHERE delivery_id = $3 AND status IN ('queued', 'sending')",
                    )
                    .bind(reason)
                    .bind(now)
                    .bind(delivery_id)
                    .execute(&mut *tx)
                    .await?;
                }
                DeliveryOutcome::Failed { delivery_id, error }
                | DeliveryOutcome::Bounced { delivery_id, error, .. } => {
                    let subscriber_id: Option<Option<i64>> = sqlx::query_scalar(
                        "UPDATE deliveries SET status = 'failed', payload = NULL, leased_by = NULL, last_error = $1, \
                         finished_at = $2, updated_at = $2 WHERE delivery_id = $3 AND status IN ('queued', 'sending') \
                         RETURNING subscriber_id",
                    )
                    .bind(error)
                    .bind(now)
                    .bind(delivery_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let (DeliveryOutcome::Bounced { unsubscribe_at, .. }, Some(Some(subscriber_id))) =
                        (outcome, subscriber_id)
                    {
                        super::bounces::count_hard_bounce(&mut tx, subscriber_id, *unsubscribe_at, now).await?;
                    }
                }
            }
        }
        let finished = finish_digests(&mut tx, now).await?;
        tx.commit().await?;
        Ok(finished)
    }

    async fn release_deliveries(&self, worker: &str, delivery_ids: &[i64], now: DateTime<Utc>) -> StoreResult<()> {
        if delivery_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE deliveries SET status = 'queued', available_at = $1, attempts = attempts - 1, leased_by = NULL, \
             updated_at = $1 WHERE delivery_id IN (SELECT value FROM json_each($2)) AND status = 'sending' \
             AND leased_by = $3",
        )
        .bind(now)
        .bind(json_ids(delivery_ids))
        .bind(worker)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT available_at FROM deliveries WHERE status IN ('queued', 'sending') \
             ORDER BY available_at, delivery_id LIMIT 1",
        )
        .fetch_optional(&self.reader)
        .await?)
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// Leases up to `limit` due rows with a priority in `priorities`
/// (0 = transactional, 1 = digests), most urgent first.
async fn claim_ids(
    tx: &mut Tx,
    request: &ClaimRequest<'_>,
    priorities: RangeInclusive<i64>,
    limit: u32,
) -> StoreResult<Vec<i64>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, available_at = $1, leased_by = $2, \
         updated_at = $3 WHERE delivery_id IN (SELECT delivery_id FROM deliveries \
         WHERE status IN ('queued', 'sending') AND available_at <= $3 AND priority BETWEEN $5 AND $6 \
         ORDER BY priority, available_at, delivery_id LIMIT $4) RETURNING delivery_id",
    )
    .bind(request.lease_until)
    .bind(request.worker)
    .bind(request.now)
    .bind(i64::from(limit))
    .bind(*priorities.start())
    .bind(*priorities.end())
    .fetch_all(&mut **tx)
    .await?)
}

/// A shared bucket, refilled up to `now`.
async fn load_bucket(tx: &mut Tx, limit: Limit, now: DateTime<Utc>) -> StoreResult<(Limit, RateBucket)> {
    let (tokens, refilled_at): (f64, DateTime<Utc>) =
        sqlx::query_as("SELECT tokens, refilled_at FROM rate_buckets WHERE name = $1")
            .bind(limit.bucket)
            .fetch_one(&mut **tx)
            .await?;
    Ok((limit, RateBucket { tokens, refilled_at }.refill(&limit, now)))
}

async fn save_bucket(tx: &mut Tx, limit: &Limit, bucket: RateBucket) -> StoreResult<()> {
    sqlx::query("UPDATE rate_buckets SET tokens = $1, refilled_at = $2 WHERE name = $3")
        .bind(bucket.tokens)
        .bind(bucket.refilled_at)
        .bind(limit.bucket)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ids as a JSON array, for `IN (SELECT value FROM json_each(..))`: SQLite
/// has no array parameters.
pub(super) fn json_ids(ids: &[i64]) -> String {
    let items: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

/// Marks digests with nothing left to send as sent. Each check is one probe
/// of the partial index on pending deliveries.
pub(super) async fn finish_digests(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<i64>> {
    let finished = sqlx::query_scalar(
        "UPDATE digests SET status = 'sent', finished_at = $1 WHERE status = 'sending' AND NOT EXISTS \
         (SELECT 1 FROM deliveries d WHERE d.digest_id = digests.digest_id AND d.digest_id IS NOT NULL \
         AND d.status IN ('queued', 'sending')) \
         RETURNING digest_id",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    Ok(finished)
}

/// Strings as a JSON array, for `IN (SELECT value FROM json_each(..))`.
pub(super) fn json_strings(values: &[String]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}
