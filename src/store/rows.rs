//! Row types read by both backends (the column types decode the same way
//! on SQLite and Postgres), and their conversion into domain values.

use chrono::{DateTime, Utc};

use super::model::{ConsentView, Subscriber};
use super::publications::{Publication, Reader};
use super::queue::{ClaimedDelivery, DeliveryKind, TestDigest};
use super::{StoreError, StoreResult};
use crate::domain::{
    NewPublication, SubscriberEmail, SubscriberName, SubscriptionStatus, ThrottleState, Token, Topics,
};

/// Columns of `subscribers` shown to admins; select them with `subscriber_columns!()`.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct SubscriberRow {
    subscriber_id: i64,
    email: String,
    name: Option<String>,
    status: String,
    topics: String,
    created_at: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
    unsubscribed_at: Option<DateTime<Utc>>,
    consent_source: String,
    consent_at: DateTime<Utc>,
    consent_ip: Option<String>,
    consent_user_agent: Option<String>,
    consent_page: Option<String>,
    confirmed_via: Option<String>,
    confirmed_ip: Option<String>,
    confirmed_user_agent: Option<String>,
}

/// The column list of [`SubscriberRow`], as a literal so that queries can be
/// built with `concat!` (sqlx takes only `&'static str` as SQL).
macro_rules! subscriber_columns {
    () => {
        "subscriber_id, email, name, status, topics, created_at, confirmed_at, unsubscribed_at, consent_source, \
         consent_at, consent_ip, consent_user_agent, consent_page, confirmed_via, confirmed_ip, confirmed_user_agent"
    };
}
pub(super) use subscriber_columns;

impl TryFrom<SubscriberRow> for Subscriber {
    type Error = StoreError;

    fn try_from(row: SubscriberRow) -> StoreResult<Subscriber> {
        Ok(Subscriber {
            id: row.subscriber_id,
            email: row.email,
            name: row.name,
            status: parse_status(&row.status)?,
            topics: Topics::from_json(&row.topics).names(),
            created_at: row.created_at,
            confirmed_at: row.confirmed_at,
            unsubscribed_at: row.unsubscribed_at,
            consent: ConsentView {
                source: row.consent_source,
                at: row.consent_at,
                ip: row.consent_ip,
                user_agent: row.consent_user_agent,
                page: row.consent_page,
                confirmed_via: row.confirmed_via,
                confirmed_ip: row.confirmed_ip,
                confirmed_user_agent: row.confirmed_user_agent,
            },
        })
    }
}

/// What a signup needs to know of an address already on file.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ExistingSignupRow {
    /// `lower(email)`: the key signups are matched by.
    pub email_key: String,
    pub subscriber_id: i64,
    pub status: String,
    pub last_confirmation_at: Option<DateTime<Utc>>,
    pub confirmation_window_started_at: Option<DateTime<Utc>>,
    pub confirmations_in_window: i64,
}

impl ExistingSignupRow {
    pub fn existing(&self) -> StoreResult<super::signup_batch::Existing> {
        Ok(super::signup_batch::Existing {
            subscriber_id: self.subscriber_id,
            status: parse_status(&self.status)?,
            throttle: ThrottleState {
                last_sent_at: self.last_confirmation_at,
                window_started_at: self.confirmation_window_started_at,
                sent_in_window: u32::try_from(self.confirmations_in_window).unwrap_or(u32::MAX),
            },
        })
    }
}

/// A confirmation token with what decides its meaning.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct TokenRow {
    pub subscriber_id: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: String,
    pub consent_at: DateTime<Utc>,
}

impl TokenRow {
    pub fn state(&self, now: DateTime<Utc>) -> StoreResult<super::TokenState> {
        Ok(super::token_state(parse_status(&self.status)?, self.created_at, self.expires_at, self.consent_at, now))
    }
}

/// A claimed delivery joined with its subscriber (absent if erased).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ClaimRow {
    pub delivery_id: i64,
    pub kind: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub digest_id: Option<i64>,
    pub payload: Option<String>,
    pub subscriber_id: Option<i64>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub topics: Option<String>,
    pub unsubscribe_salt: Option<Vec<u8>>,
}

