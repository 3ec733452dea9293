//! The delivery queue and worker against a real SMTP server: outages,
//! temporary and permanent refusals, timeouts, the outbox, shutdown.

use std::time::Duration;

use bulletin::domain::{ConfirmationThrottle, ConsentSource, NewSubscriber, SignupInput, Token};
use bulletin::store::{Consent, SignupRecord};
use chrono::{TimeDelta, Utc};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::Behaviour;

on_both_backends!(
    a_signup_while_smtp_is_down_answers_at_once_and_is_delivered_when_it_is_back,
    a_temporary_refusal_is_retried_and_delivered_exactly_once,
    a_permanent_refusal_is_recorded_as_failed_with_the_reply_and_not_retried,
    a_refusal_after_the_message_data_is_recorded_as_failed,
    a_server_that_never_answers_is_timed_out_and_retried,
    a_connection_whose_send_timed_out_is_never_reused,
    mail_queued_by_another_process_is_picked_up_by_polling,
    without_smtp_url_emails_are_written_to_the_outbox_folder,
    shutdown_lets_in_flight_sends_finish_and_leaves_nothing_claimed,
);

/// Waits until the query (a count) is at least 1.
pub async fn eventually(app: &TestApp, sql: &'static str) {
    let reached = tokio::time::timeout(Duration::from_secs(20), async {
        while app.db.count(sql).await < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "timed out waiting for: {sql}");
}

async fn a_signup_while_smtp_is_down_answers_at_once_and_is_delivered_when_it_is_back(backend: Backend) {
    let app = TestApp::builder(backend).smtp_down().spawn().await;
    assert_eq!(app.signup("ann@example.org").await.status(), 202);
    eventually(
        &app,
        "SELECT count(*) FROM deliveries WHERE status = 'queued' AND attempts >= 1 AND last_error IS NOT NULL",
    )
    .await;
    assert!(app.smtp.messages().is_empty());

    app.smtp.restart().await;
    app.smtp.wait_for_message_to("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sent'").await, 1);
}

async fn a_temporary_refusal_is_retried_and_delivered_exactly_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.smtp.set_behaviour(Behaviour::RejectRecipient("450 4.2.1 Mailbox busy, try later".into()));
    app.signup("ann@example.org").await;
    app.smtp.wait_for_refusals(1).await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE last_error LIKE '%450%'").await;

    app.smtp.set_behaviour(Behaviour::Accept);
    app.smtp.wait_for_message_to("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts >= 2").await, 1);
}

async fn a_permanent_refusal_is_recorded_as_failed_with_the_reply_and_not_retried(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.smtp.set_behaviour(Behaviour::RejectRecipient("550 5.1.1 No such user here".into()));
    app.signup("nobody@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE status = 'failed'").await;
    let error = app.db.text("SELECT last_error FROM deliveries").await.unwrap();
    assert!(error.contains("550") && error.contains("No such user here"), "{error}");
    assert_eq!(app.db.count("SELECT attempts FROM deliveries").await, 1);
    // A new, unrelated delivery goes through while the failed one stays failed.
    app.smtp.set_behaviour(Behaviour::Accept);
    app.signup("ann@example.org").await;
    app.smtp.wait_for_message_to("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    assert!(app.smtp.messages_to("nobody@example.org").is_empty());
    assert_eq!(app.db.count("SELECT attempts FROM deliveries WHERE status = 'failed'").await, 1);
}

async fn a_refusal_after_the_message_data_is_recorded_as_failed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.smtp.set_behaviour(Behaviour::RejectData("554 5.7.1 Message rejected as spam".into()));
    app.signup("ann@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE status = 'failed' AND last_error LIKE '%554%'").await;
}

