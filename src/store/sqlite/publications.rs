//! Publications and digests on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::queue::json_ids;
use crate::domain::{NewPublication, SubscriberEmail};
use crate::store::publications::{
    Audience, DigestCreated, DigestStore, DigestView, DigestWindow, Publication, PublicationStore, Reader,
    UpsertOutcome, Upserted,
};
use crate::store::rows::{
    PublicationRow, ReaderRow, authors_json, category_key, digest_view_select, publication_columns,
};
use crate::store::{Page, PageRequest, StoreResult};

#[async_trait]
impl PublicationStore for SqliteStore {
    async fn upsert_publication(
        &self,
        publication: &NewPublication,
        mark_announced: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Upserted> {
        let mut tx = self.begin_write().await?;
        let existing: Option<PublicationRow> =
            sqlx::query_as(concat!("SELECT ", publication_columns!(), " FROM publications WHERE url = $1"))
                .bind(&publication.url)
                .fetch_optional(&mut *tx)
                .await?;
        let existing = existing.map(Publication::from);
        let announce_now = mark_announced && existing.as_ref().is_none_or(|p| p.announced_at.is_none());
        let outcome = match &existing {
            None => UpsertOutcome::Created,
            Some(stored) if stored.matches(publication) && !announce_now => UpsertOutcome::Unchanged,
            Some(_) => UpsertOutcome::Updated,
        };
        let publication_row = match (outcome, existing) {
            (UpsertOutcome::Unchanged, Some(stored)) => stored,
            _ => sqlx::query_as::<_, PublicationRow>(concat!(
                "INSERT INTO publications (url, title, summary, authors, category, category_key, series, \
                 published_at, announced_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (url) DO UPDATE SET title = excluded.title, summary = excluded.summary, \
                 authors = excluded.authors, category = excluded.category, category_key = excluded.category_key, \
                 series = excluded.series, published_at = excluded.published_at, \
                 announced_at = COALESCE(publications.announced_at, excluded.announced_at), \
                 updated_at = excluded.updated_at RETURNING ",
                publication_columns!()
            ))
            .bind(&publication.url)
            .bind(&publication.title)
            .bind(publication.summary.as_deref())
            .bind(authors_json(&publication.authors))
            .bind(publication.category.as_ref().map(|c| c.as_str()))
            .bind(category_key(publication))
            .bind(publication.series.as_deref())
            .bind(publication.published_at)
            .bind(announce_now.then_some(now))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .into(),
        };
        tx.commit().await?;
        Ok(Upserted { publication: publication_row, outcome })
    }

    async fn list_publications(&self, page: PageRequest) -> StoreResult<Page<Publication>> {
        let rows: Vec<PublicationRow> = sqlx::query_as(concat!(
            "SELECT ",
            publication_columns!(),
            " FROM publications ORDER BY published_at DESC, publication_id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(&self.reader)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM publications").fetch_one(&self.reader).await?;
        Ok(Page {
            items: rows.into_iter().map(Publication::from).collect(),
            page: page.page,
            per_page: page.per_page,
            total,
        })
    }

    async fn known_categories(&self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT min(category) FROM publications WHERE category_key IS NOT NULL GROUP BY category_key ORDER BY category_key",
        )
        .fetch_all(&self.reader)
        .await?)
    }
}

