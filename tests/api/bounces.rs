//! Hard bounces (F2): a relay saying "no such user" fails the delivery at
//! once and counts against the subscriber, who is unsubscribed and
//! suppressed at `HARD_BOUNCE_LIMIT`; refusals of the content do not count.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;
use crate::smtp::Behaviour;

on_both_backends!(
    an_address_refused_as_unknown_twice_is_unsubscribed_and_suppressed,
    a_refused_message_is_not_a_bounce_of_its_address,
);

/// Publishes one new publication, sends the digest and waits until it is done.
async fn digest_round(app: &TestApp, n: usize) -> serde_json::Value {
    app.publish(publication(&format!("https://example.org/{n}"), &format!("Paper {n}"), None)).await;
    let created = app.send_digest().await;
    app.wait_until_queue_is_empty().await;
    created
}

async fn an_address_refused_as_unknown_twice_is_unsubscribed_and_suppressed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_confirmed_subscribers(2).await;
    app.smtp.refuse_recipient("reader0@example.org", "550 5.1.1 <reader0@example.org>: No such user");

    digest_round(&app, 1).await;
    let status = "SELECT status FROM subscribers WHERE email = 'reader0@example.org'";
    assert_eq!(app.db.text(status).await.as_deref(), Some("confirmed"), "one bounce is not enough");
    assert_eq!(app.db.count("SELECT hard_bounces FROM subscribers WHERE email = 'reader0@example.org'").await, 1);
    assert_eq!(app.db.count("SELECT attempts FROM deliveries WHERE status = 'failed'").await, 1, "never retried");

    digest_round(&app, 2).await;
    assert_eq!(app.db.text(status).await.as_deref(), Some("unsubscribed"));
    assert_eq!(app.db.count("SELECT count(*) FROM suppressions WHERE reason = 'bounced'").await, 1);

    let third = digest_round(&app, 3).await;
    assert_eq!(third["recipients"], 1, "no more digests to a dead address");
    assert_eq!(app.smtp.messages_to("reader1@example.org").len(), 3);
}

async fn a_refused_message_is_not_a_bounce_of_its_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_confirmed_subscribers(1).await;
    app.smtp.set_behaviour(Behaviour::RejectData("550 5.7.1 Message rejected as spam".into()));
    digest_round(&app, 1).await;
    digest_round(&app, 2).await;
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'failed'").await, 2);
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("confirmed"));
    assert_eq!(app.db.count("SELECT hard_bounces FROM subscribers").await, 0);
}
