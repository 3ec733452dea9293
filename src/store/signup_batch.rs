//! What a batch of signups does, decided before any SQL runs: pure, and the
//! same for both backends, which then write it with a few set-based
//! statements in one transaction.
//!
//! Signups are applied in batches because a commit is the expensive part:
//! SQLite has one writer, and Postgres flushes its WAL at every commit. A
//! batch of 200 signups costs about what one did.

use std::collections::HashMap;

use super::model::{SignupOutcome, SignupRecord};
use crate::domain::{ConfirmationThrottle, SignupPlan, SubscriptionStatus, ThrottleState, plan_signup};

/// An address already on file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Existing {
    pub subscriber_id: i64,
    pub status: SubscriptionStatus,
    pub throttle: ThrottleState,
}

/// A subscriber: on file, or the n-th of this batch's new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Existing(i64),
    New(usize),
}

#[derive(Debug)]
pub(super) struct Create<'a> {
    pub record: &'a SignupRecord,
    pub throttle: ThrottleState,
}

/// New name and topics for a pending subscription; new throttle state when
/// a confirmation goes out with it.
#[derive(Debug)]
pub(super) struct Refresh<'a> {
    pub target: Target,
    pub record: &'a SignupRecord,
    pub throttle: Option<ThrottleState>,
}

/// A new opt-in for an unsubscribed address.
#[derive(Debug)]
pub(super) struct Restart<'a> {
    pub subscriber_id: i64,
    pub record: &'a SignupRecord,
    pub throttle: Option<ThrottleState>,
}

/// A confirmation token to store and an email to queue.
#[derive(Debug)]
pub(super) struct Confirmation<'a> {
    pub target: Target,
    pub record: &'a SignupRecord,
}

/// The writes, in the order they must run: creates, restarts, refreshes
/// (which may touch rows created or restarted earlier in the batch), then
/// confirmations.
#[derive(Debug, Default)]
pub(super) struct BatchPlan<'a> {
    pub outcomes: Vec<SignupOutcome>,
    pub creates: Vec<Create<'a>>,
    pub restarts: Vec<Restart<'a>>,
    pub refreshes: Vec<Refresh<'a>>,
    pub confirmations: Vec<Confirmation<'a>>,
}

