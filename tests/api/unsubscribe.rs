//! `/unsubscribe?token=…`, including RFC 8058 one-click.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    get_shows_an_unsubscribe_button_and_changes_nothing,
    post_unsubscribes_at_once_and_repeating_is_harmless,
    one_click_post_without_cookies_unsubscribes,
    invalid_tokens_get_the_same_answer_as_valid_ones,
);

const STATUS: &str = "SELECT status FROM subscribers";

async fn get_shows_an_unsubscribe_button_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let link = app.unsubscribe_link("ann@example.org").await;
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"method="post""#) && html.contains(">Unsubscribe</button>"));
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("confirmed"));
}

async fn post_unsubscribes_at_once_and_repeating_is_harmless(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let link = app.unsubscribe_link("ann@example.org").await;
    for _ in 0..2 {
        let response = app.client.post(&link).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.text().await.unwrap().contains("You are unsubscribed"));
        assert_eq!(app.db.text(STATUS).await.as_deref(), Some("unsubscribed"));
    }
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE unsubscribed_at IS NOT NULL").await, 1);
}

async fn one_click_post_without_cookies_unsubscribes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let link = app.unsubscribe_link("ann@example.org").await;
    // What a mailbox provider sends (RFC 8058): no cookies, no CSRF token,
    // possibly from another origin.
    let response = app
        .client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://mail.provider.example")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.db.text(STATUS).await.as_deref(), Some("unsubscribed"));
}

async fn invalid_tokens_get_the_same_answer_as_valid_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let valid = app.client.post(app.unsubscribe_link("ann@example.org").await).send().await.unwrap();
    let valid_html = valid.text().await.unwrap();
    for path in [
        "/unsubscribe?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/unsubscribe?token=nonsense",
        "/unsubscribe",
    ] {
        let response = app.client.post(app.url(path)).body("List-Unsubscribe=One-Click").send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.unwrap(), valid_html, "{path}");
    }
}