#[async_trait]
impl DigestStore for SqliteStore {
    async fn digest_candidates(&self, window: &DigestWindow) -> StoreResult<Vec<Publication>> {
        let rows: Vec<PublicationRow> = sqlx::query_as(concat!(
            "SELECT ",
            publication_columns!(),
            " FROM publications WHERE announced_at IS NULL AND published_at <= $1 AND published_at >= $2 \
             ORDER BY published_at DESC, publication_id DESC"
        ))
        .bind(window.now)
        .bind(window.oldest)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(Publication::from).collect())
    }

    async fn count_recipients(&self, audience: &Audience) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM subscribers s WHERE s.status = 'confirmed' AND ($1 OR s.topic_keys = '[]' \
             OR EXISTS (SELECT 1 FROM json_each(s.topic_keys) t WHERE t.value IN (SELECT value FROM json_each($2))))",
        )
        .bind(audience.everyone)
        .bind(serde_json::Value::from(audience.category_keys.clone()).to_string())
        .fetch_one(&self.reader)
        .await?)
    }

    async fn create_digest(&self, window: &DigestWindow) -> StoreResult<Option<DigestCreated>> {
        // BEGIN IMMEDIATE serialises concurrent triggers: the second one
        // finds every publication announced and creates nothing.
        let mut tx = self.begin_write().await?;
        let candidates: Vec<PublicationRow> = sqlx::query_as(concat!(
            "SELECT ",
            publication_columns!(),
            " FROM publications WHERE announced_at IS NULL AND published_at <= $1 AND published_at >= $2"
        ))
        .bind(window.now)
        .bind(window.oldest)
        .fetch_all(&mut *tx)
        .await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let publications: Vec<Publication> = candidates.into_iter().map(Publication::from).collect();
        let audience = Audience::of(&publications);
        let ids: Vec<i64> = publications.iter().map(|p| p.id).collect();

        let digest_id: i64 = sqlx::query_scalar(
            "INSERT INTO digests (status, publication_count, recipient_count, created_at) \
             VALUES ('sending', $1, 0, $2) RETURNING digest_id",
        )
        .bind(i64::try_from(ids.len()).unwrap_or(i64::MAX))
        .bind(window.now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE publications SET announced_at = $1, digest_id = $2 \
             WHERE publication_id IN (SELECT value FROM json_each($3))",
        )
        .bind(window.now)
        .bind(digest_id)
        .bind(json_ids(&ids))
        .execute(&mut *tx)
        .await?;
        let recipients = sqlx::query(
            "INSERT INTO deliveries (kind, subscriber_id, digest_id, status, priority, available_at, created_at, \
             updated_at) SELECT 'digest', s.subscriber_id, $1, 'queued', 1, $2, $2, $2 FROM subscribers s \
             WHERE s.status = 'confirmed' AND ($3 OR s.topic_keys = '[]' OR EXISTS (SELECT 1 FROM json_each(s.topic_keys) t \
             WHERE t.value IN (SELECT value FROM json_each($4)))) ORDER BY s.subscriber_id",
        )
        .bind(digest_id)
        .bind(window.now)
        .bind(audience.everyone)
        .bind(serde_json::Value::from(audience.category_keys).to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let recipients = i64::try_from(recipients).unwrap_or(i64::MAX);
        // With nobody to send to, the digest is done the moment it is made.
        sqlx::query(
            "UPDATE digests SET recipient_count = $1, status = CASE WHEN $1 = 0 THEN 'sent' ELSE 'sending' END, \
             finished_at = CASE WHEN $1 = 0 THEN $2 END WHERE digest_id = $3",
        )
        .bind(recipients)
        .bind(window.now)
        .bind(digest_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(DigestCreated {
            id: digest_id,
            publications: i64::try_from(ids.len()).unwrap_or(i64::MAX),
            recipients,
        }))
    }

    async fn digest(&self, digest_id: i64) -> StoreResult<Option<DigestView>> {
        Ok(sqlx::query_as(concat!(digest_view_select!(), "WHERE d.digest_id = $1"))
            .bind(digest_id)
            .fetch_optional(&self.reader)
            .await?)
    }

    async fn list_digests(&self, page: PageRequest) -> StoreResult<Page<DigestView>> {
        let items: Vec<DigestView> =
            sqlx::query_as(concat!(digest_view_select!(), "ORDER BY d.digest_id DESC LIMIT $1 OFFSET $2"))
                .bind(i64::from(page.per_page))
                .bind(page.offset())
                .fetch_all(&self.reader)
                .await?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM digests").fetch_one(&self.reader).await?;
        Ok(Page { items, page: page.page, per_page: page.per_page, total })
    }

    async fn digest_publications(&self, digest_id: i64) -> StoreResult<Vec<Publication>> {
        let rows: Vec<PublicationRow> = sqlx::query_as(concat!(
            "SELECT ",
            publication_columns!(),
            " FROM publications WHERE digest_id = $1 ORDER BY published_at DESC, publication_id DESC"
        ))
        .bind(digest_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(Publication::from).collect())
    }

    async fn reader_by_email(&self, email: &SubscriberEmail) -> StoreResult<Option<Reader>> {
        let row: Option<ReaderRow> = sqlx::query_as(
            "SELECT email, name, topics, unsubscribe_salt FROM subscribers WHERE lower(email) = lower($1)",
        )
        .bind(email.as_str())
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(Reader::from))
    }
}
