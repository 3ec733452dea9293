//! Relay faults (F3, F4, F7, F8): a relay closing with 421, dropping the
//! connection after the message without a reply, never greeting, and
//! answering after random pauses. Each is retried on a fresh connection;
//! a copy is sent twice only when the relay may already have taken it.

use std::collections::HashMap;
use std::time::Duration;

use crate::delivery::eventually;
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;
use crate::smtp::Behaviour;

on_both_backends!(
    a_relay_closing_with_421_is_retried_on_a_new_connection,
    a_message_dropped_without_a_reply_is_sent_again_and_the_copy_counted,
    a_relay_that_never_greets_is_timed_out_and_retried,
    a_thousand_sends_with_random_pauses_pair_every_reply_with_its_message,
);

async fn a_relay_closing_with_421_is_retried_on_a_new_connection(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.smtp.set_behaviour(Behaviour::CloseAtMail);
    app.signup("ann@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE status = 'queued' AND last_error LIKE '%421%'").await;

    app.smtp.set_behaviour(Behaviour::Accept);
    app.smtp.wait_for_message_to("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts >= 2").await, 1);
}

async fn a_message_dropped_without_a_reply_is_sent_again_and_the_copy_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.smtp.set_behaviour(Behaviour::DropAfterData);
    app.signup("ann@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE status = 'queued' AND last_error IS NOT NULL").await;

    app.smtp.set_behaviour(Behaviour::Accept);
    app.smtp.wait_for_message_to("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages_to("ann@example.org").len(), 1);
    // Every copy the relay read but never acknowledged is one failed attempt:
    // the duplicates are bounded by, and recorded as, the attempts.
    let dropped = app.smtp.dropped().len();
    assert!(dropped >= 1);
    let attempts = app.db.count("SELECT attempts FROM deliveries WHERE status = 'sent'").await;
    assert_eq!(attempts, i64::try_from(dropped).unwrap() + 1);
}

async fn a_relay_that_never_greets_is_timed_out_and_retried(backend: Backend) {
    let app = TestApp::builder(backend).env("SMTP_TIMEOUT", "1s").spawn().await;
    app.smtp.set_behaviour(Behaviour::NeverGreet);
    app.signup("ann@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE status = 'queued' AND last_error IS NOT NULL").await;
    assert!(app.smtp.messages().is_empty());

    app.smtp.set_behaviour(Behaviour::Accept);
    app.smtp.wait_for_message_to("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sent'").await, 1);
}

async fn a_thousand_sends_with_random_pauses_pair_every_reply_with_its_message(backend: Backend) {
    const READERS: usize = 1000;
    let app = TestApp::builder(backend).env("SMTP_TIMEOUT", "1s").env("SMTP_POOL_SIZE", "8").spawn().await;
    app.smtp.set_behaviour(Behaviour::RandomDelays {
        max: Duration::from_millis(30),
        slow: Duration::from_millis(1500),
        slow_one_in: 40,
    });
    let readers = app.add_confirmed_subscribers(READERS).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.send_digest().await;
    let all_sent = async {
        while app.db.count("SELECT count(*) FROM deliveries WHERE kind = 'digest' AND status = 'sent'").await
            < i64::try_from(READERS).unwrap()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all_sent).await.expect("every reader's digest is sent");

    let messages = app.smtp.messages();
    let mut copies: HashMap<String, usize> = HashMap::new();
    for message in &messages {
        let [recipient] = message.recipients.as_slice() else { panic!("one recipient per message") };
        let to = message.header("To").unwrap();
        assert!(to.contains(recipient.as_str()), "the message to {recipient} carries To: {to}");
        *copies.entry(recipient.clone()).or_default() += 1;
    }
    // Marked sent only after the relay really took that reader's message.
    for reader in &readers {
        assert!(copies.get(reader).is_some_and(|n| *n >= 1), "{reader} is marked sent but the relay never took it");
    }
    assert!(app.smtp.late_answers() > 0, "some sends must have timed out for this test to mean anything");
    assert_eq!(app.smtp.commands_after_late_answer(), 0, "a timed-out connection was used again");
    // A copy is repeated only after an attempt that failed (a time-out).
    let failed_attempts =
        app.db.count("SELECT CAST(sum(attempts) - count(*) AS BIGINT) FROM deliveries WHERE kind = 'digest'").await;
    let duplicates = i64::try_from(messages.len() - READERS).unwrap();
    assert!(duplicates <= failed_attempts, "{duplicates} duplicates from {failed_attempts} failed attempts");
}
