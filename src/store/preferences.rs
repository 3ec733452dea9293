//! What a reader can change about their own subscription, reached through
//! the "manage your subscription" link in every digest.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use super::rows::parse_status;
use crate::domain::{SubscriberName, SubscriptionStatus, TokenHash, Topics};

/// Looked up by the subscription's unsubscribe token hash: the same
/// credential as the unsubscribe link (see `routes::preferences`).
#[async_trait]
pub trait PreferenceStore {
    /// The subscription the token belongs to, whatever its status.
    async fn preferences(&self, token: &TokenHash) -> StoreResult<Option<Preferences>>;

    /// Sets the name and topics in one statement, only while the subscription
    /// is confirmed. `false` when it is not (or the token matches nothing).
    async fn update_preferences(
        &self,
        token: &TokenHash,
        update: &Preferences,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub status: SubscriptionStatus,
    pub name: Option<SubscriberName>,
    pub topics: Topics,
}

/// The columns both backends select: `status, name, topics`.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PreferencesRow {
    status: String,
    name: Option<String>,
    topics: String,
}

impl PreferencesRow {
    pub fn into_preferences(self) -> StoreResult<Preferences> {
        Ok(Preferences {
            status: parse_status(&self.status)?,
            name: self.name.map(SubscriberName::from_trusted),
            topics: Topics::from_json(&self.topics),
        })
    }
}