/// Decides every signup of the batch in order, as if they came one by one:
/// a second signup of an address in the same batch sees the first.
pub(super) fn plan<'a>(
    signups: &'a [SignupRecord],
    mut existing: HashMap<String, Existing>,
    throttle: &ConfirmationThrottle,
) -> BatchPlan<'a> {
    let mut batch = BatchPlan::default();
    // What the batch has done so far to each address.
    let mut targets: HashMap<String, Target> =
        existing.iter().map(|(key, e)| (key.clone(), Target::Existing(e.subscriber_id))).collect();
    for record in signups {
        let key = record.subscriber.email.canonical();
        let known = existing.get(&key).copied();
        let on_file = known.map(|e| (e.status, e.throttle));
        let decision = plan_signup(on_file.as_ref().map(|(status, state)| (*status, state)), throttle, record.now);
        let sent = |state: &ThrottleState| throttle.record_sent(state, record.now);
        let confirmation_queued = match decision {
            SignupPlan::Create => {
                let state = sent(&ThrottleState::default());
                let target = Target::New(batch.creates.len());
                batch.creates.push(Create { record, throttle: state });
                targets.insert(key.clone(), target);
                existing.insert(
                    key.clone(),
                    Existing { subscriber_id: -1, status: SubscriptionStatus::Pending, throttle: state },
                );
                batch.confirmations.push(Confirmation { target, record });
                true
            }
            SignupPlan::RefreshPending { send_confirmation } => {
                let (Some(known), Some(&target)) = (known, targets.get(&key)) else {
                    unreachable!("pending implies known")
                };
                let state = send_confirmation.then(|| sent(&known.throttle));
                batch.refreshes.push(Refresh { target, record, throttle: state });
                if let Some(state) = state {
                    existing.insert(key.clone(), Existing { throttle: state, ..known });
                    batch.confirmations.push(Confirmation { target, record });
                }
                send_confirmation
            }
            SignupPlan::Restart { send_confirmation } => {
                let Some(known) = known else { unreachable!("unsubscribed implies known") };
                let state = send_confirmation.then(|| sent(&known.throttle));
                batch.restarts.push(Restart { subscriber_id: known.subscriber_id, record, throttle: state });
                let restarted = Existing {
                    status: SubscriptionStatus::Pending,
                    throttle: state.unwrap_or(known.throttle),
                    ..known
                };
                existing.insert(key.clone(), restarted);
                if send_confirmation {
                    batch.confirmations.push(Confirmation { target: Target::Existing(known.subscriber_id), record });
                }
                send_confirmation
            }
            SignupPlan::Ignore => false,
        };
        batch.outcomes.push(SignupOutcome { plan: decision, confirmation_queued });
    }
    batch
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;
    use crate::domain::{ConsentSource, NewSubscriber, SignupInput, Token};
    use crate::store::model::{Consent, UnsubscribeKey};

    const THROTTLE: ConfirmationThrottle =
        ConfirmationThrottle { resend_interval: Duration::from_secs(300), max_per_day: 3 };

    fn record(email: &str) -> SignupRecord {
        let now = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        SignupRecord {
            subscriber: NewSubscriber::try_from(SignupInput { email: Some(email.into()), ..Default::default() })
                .unwrap(),
            consent: Consent::new(ConsentSource::Api, None, None, None),
            now,
            unsubscribe_key: UnsubscribeKey { salt: [0; 16], token_hash: Token::generate().hash() },
            confirmation_token: Token::generate(),
            confirmation_expires_at: now,
        }
    }

    fn known(id: i64, status: SubscriptionStatus) -> Existing {
        Existing { subscriber_id: id, status, throttle: ThrottleState::default() }
    }

    #[test]
    fn repeats_of_a_new_address_in_one_batch_create_it_once_and_mail_it_once() {
        let signups = vec![record("a@example.org"), record("A@example.org"), record("b@example.org")];
        let batch = plan(&signups, HashMap::new(), &THROTTLE);
        assert_eq!(batch.creates.len(), 2);
        assert_eq!(batch.confirmations.len(), 2);
        assert_eq!(batch.refreshes.len(), 1);
        assert_eq!(batch.refreshes[0].target, Target::New(0));
        assert!(batch.refreshes[0].throttle.is_none());
        let queued: Vec<bool> = batch.outcomes.iter().map(|o| o.confirmation_queued).collect();
        assert_eq!(queued, vec![true, false, true]);
    }

    #[test]
    fn known_addresses_follow_their_status() {
        let signups = vec![record("pending@example.org"), record("confirmed@example.org"), record("gone@example.org")];
        let existing = HashMap::from([
            ("pending@example.org".to_owned(), known(1, SubscriptionStatus::Pending)),
            ("confirmed@example.org".to_owned(), known(2, SubscriptionStatus::Confirmed)),
            ("gone@example.org".to_owned(), known(3, SubscriptionStatus::Unsubscribed)),
        ]);
        let batch = plan(&signups, existing, &THROTTLE);
        assert!(batch.creates.is_empty());
        assert_eq!(batch.refreshes.len(), 1);
        assert_eq!(batch.restarts.len(), 1);
        assert_eq!(batch.restarts[0].subscriber_id, 3);
        let targets: Vec<Target> = batch.confirmations.iter().map(|c| c.target).collect();
        assert_eq!(targets, vec![Target::Existing(1), Target::Existing(3)]);
        assert_eq!(batch.outcomes[1].plan, SignupPlan::Ignore);
    }
}

/// The multi-row statements of a batch, shared by both backends (the SQL is
/// the same; only the placeholders `QueryBuilder` writes differ).
pub(super) mod statements {
    use chrono::{DateTime, Utc};
    use sqlx::{Database, Encode, QueryBuilder, Type};

    use super::{Confirmation, Create};

