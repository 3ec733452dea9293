//! The dashboard's aggregates and searches on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::domain::SubscriptionStatus;
use crate::store::admin::{
    DailyCount, DashboardStore, DeliveryView, QueueSummary, StatusCounts, SubscriberSearch, contains_pattern,
    merge_daily,
};
use crate::store::rows::{PublicationRow, SubscriberRow, publication_columns, subscriber_columns};
use crate::store::{Page, PageRequest, Publication, StoreResult, Subscriber, TestDigest};

/// The `WHERE` of a subscriber search: $1 address pattern, $2 status, $3 topic pattern.
const SEARCH_WHERE: &str = " FROM subscribers WHERE ($1 IS NULL OR lower(email) LIKE $1 ESCAPE '\\') \
     AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR topic_keys LIKE $3 ESCAPE '\\')";

const DELIVERY_COLUMNS: &str = "SELECT d.delivery_id, d.kind, d.digest_id, s.email, d.status, d.attempts, \
     d.last_error, d.created_at, d.finished_at FROM deliveries d LEFT JOIN subscribers s USING (subscriber_id) ";

#[async_trait]
impl DashboardStore for PostgresStore {
    async fn status_counts(&self) -> StoreResult<StatusCounts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM subscribers GROUP BY status").fetch_all(&self.pool).await?;
        Ok(StatusCounts::from_rows(&rows))
    }

    async fn daily_signups(&self, since: DateTime<Utc>) -> StoreResult<Vec<DailyCount>> {
        let signups: Vec<(String, i64)> = sqlx::query_as(
            "SELECT to_char(consent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) FROM subscribers WHERE consent_at >= $1 \
             GROUP BY day ORDER BY day",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let confirmations: Vec<(String, i64)> = sqlx::query_as(
            "SELECT to_char(confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) FROM subscribers WHERE confirmed_at >= $1 \
             GROUP BY day ORDER BY day",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(merge_daily(signups, confirmations))
    }

    async fn queue_summary(&self) -> StoreResult<QueueSummary> {
        Ok(sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')) AS pending, \
             count(*) FILTER (WHERE status = 'failed') AS failed FROM deliveries",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn search_subscribers(&self, search: &SubscriberSearch, page: PageRequest) -> StoreResult<Page<Subscriber>> {
        let (address, topic) = (search.address_pattern(), search.topic_pattern());
        let status = search.status.map(SubscriptionStatus::as_str);
        let select =
            format!("SELECT {}{SEARCH_WHERE} ORDER BY subscriber_id DESC LIMIT $4 OFFSET $5", subscriber_columns!());
        let rows: Vec<SubscriberRow> = sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(&address)
            .bind(status)
            .bind(&topic)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*){SEARCH_WHERE}")))
            .bind(&address)
            .bind(status)
            .bind(&topic)
            .fetch_one(&self.pool)
            .await?;
        let items = rows.into_iter().map(Subscriber::try_from).collect::<StoreResult<_>>()?;
        Ok(Page { items, page: page.page, per_page: page.per_page, total })
    }

    async fn subscriber(&self, subscriber_id: i64) -> StoreResult<Option<Subscriber>> {
        let row: Option<SubscriberRow> =
            sqlx::query_as(concat!("SELECT ", subscriber_columns!(), " FROM subscribers WHERE subscriber_id = $1"))
                .bind(subscriber_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn subscriber_deliveries(&self, subscriber_id: i64, limit: u32) -> StoreResult<Vec<DeliveryView>> {
        let select = format!("{DELIVERY_COLUMNS} WHERE d.subscriber_id = $1 ORDER BY d.delivery_id DESC LIMIT $2");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(subscriber_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn search_publications(&self, query: Option<&str>, page: PageRequest) -> StoreResult<Page<Publication>> {
        let pattern = query.map(contains_pattern);
        const WHERE: &str = " FROM publications WHERE ($1 IS NULL OR lower(title) LIKE $1 ESCAPE '\\' OR lower(url) LIKE $1 ESCAPE '\\')";
        let select = format!(
            "SELECT {}{WHERE} ORDER BY published_at DESC, publication_id DESC LIMIT $2 OFFSET $3",
            publication_columns!()
        );
        let rows: Vec<PublicationRow> = sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(&pattern)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*){WHERE}")))
            .bind(&pattern)
            .fetch_one(&self.pool)
            .await?;
        Ok(Page {
            items: rows.into_iter().map(Publication::from).collect(),
            page: page.page,
            per_page: page.per_page,
            total,
        })
    }

    async fn publication(&self, publication_id: i64) -> StoreResult<Option<Publication>> {
        let row: Option<PublicationRow> =
            sqlx::query_as(concat!("SELECT ", publication_columns!(), " FROM publications WHERE publication_id = $1"))
                .bind(publication_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Publication::from))
    }

    async fn digest_failures(&self, digest_id: i64, limit: u32) -> StoreResult<Vec<DeliveryView>> {
        let select = format!(
            "{DELIVERY_COLUMNS} WHERE d.digest_id = $1 AND d.status = 'failed' ORDER BY d.delivery_id LIMIT $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(digest_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn retry_failed_deliveries(&self, digest_id: i64, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let requeued = sqlx::query(
            "UPDATE deliveries SET status = 'queued', attempts = 0, available_at = $2, leased_by = NULL, \
             finished_at = NULL, updated_at = $2 WHERE digest_id = $1 AND status = 'failed'",
        )
        .bind(digest_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if requeued > 0 {
            sqlx::query("UPDATE digests SET status = 'sending', finished_at = NULL WHERE digest_id = $1")
                .bind(digest_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(requeued)
    }

    async fn known_addresses(&self, emails: &[String], hashes: &[String]) -> StoreResult<(Vec<String>, Vec<String>)> {
        let known: Vec<String> =
            sqlx::query_scalar("SELECT lower(email) FROM subscribers WHERE lower(email) = ANY($1)")
                .bind(emails)
                .fetch_all(&self.pool)
                .await?;
        let suppressed: Vec<String> =
            sqlx::query_scalar("SELECT email_hash FROM suppressions WHERE email_hash = ANY($1)")
                .bind(hashes)
                .fetch_all(&self.pool)
                .await?;
        Ok((known, suppressed))
    }

    async fn queue_test_digest(&self, test: &TestDigest, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deliveries (kind, subscriber_id, digest_id, payload, status, priority, available_at, \
             created_at, updated_at) VALUES ('digest', NULL, NULL, $1, 'queued', 0, $2, $2, $2)",
        )
        .bind(serde_json::to_string(test).unwrap_or_default())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reader_topic_sets(&self, limit: u32) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT topics FROM subscribers WHERE status = 'confirmed' GROUP BY topics ORDER BY count(*) DESC, topics LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }
}