impl ClaimRow {
    /// The delivery, if it should still be sent; `None` means cancel it.
    pub fn into_sendable(self) -> StoreResult<Option<ClaimedDelivery>> {
        let kind = match self.kind.as_str() {
            "confirmation" => DeliveryKind::Confirmation,
            "digest" => DeliveryKind::Digest,
            other => return Err(StoreError::Corrupt(format!("unknown delivery kind `{other}`"))),
        };
        if kind == DeliveryKind::Digest && self.subscriber_id.is_none() && self.digest_id.is_none() {
            return Ok(self.into_test());
        }
        let (Some(subscriber_id), Some(email), Some(status)) = (self.subscriber_id, self.email, self.status) else {
            return Ok(None);
        };
        let wanted = matches!(
            (kind, parse_status(&status)?),
            (DeliveryKind::Confirmation, SubscriptionStatus::Pending)
                | (DeliveryKind::Digest, SubscriptionStatus::Confirmed)
        );
        let confirmation_token = self.payload.as_deref().and_then(Token::parse);
        if !wanted || (kind == DeliveryKind::Confirmation && confirmation_token.is_none()) {
            return Ok(None);
        }
        Ok(Some(ClaimedDelivery {
            delivery_id: self.delivery_id,
            kind,
            attempts: self.attempts,
            created_at: self.created_at,
            subscriber_id,
            email: SubscriberEmail::from_trusted(email),
            name: self.name.map(SubscriberName::from_trusted),
            topics: Topics::from_json(self.topics.as_deref().unwrap_or("[]")),
            unsubscribe_salt: self.unsubscribe_salt.unwrap_or_default(),
            digest_id: self.digest_id,
            confirmation_token,
            test: None,
        }))
    }

    /// A dashboard test digest; `None` (cancel) if its payload is unreadable.
    fn into_test(self) -> Option<ClaimedDelivery> {
        let test: TestDigest = serde_json::from_str(self.payload.as_deref()?).ok()?;
        let topics = Topics::parse(&test.topics).ok()?;
        Some(ClaimedDelivery {
            delivery_id: self.delivery_id,
            kind: DeliveryKind::Digest,
            attempts: self.attempts,
            created_at: self.created_at,
            subscriber_id: 0,
            email: SubscriberEmail::from_trusted(test.to.clone()),
            name: None,
            topics,
            unsubscribe_salt: vec![0; 16],
            digest_id: None,
            confirmation_token: None,
            test: Some(test),
        })
    }
}

pub(super) fn parse_status(value: &str) -> StoreResult<SubscriptionStatus> {
    value.parse().map_err(|e: crate::domain::UnknownStatus| StoreError::Corrupt(e.to_string()))
}

/// Columns of `publications`; select them with `publication_columns!()`.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PublicationRow {
    publication_id: i64,
    title: String,
    url: String,
    published_at: DateTime<Utc>,
    summary: Option<String>,
    authors: String,
    category: Option<String>,
    series: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    announced_at: Option<DateTime<Utc>>,
    digest_id: Option<i64>,
}

macro_rules! publication_columns {
    () => {
        "publication_id, title, url, published_at, summary, authors, category, series, created_at, updated_at, \
         announced_at, digest_id"
    };
}
pub(super) use publication_columns;

impl From<PublicationRow> for Publication {
    fn from(row: PublicationRow) -> Publication {
        Publication {
            id: row.publication_id,
            title: row.title,
            url: row.url,
            published_at: row.published_at,
            summary: row.summary,
            authors: serde_json::from_str(&row.authors).unwrap_or_default(),
            category: row.category,
            series: row.series,
            created_at: row.created_at,
            updated_at: row.updated_at,
            announced_at: row.announced_at,
            digest_id: row.digest_id,
        }
    }
}

/// A digest with its delivery counts; append `WHERE …` / `ORDER BY …`.
/// Each count is an index range scan on `deliveries (digest_id, status)`.
macro_rules! digest_view_select {
    () => {
        "SELECT d.digest_id, d.status, d.publication_count, d.recipient_count, d.created_at, d.finished_at, \
         (SELECT count(*) FROM deliveries x WHERE x.digest_id = d.digest_id AND x.digest_id IS NOT NULL AND x.status = 'sent') AS sent, \
         (SELECT count(*) FROM deliveries x WHERE x.digest_id = d.digest_id AND x.digest_id IS NOT NULL AND x.status = 'failed') AS failed, \
         (SELECT count(*) FROM deliveries x WHERE x.digest_id = d.digest_id AND x.digest_id IS NOT NULL AND x.status = 'cancelled') AS cancelled, \
         (SELECT count(*) FROM deliveries x WHERE x.digest_id = d.digest_id AND x.digest_id IS NOT NULL AND x.status IN ('queued', 'sending')) \
         AS pending FROM digests d "
    };
}
pub(super) use digest_view_select;

/// A subscriber as a digest reader.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ReaderRow {
    email: String,
    name: Option<String>,
    topics: String,
    unsubscribe_salt: Vec<u8>,
}

impl From<ReaderRow> for Reader {
    fn from(row: ReaderRow) -> Reader {
        Reader {
            email: SubscriberEmail::from_trusted(row.email),
            name: row.name.map(SubscriberName::from_trusted),
            topics: Topics::from_json(&row.topics),
            unsubscribe_salt: row.unsubscribe_salt,
        }
    }
}

/// The JSON array stored in `authors`.
pub(super) fn authors_json(authors: &[String]) -> String {
    serde_json::Value::from(authors.to_vec()).to_string()
}

/// The category's comparison key (see `Topic::key`).
pub(super) fn category_key(publication: &NewPublication) -> Option<String> {
    publication.category.as_ref().map(|c| c.key())
}
