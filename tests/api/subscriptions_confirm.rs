//! `/subscriptions/confirm?token=…`.

use base64::Engine;
use chrono::{TimeDelta, Utc};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    get_shows_a_confirm_button_and_changes_nothing,
    post_confirms_and_confirming_again_shows_the_same_success,
    a_missing_token_gets_400_and_an_unknown_or_malformed_one_404,
    an_expired_token_gets_410_and_confirms_nothing,
    a_token_from_an_ended_subscription_gets_410,
    the_token_hash_read_from_the_database_does_not_confirm,
    tokens_are_stored_only_as_hashes_and_the_plaintext_leaves_with_the_email,
    confirmation_records_when_and_how,
);

const STATUS: &str = "SELECT status FROM subscribers";

async fn pending_with_link(app: &TestApp, email: &str) -> String {
    assert_eq!(app.signup(email).await.status(), 202);
    app.smtp.wait_for_message_to(email).await.confirmation_link()
}

async fn get_shows_a_confirm_button_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = pending_with_link(&app, "ann@example.org").await;
    for _ in 0..3 {
        let page = app.client.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains(r#"method="post""#) && html.contains(">Confirm</button>"));
        let token = link.split("token=").nth(1).unwrap();
        assert!(html.contains(&format!(r#"action="/subscriptions/confirm?token={token}""#)));
    }
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("pending"), "a link scanner's GET confirms nothing");
}

async fn post_confirms_and_confirming_again_shows_the_same_success(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = pending_with_link(&app, "ann@example.org").await;
    let first = app.client.post(&link).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let first_html = first.text().await.unwrap();
    assert!(first_html.contains("You are subscribed"));
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("confirmed"));
    let again = app.client.post(&link).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.unwrap(), first_html);
}

async fn a_missing_token_gets_400_and_an_unknown_or_malformed_one_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    pending_with_link(&app, "ann@example.org").await;
    let unknown = format!("/subscriptions/confirm?token={}", "A".repeat(43));
    for (path, status) in [
        ("/subscriptions/confirm", 400),
        ("/subscriptions/confirm?token=", 404),
        ("/subscriptions/confirm?token=short", 404),
        (unknown.as_str(), 404),
        ("/subscriptions/confirm?token=%00%FF'%20OR%201=1", 404),
    ] {
        for response in [app.get(path).await, app.client.post(app.url(path)).send().await.unwrap()] {
            assert_eq!(response.status(), status, "{path}");
            let html = response.text().await.unwrap();
            assert!(html.contains(r#"href="/">Sign up again</a>"#), "{path}: the page offers to sign up again");
        }
    }
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("pending"));
}

async fn an_expired_token_gets_410_and_confirms_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = pending_with_link(&app, "ann@example.org").await;
    app.db.execute_at("UPDATE confirmation_tokens SET expires_at = $1", Utc::now() - TimeDelta::minutes(1)).await;
    for response in [app.client.get(&link).send().await.unwrap(), app.client.post(&link).send().await.unwrap()] {
        assert_eq!(response.status(), 410);
        assert!(response.text().await.unwrap().contains("expired"));
    }
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("pending"));
}

async fn a_token_from_an_ended_subscription_gets_410(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = app.confirmed_subscriber("ann@example.org").await;
    let unsubscribe = app.unsubscribe_link("ann@example.org").await;
    app.client.post(&unsubscribe).send().await.unwrap();
    let response = app.client.post(&link).send().await.unwrap();
    assert_eq!(response.status(), 410);
    assert!(response.text().await.unwrap().contains("already been used"));
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("unsubscribed"), "an old link cannot re-subscribe anyone");
}

async fn the_token_hash_read_from_the_database_does_not_confirm(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    pending_with_link(&app, "ann@example.org").await;
    let hash = app.db.bytes("SELECT token_hash FROM confirmation_tokens WHERE $1 = $1", "").await.unwrap();
    let encodings = [
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash),
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ];
    for stolen in encodings {
        let response =
            app.client.post(app.url(&format!("/subscriptions/confirm?token={stolen}"))).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("pending"));
}

async fn tokens_are_stored_only_as_hashes_and_the_plaintext_leaves_with_the_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = pending_with_link(&app, "ann@example.org").await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE payload IS NOT NULL").await, 0);
    let stored = app.db.bytes("SELECT token_hash FROM confirmation_tokens WHERE $1 = $1", "").await.unwrap();
    assert_eq!(stored.len(), 32, "a SHA-256");
    assert!(!String::from_utf8_lossy(&stored).contains(&token));
    let unsubscribe_hash =
        app.db.bytes("SELECT unsubscribe_token_hash FROM subscribers WHERE $1 = $1", "").await.unwrap();
    assert_eq!(unsubscribe_hash.len(), 32);
}

async fn confirmation_records_when_and_how(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = pending_with_link(&app, "ann@example.org").await;
    app.client.post(&link).header("user-agent", "Test Browser/1.0").send().await.unwrap();
    assert_eq!(app.db.text("SELECT confirmed_via FROM subscribers").await.as_deref(), Some("link"));
    assert_eq!(app.db.text("SELECT confirmed_ip FROM subscribers").await.as_deref(), Some("127.0.0.1"));
    assert_eq!(app.db.text("SELECT confirmed_user_agent FROM subscribers").await.as_deref(), Some("Test Browser/1.0"));
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE confirmed_at IS NOT NULL").await, 1);
}
