//! What the dashboard's side of the store takes and returns: admin accounts,
//! their sessions, failed logins, and the aggregates and searches its pages show.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Page, PageRequest, Publication, StoreResult, Subscriber, TestDigest};
use crate::domain::{SubscriptionStatus, TokenHash};

/// Dashboard accounts and sessions.
#[async_trait]
pub trait AdminStore {
    /// `false` when an admin with this address (in any case) exists already.
    async fn add_admin(&self, email: &str, password_hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Removes the account and ends its sessions; `false` if there was none.
    async fn remove_admin(&self, email: &str) -> StoreResult<bool>;

    async fn admin_by_email(&self, email: &str) -> StoreResult<Option<AdminAccount>>;

    async fn create_session(&self, session: &NewAdminSession) -> StoreResult<()>;

    /// The session with this hash if it was used after `idle_since`; its
    /// `last_seen_at` moves to `now` (at most once a minute).
    async fn touch_session(
        &self,
        session: &TokenHash,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AdminSession>>;

    async fn end_session(&self, session: &TokenHash) -> StoreResult<()>;

    /// How many failures `key` had since `since`, and the oldest of them.
    async fn login_failures(&self, key: &str, since: DateTime<Utc>) -> StoreResult<LoginFailures>;

    /// Counts one failed login against each key; forgets failures older than `forget_before`.
    async fn record_login_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Read-only views for the dashboard's pages; aggregates are computed in SQL.
#[async_trait]
pub trait DashboardStore {
    /// Subscribers per status, every status present (zero when none).
    async fn status_counts(&self) -> StoreResult<StatusCounts>;

    /// Opt-ins (by consent time) and confirmations per UTC day since `since`;
    /// only days with something are returned.
    async fn daily_signups(&self, since: DateTime<Utc>) -> StoreResult<Vec<DailyCount>>;

    async fn queue_summary(&self) -> StoreResult<QueueSummary>;

    async fn search_subscribers(&self, search: &SubscriberSearch, page: PageRequest) -> StoreResult<Page<Subscriber>>;

    async fn subscriber(&self, subscriber_id: i64) -> StoreResult<Option<Subscriber>>;

    /// The subscriber's deliveries, newest first (at most `limit`).
    async fn subscriber_deliveries(&self, subscriber_id: i64, limit: u32) -> StoreResult<Vec<DeliveryView>>;

    /// Newest first; `query` matches title or URL (substring, any case).
    async fn search_publications(&self, query: Option<&str>, page: PageRequest) -> StoreResult<Page<Publication>>;

    async fn publication(&self, publication_id: i64) -> StoreResult<Option<Publication>>;

    /// The digest's failed deliveries, with the last SMTP reply of each.
    async fn digest_failures(&self, digest_id: i64, limit: u32) -> StoreResult<Vec<DeliveryView>>;

    /// Puts the digest's failed deliveries back in the queue (attempts reset)
    /// and its status back to `sending`; returns how many.
    async fn retry_failed_deliveries(&self, digest_id: i64, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Of these lower-cased addresses, those a subscriber has, and of these
    /// suppression hashes, those on the suppression list (for an import's preview).
    async fn known_addresses(&self, emails: &[String], hashes: &[String]) -> StoreResult<(Vec<String>, Vec<String>)>;

    /// Queues a test digest (first in line, like transactional mail).
    async fn queue_test_digest(&self, test: &TestDigest, now: DateTime<Utc>) -> StoreResult<()>;

    /// The distinct topic sets (as stored JSON) of confirmed readers.
    async fn reader_topic_sets(&self, limit: u32) -> StoreResult<Vec<String>>;
}

#[derive(Debug, Clone)]
pub struct AdminAccount {
    pub admin_id: i64,
    pub email: String,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewAdminSession {
    pub session: TokenHash,
    pub admin_id: i64,
    pub csrf_token: String,
    pub now: DateTime<Utc>,
    /// Sessions idle since before this are deleted meanwhile.
    pub expire_before: DateTime<Utc>,
}

/// A logged-in admin.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub admin_id: i64,
    pub email: String,
    pub csrf_token: String,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LoginFailures {
    pub count: i64,
    pub oldest: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StatusCounts {
    pub pending: i64,
    pub confirmed: i64,
    pub unsubscribed: i64,
}

impl StatusCounts {
    /// From `(status, count)` rows.
    pub fn from_rows(rows: &[(String, i64)]) -> StatusCounts {
        let mut counts = StatusCounts::default();
        for (status, count) in rows {
            match status.parse::<SubscriptionStatus>() {
                Ok(SubscriptionStatus::Pending) => counts.pending = *count,
                Ok(SubscriptionStatus::Confirmed) => counts.confirmed = *count,
                Ok(SubscriptionStatus::Unsubscribed) => counts.unsubscribed = *count,
                Err(_) => {}
            }
        }
        counts
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub signups: i64,
    pub confirmations: i64,
}

/// Merges per-day opt-in and confirmation counts (each sorted by day).
pub fn merge_daily(signups: Vec<(String, i64)>, confirmations: Vec<(String, i64)>) -> Vec<DailyCount> {
    let mut days: Vec<DailyCount> =
        signups.into_iter().map(|(day, signups)| DailyCount { day, signups, confirmations: 0 }).collect();
    for (day, count) in confirmations {
        match days.iter_mut().find(|d| d.day == day) {
            Some(existing) => existing.confirmations = count,
            None => days.push(DailyCount { day, signups: 0, confirmations: count }),
        }
    }
    days.sort_by(|a, b| a.day.cmp(&b.day));
    days
}

#[derive(Debug, Clone, Copy, Default, Serialize, sqlx::FromRow)]
pub struct QueueSummary {
    /// Queued or being sent.
    pub pending: i64,
    /// Failed for good (all kinds): needs someone to look.
    pub failed: i64,
}

#[derive(Debug, Clone, Default)]
pub struct SubscriberSearch {
    /// Substring of the address, any case.
    pub address: Option<String>,
    pub status: Option<SubscriptionStatus>,
    /// One topic, compared case-insensitively.
    pub topic: Option<String>,
}

impl SubscriberSearch {
    /// `LIKE` pattern (escape `\`) for the address, lower-cased.
    pub fn address_pattern(&self) -> Option<String> {
        self.address.as_deref().map(|a| format!("%{}%", like_escape(&a.to_lowercase())))
    }

    /// `LIKE` pattern (escape `\`) matching the topic in a `topic_keys` JSON array.
    pub fn topic_pattern(&self) -> Option<String> {
        let key = self.topic.as_deref()?.trim().to_lowercase();
        let quoted = serde_json::to_string(&key).unwrap_or_default();
        Some(format!("%{}%", like_escape(&quoted)))
    }
}

/// A `LIKE` pattern (escape `\`) for a substring search, lower-cased.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", like_escape(&text.to_lowercase()))
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// One delivery as the dashboard lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeliveryView {
    pub delivery_id: i64,
    pub kind: String,
    pub digest_id: Option<i64>,
    /// The recipient (none once erased).
    pub email: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_like_wildcards_and_quote_topics() {
        let search =
            SubscriberSearch { address: Some("A_b%".into()), status: None, topic: Some(" North Korea ".into()) };
        assert_eq!(search.address_pattern().unwrap(), "%a\\_b\\%%");
        assert_eq!(search.topic_pattern().unwrap(), "%\"north korea\"%");
    }

    #[test]
    fn daily_counts_merge_by_day() {
        let merged =
            merge_daily(vec![("2026-01-02".into(), 3)], vec![("2026-01-01".into(), 1), ("2026-01-02".into(), 2)]);
        assert_eq!(merged[0], DailyCount { day: "2026-01-01".into(), signups: 0, confirmations: 1 });
        assert_eq!(merged[1], DailyCount { day: "2026-01-02".into(), signups: 3, confirmations: 2 });
    }
}
