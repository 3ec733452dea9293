//! Readers' own changes to their subscription, on Sqlite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::domain::TokenHash;
use crate::store::StoreResult;
use crate::store::preferences::{PreferenceStore, Preferences, PreferencesRow};

#[async_trait]
impl PreferenceStore for SqliteStore {
    async fn preferences(&self, token: &TokenHash) -> StoreResult<Option<Preferences>> {
        let row: Option<PreferencesRow> =
            sqlx::query_as("SELECT status, name, topics FROM subscribers WHERE unsubscribe_token_hash = $1")
                .bind(token.as_bytes())
                .fetch_optional(&self.reader)
                .await?;
        row.map(PreferencesRow::into_preferences).transpose()
    }

    async fn update_preferences(
        &self,
        token: &TokenHash,
        update: &Preferences,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // One statement: the status check and the change cannot be split by
        // an unsubscribe in between. Recipients of a digest are chosen from
        // `topic_keys` when it is created, so the change applies from the next one.
        let updated = sqlx::query(
            "UPDATE subscribers SET name = $1, topics = $2, topic_keys = $3, updated_at = $4 \
             WHERE unsubscribe_token_hash = $5 AND status = 'confirmed'",
        )
        .bind(update.name.as_ref().map(|n| n.as_str()))
        .bind(update.topics.to_json())
        .bind(update.topics.keys_json())
        .bind(now)
        .bind(token.as_bytes())
        .execute(&self.writer)
        .await?;
        Ok(updated.rows_affected() > 0)
    }
}