async fn a_server_that_never_answers_is_timed_out_and_retried(backend: Backend) {
    let app = TestApp::builder(backend).env("SMTP_TIMEOUT", "1s").spawn().await;
    app.smtp.set_behaviour(Behaviour::HangAfterData);
    app.signup("ann@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE status = 'queued' AND last_error LIKE '%no answer%'").await;

    app.smtp.set_behaviour(Behaviour::Accept);
    app.smtp.wait_for_message_to("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sent'").await, 1);
}

async fn a_connection_whose_send_timed_out_is_never_reused(backend: Backend) {
    let app = TestApp::builder(backend).env("SMTP_TIMEOUT", "1s").spawn().await;
    app.smtp.set_behaviour(Behaviour::AnswerLate(Duration::from_millis(1500)));
    app.signup("first@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE last_error LIKE '%no answer%'").await;
    app.smtp.set_behaviour(Behaviour::Accept);
    // The late "250" is now waiting on that connection: had it gone back to
    // the pool, the next message would read it as its own answer.
    app.smtp.wait_for_late_answers(1).await;
    for reader in ["a@example.org", "b@example.org", "c@example.org"] {
        app.signup(reader).await;
    }
    app.wait_until_queue_is_empty().await;
    for reader in ["a@example.org", "b@example.org", "c@example.org"] {
        assert_eq!(app.smtp.messages_to(reader).len(), 1, "{reader}");
    }
    // The first message was accepted late and sent again: the one allowed
    // duplicate, the message in flight when the timeout struck.
    assert_eq!(app.smtp.messages_to("first@example.org").len(), 2);
    assert_eq!(app.smtp.commands_after_late_answer(), 0, "the timed-out connection was used again");
}

async fn mail_queued_by_another_process_is_picked_up_by_polling(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Written straight to the store, as `bulletin subscribers import` in
    // another process would: no in-process wake-up reaches the worker.
    let now = bulletin::clock::now();
    let keys = app.keys.clone();
    let subscriber =
        NewSubscriber::try_from(SignupInput { email: Some("ann@example.org".into()), ..Default::default() }).unwrap();
    let record = SignupRecord {
        subscriber,
        consent: Consent::new(ConsentSource::Api, None, None, None),
        now,
        unsubscribe_key: keys.new_unsubscribe_key(),
        confirmation_token: Token::generate(),
        confirmation_expires_at: now + TimeDelta::hours(1),
    };
    let throttle = ConfirmationThrottle { resend_interval: Duration::from_secs(300), max_per_day: 3 };
    assert!(app.store.signup(&record, &throttle).await.unwrap().confirmation_queued);
    app.smtp.wait_for_message_to("ann@example.org").await;
}

async fn without_smtp_url_emails_are_written_to_the_outbox_folder(backend: Backend) {
    let outbox = tempfile::tempdir().unwrap();
    let app =
        TestApp::builder(backend).env("SMTP_URL", "").env("OUTBOX_DIR", outbox.path().to_str().unwrap()).spawn().await;
    app.signup("ann@example.org").await;
    app.wait_until_queue_is_empty().await;
    let files: Vec<_> = std::fs::read_dir(outbox.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read(&files[0]).unwrap();
    let email = crate::smtp::ReceivedEmail { mail_from: String::new(), recipients: vec![], raw };
    let link = email.confirmation_link();
    assert_eq!(app.client.post(&link).send().await.unwrap().status(), 200);
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("confirmed"));
}

async fn shutdown_lets_in_flight_sends_finish_and_leaves_nothing_claimed(backend: Backend) {
    let mut app = TestApp::builder(backend).env("SMTP_TIMEOUT", "1s").spawn().await;
    app.smtp.set_behaviour(Behaviour::HangAfterData);
    app.signup("ann@example.org").await;
    eventually(&app, "SELECT count(*) FROM deliveries WHERE status = 'sending'").await;
    let started = Utc::now();
    app.stop().await;
    assert!(Utc::now() - started < TimeDelta::seconds(15), "shutdown waited for the in-flight send, then stopped");
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sending'").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'queued'").await, 1, "kept for later");
}
