//! Abuse limits: the hourly cap on confirmation emails, and per-IP limits
//! behind trusted proxies.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;

on_both_backends!(
    confirmations_beyond_the_hourly_cap_wait_in_the_queue_while_digests_go_out,
    forwarded_for_is_believed_only_from_trusted_proxies,
);

async fn confirmations_beyond_the_hourly_cap_wait_in_the_queue_while_digests_go_out(backend: Backend) {
    let app = TestApp::builder(backend).env("CONFIRMATIONS_PER_HOUR", "3").spawn().await;
    app.add_confirmed_subscribers(2).await;
    for i in 0..5 {
        assert_eq!(app.signup(&format!("wave{i}@example.org")).await.status(), 202);
    }
    app.smtp.wait_for_messages(3).await;
    // The cap holds: the other two are kept, queued for later, not dropped.
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.send_digest().await;
    let messages = app.smtp.wait_for_messages(5).await;
    let confirmations = messages.iter().filter(|m| m.header("List-Unsubscribe").is_none()).count();
    assert_eq!(confirmations, 3, "two digests went out, and no more confirmations");
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE status = 'pending'").await, 5);
    assert_eq!(
        app.db.count("SELECT count(*) FROM deliveries WHERE kind = 'confirmation' AND status = 'queued'").await,
        2
    );
}

async fn forwarded_for_is_believed_only_from_trusted_proxies(backend: Backend) {
    let signup = |app: &TestApp, forwarded_for: &str, email: &str| {
        app.client
            .post(app.url("/subscriptions"))
            .header("x-forwarded-for", forwarded_for)
            .json(&serde_json::json!({ "email": email }))
            .send()
    };
    // Not behind a trusted proxy: the header is ignored; everyone shares 127.0.0.1's bucket.
    let direct = TestApp::builder(backend).env("SIGNUP_RATE_PER_IP", "2/minute").spawn().await;
    assert_eq!(signup(&direct, "198.51.100.1", "a@example.org").await.unwrap().status(), 202);
    assert_eq!(signup(&direct, "198.51.100.2", "b@example.org").await.unwrap().status(), 202);
    assert_eq!(signup(&direct, "198.51.100.3", "c@example.org").await.unwrap().status(), 429);

    // Behind a trusted proxy: each client has its own bucket, and spoofed
    // entries before the proxy's own are not believed.
    let proxied = TestApp::builder(backend)
        .env("SIGNUP_RATE_PER_IP", "2/minute")
        .env("TRUSTED_PROXIES", "127.0.0.1")
        .spawn()
        .await;
    for (i, client) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"].iter().enumerate() {
        let status = signup(&proxied, client, &format!("p{i}@example.org")).await.unwrap().status();
        assert_eq!(status, 202, "{client}");
    }
    assert_eq!(signup(&proxied, "203.0.113.9, 198.51.100.1", "x@example.org").await.unwrap().status(), 202);
    assert_eq!(signup(&proxied, "203.0.113.8, 198.51.100.1", "y@example.org").await.unwrap().status(), 429);
}
