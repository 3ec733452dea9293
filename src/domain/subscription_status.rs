//! Where a subscription stands.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    /// Signed up, confirmation not yet clicked: never sent a digest.
    Pending,
    Confirmed,
    Unsubscribed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`: expected pending, confirmed or unsubscribed")]
pub struct UnknownStatus(pub String);

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Pending => "pending",
            SubscriptionStatus::Confirmed => "confirmed",
            SubscriptionStatus::Unsubscribed => "unsubscribed",
        }
    }
}

impl FromStr for SubscriptionStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(SubscriptionStatus::Pending),
            "confirmed" => Ok(SubscriptionStatus::Confirmed),
            "unsubscribed" => Ok(SubscriptionStatus::Unsubscribed),
            _ => Err(UnknownStatus(s.to_owned())),
        }
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_text_form() {
        for status in [SubscriptionStatus::Pending, SubscriptionStatus::Confirmed, SubscriptionStatus::Unsubscribed] {
            assert_eq!(status.as_str().parse::<SubscriptionStatus>(), Ok(status));
        }
        assert_eq!(" Confirmed ".parse::<SubscriptionStatus>(), Ok(SubscriptionStatus::Confirmed));
        assert!("active".parse::<SubscriptionStatus>().is_err());
    }
}
