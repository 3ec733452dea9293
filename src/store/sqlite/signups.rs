//! Signups on SQLite, a batch per transaction (see `store::signup_batch`).

use std::collections::HashMap;

use super::SqliteStore;
use super::queue::json_strings;
use crate::domain::ConfirmationThrottle;
use crate::store::rows::ExistingSignupRow;
use crate::store::signup_batch::{self, Existing, Target, statements};
use crate::store::{SignupOutcome, SignupRecord, StoreError, StoreResult};

/// Rows per multi-row `INSERT` (SQLite allows 32,766 parameters; 17 a row).
const ROWS_PER_INSERT: usize = 500;

impl SqliteStore {
    pub(super) async fn apply_signups(
        &self,
        signups: &[SignupRecord],
        throttle: &ConfirmationThrottle,
    ) -> StoreResult<Vec<SignupOutcome>> {
        let mut tx = self.begin_write().await?;
        let keys: Vec<String> = signups.iter().map(|s| s.subscriber.email.canonical()).collect();
        let rows: Vec<ExistingSignupRow> = sqlx::query_as(
            "SELECT subscriber_id, lower(email) AS email_key, status, last_confirmation_at, \
             confirmation_window_started_at, confirmations_in_window FROM subscribers \
             WHERE lower(email) IN (SELECT value FROM json_each($1))",
        )
        .bind(json_strings(&keys))
        .fetch_all(&mut *tx)
        .await?;
        let existing = rows
            .into_iter()
            .map(|row| Ok((row.email_key.clone(), row.existing()?)))
            .collect::<StoreResult<HashMap<String, Existing>>>()?;
        let batch = signup_batch::plan(signups, existing, throttle);

        let mut created: HashMap<String, i64> = HashMap::new();
        for chunk in batch.creates.chunks(ROWS_PER_INSERT) {
            let rows: Vec<(i64, String)> =
                statements::insert_subscribers(chunk).build_query_as().fetch_all(&mut *tx).await?;
            created.extend(rows.into_iter().map(|(id, key)| (key, id)));
        }
        let id_of = |target: Target| match target {
            Target::Existing(id) => Some(id),
            Target::New(index) => created.get(&batch.creates[index].record.subscriber.email.canonical()).copied(),
        };

        for restart in &batch.restarts {
            let record = restart.record;
            let new = &record.subscriber;
            sqlx::query(
                "UPDATE subscribers SET status = 'pending', name = $1, topics = $2, topic_keys = $3, \
                 unsubscribe_salt = $4, unsubscribe_token_hash = $5, consent_at = $6, consent_source = $7, \
                 consent_ip = $8, consent_user_agent = $9, consent_page = $10, confirmed_at = NULL, \
                 confirmed_via = NULL, confirmed_ip = NULL, confirmed_user_agent = NULL, unsubscribed_at = NULL, \
                 updated_at = $6, last_confirmation_at = COALESCE($11, last_confirmation_at), \
                 confirmation_window_started_at = COALESCE($12, confirmation_window_started_at), \
                 confirmations_in_window = COALESCE($13, confirmations_in_window) WHERE subscriber_id = $14",
            )
            .bind(new.name.as_ref().map(|n| n.as_str()))
            .bind(new.topics.to_json())
            .bind(new.topics.keys_json())
            .bind(&record.unsubscribe_key.salt[..])
            .bind(record.unsubscribe_key.token_hash.as_bytes())
            .bind(record.now)
            .bind(record.consent.source.as_str())
            .bind(record.consent.ip.as_deref())
            .bind(record.consent.user_agent.as_deref())
            .bind(record.consent.page.as_deref())
            .bind(restart.throttle.and_then(|t| t.last_sent_at))
            .bind(restart.throttle.and_then(|t| t.window_started_at))
            .bind(restart.throttle.map(|t| i64::from(t.sent_in_window)))
            .bind(restart.subscriber_id)
            .execute(&mut *tx)
            .await?;
        }
        for refresh in &batch.refreshes {
            let new = &refresh.record.subscriber;
            sqlx::query(
                "UPDATE subscribers SET name = $1, topics = $2, topic_keys = $3, updated_at = $4, \
                 last_confirmation_at = COALESCE($5, last_confirmation_at), \
                 confirmation_window_started_at = COALESCE($6, confirmation_window_started_at), \
                 confirmations_in_window = COALESCE($7, confirmations_in_window) WHERE subscriber_id = $8",
            )
            .bind(new.name.as_ref().map(|n| n.as_str()))
            .bind(new.topics.to_json())
            .bind(new.topics.keys_json())
            .bind(refresh.record.now)
            .bind(refresh.throttle.and_then(|t| t.last_sent_at))
            .bind(refresh.throttle.and_then(|t| t.window_started_at))
            .bind(refresh.throttle.map(|t| i64::from(t.sent_in_window)))
            .bind(id_of(refresh.target))
            .execute(&mut *tx)
            .await?;
        }

        let ids: Vec<i64> = batch
            .confirmations
            .iter()
            .map(|c| id_of(c.target).ok_or_else(|| StoreError::Corrupt("a new subscriber got no id".into())))
            .collect::<StoreResult<_>>()?;
        for (chunk, chunk_ids) in batch.confirmations.chunks(ROWS_PER_INSERT).zip(ids.chunks(ROWS_PER_INSERT)) {
            statements::insert_tokens(chunk, chunk_ids).build().execute(&mut *tx).await?;
            statements::insert_deliveries(chunk, chunk_ids).build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(batch.outcomes)
    }
}
