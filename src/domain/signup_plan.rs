//! What a signup does to an address we may already know. Pure, so both
//! storage backends apply exactly the same rules.
//!
//! The answer to the visitor is the same in every case (no enumeration); only
//! what is stored and sent differs.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::SubscriptionStatus;

/// Limits on confirmation emails to one address, so the signup form cannot be
/// used to mail-bomb a stranger.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmationThrottle {
    pub resend_interval: Duration,
    pub max_per_day: u32,
}

/// What we remember of the confirmations already sent to an address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleState {
    pub last_sent_at: Option<DateTime<Utc>>,
    pub window_started_at: Option<DateTime<Utc>>,
    pub sent_in_window: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupPlan {
    /// A new address: store it as pending and send a confirmation.
    Create,
    /// Still pending: take the new name and topics; send the confirmation
    /// again only if the throttle allows.
    RefreshPending { send_confirmation: bool },
    /// Already confirmed: change nothing, send nothing.
    Ignore,
    /// Unsubscribed earlier: start a new double opt-in with a new consent.
    Restart { send_confirmation: bool },
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl ConfirmationThrottle {
    /// Whether another confirmation may go to this address now.
    pub fn allows_resend(&self, state: &ThrottleState, now: DateTime<Utc>) -> bool {
        let interval_passed = state.last_sent_at.is_none_or(|last| elapsed(last, now) >= self.resend_interval);
        interval_passed && self.allows_today(state, now)
    }

    fn allows_today(&self, state: &ThrottleState, now: DateTime<Utc>) -> bool {
        match state.window_started_at {
            Some(start) if elapsed(start, now) < DAY => state.sent_in_window < self.max_per_day,
            _ => self.max_per_day > 0,
        }
    }

    /// The state after one more confirmation is sent at `now`.
    pub fn record_sent(&self, state: &ThrottleState, now: DateTime<Utc>) -> ThrottleState {
        match state.window_started_at {
            Some(start) if elapsed(start, now) < DAY => ThrottleState {
                last_sent_at: Some(now),
                window_started_at: Some(start),
                sent_in_window: state.sent_in_window + 1,
            },
            _ => ThrottleState { last_sent_at: Some(now), window_started_at: Some(now), sent_in_window: 1 },
        }
    }
}

/// Decides what a signup for an address in `existing` state does.
pub fn plan_signup(
    existing: Option<(SubscriptionStatus, &ThrottleState)>,
    throttle: &ConfirmationThrottle,
    now: DateTime<Utc>,
) -> SignupPlan {
    match existing {
        None => SignupPlan::Create,
        Some((SubscriptionStatus::Pending, state)) => {
            SignupPlan::RefreshPending { send_confirmation: throttle.allows_resend(state, now) }
        }
        Some((SubscriptionStatus::Confirmed, _)) => SignupPlan::Ignore,
        // Only the daily cap applies: the reader chose to come back.
        Some((SubscriptionStatus::Unsubscribed, state)) => {
            SignupPlan::Restart { send_confirmation: throttle.allows_today(state, now) }
        }
    }
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    const THROTTLE: ConfirmationThrottle =
        ConfirmationThrottle { resend_interval: Duration::from_secs(300), max_per_day: 3 };

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000) + TimeDelta::minutes(minutes)
    }

    #[test]
    fn a_new_address_is_created_and_a_confirmed_one_ignored() {
        assert_eq!(plan_signup(None, &THROTTLE, at(0)), SignupPlan::Create);
        let state = THROTTLE.record_sent(&ThrottleState::default(), at(0));
        assert_eq!(plan_signup(Some((SubscriptionStatus::Confirmed, &state)), &THROTTLE, at(60)), SignupPlan::Ignore);
    }

    #[test]
    fn a_pending_address_is_resent_at_most_once_per_interval() {
        let state = THROTTLE.record_sent(&ThrottleState::default(), at(0));
        let plan = |m| plan_signup(Some((SubscriptionStatus::Pending, &state)), &THROTTLE, at(m));
        assert_eq!(plan(1), SignupPlan::RefreshPending { send_confirmation: false });
        assert_eq!(plan(4), SignupPlan::RefreshPending { send_confirmation: false });
        assert_eq!(plan(5), SignupPlan::RefreshPending { send_confirmation: true });
    }

    #[test]
    fn at_most_three_confirmations_go_out_in_a_day() {
        let mut state = ThrottleState::default();
        let mut sent_at = Vec::new();
        for minute in (0..24 * 60).step_by(10) {
            if THROTTLE.allows_resend(&state, at(minute)) {
                state = THROTTLE.record_sent(&state, at(minute));
                sent_at.push(minute);
            }
        }
        assert_eq!(sent_at, vec![0, 10, 20]);
        assert!(THROTTLE.allows_resend(&state, at(24 * 60)), "a new day allows a new confirmation");
    }

    #[test]
    fn an_unsubscribed_address_restarts_within_the_daily_cap() {
        let state = THROTTLE.record_sent(&ThrottleState::default(), at(0));
        let plan = plan_signup(Some((SubscriptionStatus::Unsubscribed, &state)), &THROTTLE, at(1));
        assert_eq!(plan, SignupPlan::Restart { send_confirmation: true });

        let mut exhausted = state;
        exhausted.sent_in_window = 3;
        let plan = plan_signup(Some((SubscriptionStatus::Unsubscribed, &exhausted)), &THROTTLE, at(2));
        assert_eq!(plan, SignupPlan::Restart { send_confirmation: false });
    }
}