    /// `INSERT` of the new subscribers, `RETURNING subscriber_id, lower(email)`.
    pub fn insert_subscribers<'a, DB>(creates: &'a [Create<'a>]) -> QueryBuilder<DB>
    where
        DB: Database,
        <DB as Database>::Arguments: Default,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
        for<'t> String: Encode<'t, DB> + Type<DB>,
        for<'t> &'t [u8]: Encode<'t, DB> + Type<DB>,
        for<'t> DateTime<Utc>: Encode<'t, DB> + Type<DB>,
        for<'t> Option<DateTime<Utc>>: Encode<'t, DB> + Type<DB>,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
    {
        let mut query = QueryBuilder::new(
            "INSERT INTO subscribers (email, name, status, topics, topic_keys, unsubscribe_salt, \
             unsubscribe_token_hash, consent_at, consent_source, consent_ip, consent_user_agent, consent_page, \
             last_confirmation_at, confirmation_window_started_at, confirmations_in_window, created_at, updated_at) ",
        );
        query.push_values(creates, |mut row, create| {
            let record = create.record;
            let new = &record.subscriber;
            row.push_bind(new.email.as_str())
                .push_bind(new.name.as_ref().map(|n| n.as_str()))
                .push_bind("pending")
                .push_bind(new.topics.to_json())
                .push_bind(new.topics.keys_json())
                .push_bind(&record.unsubscribe_key.salt[..])
                .push_bind(record.unsubscribe_key.token_hash.as_bytes())
                .push_bind(record.now)
                .push_bind(record.consent.source.as_str())
                .push_bind(record.consent.ip.as_deref())
                .push_bind(record.consent.user_agent.as_deref())
                .push_bind(record.consent.page.as_deref())
                .push_bind(create.throttle.last_sent_at)
                .push_bind(create.throttle.window_started_at)
                .push_bind(i64::from(create.throttle.sent_in_window))
                .push_bind(record.now)
                .push_bind(record.now);
        });
        query.push(" RETURNING subscriber_id, lower(email)");
        query
    }

    /// `INSERT` of the confirmation tokens; `ids[i]` is the subscriber of
    /// `confirmations[i]`.
    pub fn insert_tokens<'a, DB>(confirmations: &'a [Confirmation<'a>], ids: &[i64]) -> QueryBuilder<DB>
    where
        DB: Database,
        <DB as Database>::Arguments: Default,
        for<'t> Vec<u8>: Encode<'t, DB> + Type<DB>,
        for<'t> DateTime<Utc>: Encode<'t, DB> + Type<DB>,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
    {
        let mut query =
            QueryBuilder::new("INSERT INTO confirmation_tokens (token_hash, subscriber_id, created_at, expires_at) ");
        query.push_values(confirmations.iter().zip(ids), |mut row, (confirmation, id)| {
            row.push_bind(confirmation.record.confirmation_token.hash().to_vec())
                .push_bind(*id)
                .push_bind(confirmation.record.now)
                .push_bind(confirmation.record.confirmation_expires_at);
        });
        query
    }

    /// `INSERT` of the confirmation emails into the queue.
    pub fn insert_deliveries<'a, DB>(confirmations: &'a [Confirmation<'a>], ids: &[i64]) -> QueryBuilder<DB>
    where
        DB: Database,
        <DB as Database>::Arguments: Default,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> DateTime<Utc>: Encode<'t, DB> + Type<DB>,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
    {
        let mut query = QueryBuilder::new(
            "INSERT INTO deliveries (kind, subscriber_id, payload, status, priority, available_at, created_at, updated_at) ",
        );
        query.push_values(confirmations.iter().zip(ids), |mut row, (confirmation, id)| {
            let now = confirmation.record.now;
            row.push_bind("confirmation")
                .push_bind(*id)
                .push_bind(confirmation.record.confirmation_token.as_str())
                .push_bind("queued")
                .push_bind(0_i64)
                .push_bind(now)
                .push_bind(now)
                .push_bind(now);
        });
        query
    }
}
