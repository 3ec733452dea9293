//! What the subscriber side of the store takes and returns.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::StoreResult;
use crate::domain::{
    ConfirmationThrottle, ConsentSource, NewSubscriber, SignupPlan, SubscriberEmail, SubscriberName,
    SubscriptionStatus, Token, TokenHash, Topics,
};

/// Subscribers: signup, confirmation, unsubscribe, and the admin's view.
#[async_trait]
pub trait SubscriberStore {
    /// Applies signups in one transaction, in order: decides each with
    /// [`crate::domain::plan_signup`], writes the subscribers, and queues the
    /// confirmation emails that are due. One outcome per signup.
    async fn signup_batch(
        &self,
        signups: &[SignupRecord],
        throttle: &ConfirmationThrottle,
    ) -> StoreResult<Vec<SignupOutcome>>;

    /// One signup: a batch of one.
    async fn signup(&self, signup: &SignupRecord, throttle: &ConfirmationThrottle) -> StoreResult<SignupOutcome> {
        let outcomes = self.signup_batch(std::slice::from_ref(signup), throttle).await?;
        outcomes.into_iter().next().ok_or_else(|| super::StoreError::Corrupt("a batch of one gave no outcome".into()))
    }

    /// What a confirmation link would do, without doing it (for the GET page).
    async fn confirmation_state(&self, token: &TokenHash, now: DateTime<Utc>) -> StoreResult<TokenState>;

    /// Confirms the subscription the token belongs to, if it can.
    async fn confirm(&self, token: &TokenHash, confirmation: &ConfirmationRecord) -> StoreResult<TokenState>;

    /// Unsubscribes the holder of the token. `false` when the token matches
    /// no subscription that is still active; callers answer the same anyway.
    async fn unsubscribe(&self, token: &TokenHash, now: DateTime<Utc>) -> StoreResult<bool>;

    async fn list_subscribers(&self, filter: &SubscriberFilter, page: PageRequest) -> StoreResult<Page<Subscriber>>;

    /// Subscribers with an id above `after`, in id order: for streaming exports.
    async fn subscribers_after(&self, after: i64, limit: u32) -> StoreResult<Vec<Subscriber>>;

    /// Erases a subscriber's personal data, keeping only the hash of the
    /// address on the suppression list. `false` if there was no such subscriber.
    async fn erase_subscriber(&self, subscriber_id: i64, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Inserts a batch of imported subscribers in one transaction. Known and
    /// suppressed addresses are skipped, never changed.
    async fn import_subscribers(&self, batch: &[ImportedSubscriber], now: DateTime<Utc>) -> StoreResult<ImportCounts>;
}

/// A valid signup with everything needed to store it.
#[derive(Debug)]
pub struct SignupRecord {
    pub subscriber: NewSubscriber,
    pub consent: Consent,
    pub now: DateTime<Utc>,
    /// Used only if the signup starts a new subscription.
    pub unsubscribe_key: UnsubscribeKey,
    /// Used only if a confirmation email is to be sent.
    pub confirmation_token: Token,
    pub confirmation_expires_at: DateTime<Utc>,
}

/// Where a consent came from.
#[derive(Debug, Clone)]
pub struct Consent {
    pub source: ConsentSource,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The page the signup form was on (the `Referer`), if known.
    pub page: Option<String>,
}

impl Consent {
    /// Keeps what a browser sent, bounded: these are untrusted headers.
    pub fn new(source: ConsentSource, ip: Option<String>, user_agent: Option<&str>, page: Option<&str>) -> Consent {
        Consent {
            source,
            ip,
            user_agent: user_agent.map(|v| clean_header(v, 512)),
            page: page.map(|v| clean_header(v, 2048)),
        }
    }
}

fn clean_header(value: &str, max_chars: usize) -> String {
    value.chars().filter(|c| !c.is_control()).take(max_chars).collect()
}

/// The unsubscribe credential of one subscription: the salt the token is
/// derived from, and the hash the token is looked up by.
#[derive(Debug, Clone)]
pub struct UnsubscribeKey {
    pub salt: [u8; 16],
    pub token_hash: TokenHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignupOutcome {
    pub plan: SignupPlan,
    /// Whether a confirmation email was queued (the worker can be woken).
    pub confirmation_queued: bool,
}

#[derive(Debug, Clone)]
pub struct ConfirmationRecord {
    pub now: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What a confirmation token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// No such token (or its subscriber was erased).
    Unknown,
    /// Issued for an opt-in that has since ended (unsubscribed, or a newer signup).
    Used,
    Expired,
    /// The subscription is pending and the token can confirm it.
    Confirmable,
    /// The subscription is confirmed (by this token or a sibling of the same opt-in).
    Confirmed,
}

/// Classifies a stored token. Shared by both backends.
pub fn token_state(
    status: SubscriptionStatus,
    token_created_at: DateTime<Utc>,
    token_expires_at: DateTime<Utc>,
    opt_in_started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> TokenState {
    if token_created_at < opt_in_started_at {
        return TokenState::Used;
    }
    match status {
        SubscriptionStatus::Unsubscribed => TokenState::Used,
        SubscriptionStatus::Confirmed => TokenState::Confirmed,
        SubscriptionStatus::Pending if token_expires_at <= now => TokenState::Expired,
        SubscriptionStatus::Pending => TokenState::Confirmable,
    }
}

/// A subscriber as the admin API and exports show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Subscriber {
    pub id: i64,
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    #[schema(required, max_length = 100)]
    pub name: Option<String>,
    pub status: SubscriptionStatus,
    #[schema(schema_with = crate::routes::openapi::topic_list)]
    pub topics: Vec<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required)]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[schema(required)]
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub consent: ConsentView,
}

