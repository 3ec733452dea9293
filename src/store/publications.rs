//! What the publication and digest side of the store takes and returns.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Page, PageRequest, StoreResult};
use crate::domain::{NewPublication, SubscriberEmail, SubscriberName, Topics};

/// Publications: upserted by URL, announced at most once.
#[async_trait]
pub trait PublicationStore {
    /// Creates or updates the publication with this URL. An update never
    /// touches whether (or when) it was announced; `mark_announced` sets that
    /// for items that should never go out (a back-catalogue import).
    async fn upsert_publication(
        &self,
        publication: &NewPublication,
        mark_announced: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Upserted>;

    /// Newest first.
    async fn list_publications(&self, page: PageRequest) -> StoreResult<Page<Publication>>;

    /// Distinct categories (one spelling per case-insensitive key), sorted:
    /// the topics a reader can choose.
    async fn known_categories(&self) -> StoreResult<Vec<String>>;
}

/// Digests: one transaction creates the digest, announces its publications
/// and queues one delivery per matching confirmed reader.
#[async_trait]
pub trait DigestStore {
    /// The publications a digest created now would announce.
    async fn digest_candidates(&self, window: &DigestWindow) -> StoreResult<Vec<Publication>>;

    /// How many confirmed readers want at least one of these publications.
    async fn count_recipients(&self, audience: &Audience) -> StoreResult<i64>;

    /// `None` when there is nothing new. Concurrent calls create one digest.
    async fn create_digest(&self, window: &DigestWindow) -> StoreResult<Option<DigestCreated>>;

    async fn digest(&self, digest_id: i64) -> StoreResult<Option<DigestView>>;

    /// Newest first.
    async fn list_digests(&self, page: PageRequest) -> StoreResult<Page<DigestView>>;

    /// What a digest announced: for rendering its emails.
    async fn digest_publications(&self, digest_id: i64) -> StoreResult<Vec<Publication>>;

    /// A subscriber as a digest reader (for previews).
    async fn reader_by_email(&self, email: &SubscriberEmail) -> StoreResult<Option<Reader>>;
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct Publication {
    pub id: i64,
    #[schema(max_length = 300)]
    pub title: String,
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    pub published_at: DateTime<Utc>,
    #[schema(required, max_length = 5000)]
    pub summary: Option<String>,
    #[schema(max_items = 50)]
    pub authors: Vec<String>,
    #[schema(required, max_length = 64)]
    pub category: Option<String>,
    #[schema(required, max_length = 200)]
    pub series: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(required)]
    pub announced_at: Option<DateTime<Utc>>,
    #[schema(required)]
    pub digest_id: Option<i64>,
}

impl Publication {
    /// Whether the stored publication already says what `new` says.
    pub fn matches(&self, new: &NewPublication) -> bool {
        self.title == new.title
            && self.published_at == new.published_at
            && self.summary == new.summary
            && self.authors == new.authors
            && self.category.as_deref() == new.category.as_ref().map(|c| c.as_str())
            && self.series == new.series
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpsertOutcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone)]
pub struct Upserted {
    pub publication: Publication,
    pub outcome: UpsertOutcome,
}

/// Which publications a digest takes: published after `oldest` (the
/// `DIGEST_MAX_AGE` horizon) and not after `now` (embargoed items wait).
#[derive(Debug, Clone, Copy)]
pub struct DigestWindow {
    pub now: DateTime<Utc>,
    pub oldest: DateTime<Utc>,
}

/// Who a set of publications is for: readers without topics, readers whose
/// topics include one of the categories, and everyone if one has no category.
#[derive(Debug, Clone, Default)]
pub struct Audience {
    pub category_keys: Vec<String>,
    pub everyone: bool,
}

impl Audience {
    pub fn of(publications: &[Publication]) -> Audience {
        let mut audience = Audience::default();
        for publication in publications {
            match &publication.category {
                None => audience.everyone = true,
                Some(category) => {
                    let key = category.to_lowercase();
                    if !audience.category_keys.contains(&key) {
                        audience.category_keys.push(key);
                    }
                }
            }
        }
        audience
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct DigestCreated {
    pub id: i64,
    pub publications: i64,
    pub recipients: i64,
}

/// The values of [`DigestView::status`] (stored as text by the queue's SQL).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DigestStatus {
    Sending,
    Sent,
}

/// A digest and how far its delivery has come.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DigestView {
    #[sqlx(rename = "digest_id")]
    pub id: i64,
    /// `sending` while anything is pending, then `sent`.
    #[schema(value_type = DigestStatus)]
    pub status: String,
    #[sqlx(rename = "publication_count")]
    pub publications: i64,
    #[sqlx(rename = "recipient_count")]
    pub recipients: i64,
    pub sent: i64,
    pub failed: i64,
    /// Readers who unsubscribed (or were erased) before their email went out.
    pub cancelled: i64,
    pub pending: i64,
    pub created_at: DateTime<Utc>,
    #[schema(required)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// What composing a digest needs to know of its reader.
#[derive(Debug, Clone)]
pub struct Reader {
    pub email: SubscriberEmail,
    pub name: Option<SubscriberName>,
    pub topics: Topics,
    pub unsubscribe_salt: Vec<u8>,
}