/// How and where consent was given, and how it was confirmed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    /// `form`, `api` or `import`.
    pub source: String,
    pub at: DateTime<Utc>,
    #[schema(required)]
    pub ip: Option<String>,
    #[schema(required)]
    pub user_agent: Option<String>,
    #[schema(required)]
    pub page: Option<String>,
    #[schema(required)]
    pub confirmed_via: Option<String>,
    #[schema(required)]
    pub confirmed_ip: Option<String>,
    #[schema(required)]
    pub confirmed_user_agent: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SubscriberFilter {
    pub status: Option<SubscriptionStatus>,
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }
}

/// One page of an admin list: the same shape for every list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[schema(value_type = i64, minimum = 1, maximum = 4294967295_u64)]
    pub page: u32,
    #[schema(value_type = i64, minimum = 1, maximum = 500)]
    pub per_page: u32,
    #[schema(minimum = 0)]
    pub total: i64,
}

/// One valid row of a subscriber import.
#[derive(Debug, Clone)]
pub struct ImportedSubscriber {
    pub email: SubscriberEmail,
    pub name: Option<SubscriberName>,
    pub status: SubscriptionStatus,
    pub topics: Topics,
    pub unsubscribe_key: UnsubscribeKey,
    /// For pending rows: the confirmation email to queue.
    pub confirmation_token: Token,
    pub confirmation_expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub imported: u64,
    pub already_known: u64,
    pub suppressed: u64,
}

impl std::ops::AddAssign for ImportCounts {
    fn add_assign(&mut self, other: ImportCounts) {
        self.imported += other.imported;
        self.already_known += other.already_known;
        self.suppressed += other.suppressed;
    }
}

/// SHA-256 (hex) of the lower-cased address: what the suppression list keeps.
pub fn suppression_hash(email: &SubscriberEmail) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(email.canonical().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn token_states_follow_the_subscription() {
        let opt_in = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        let expires = opt_in + TimeDelta::hours(48);
        let state = |status, created, now| token_state(status, created, expires, opt_in, now);
        let soon = opt_in + TimeDelta::hours(1);
        let late = opt_in + TimeDelta::hours(49);
        assert_eq!(state(SubscriptionStatus::Pending, opt_in, soon), TokenState::Confirmable);
        assert_eq!(state(SubscriptionStatus::Pending, opt_in, late), TokenState::Expired);
        assert_eq!(state(SubscriptionStatus::Confirmed, opt_in, late), TokenState::Confirmed);
        assert_eq!(state(SubscriptionStatus::Unsubscribed, opt_in, soon), TokenState::Used);
        let before_opt_in = opt_in - TimeDelta::days(3);
        assert_eq!(state(SubscriptionStatus::Pending, before_opt_in, soon), TokenState::Used);
    }

    #[test]
    fn suppression_hash_ignores_case() {
        let a = SubscriberEmail::parse("Jane@Example.org").unwrap();
        let b = SubscriberEmail::parse("jane@example.org").unwrap();
        assert_eq!(suppression_hash(&a), suppression_hash(&b));
        assert_eq!(suppression_hash(&a).len(), 64);
    }
}
