//! `/preferences?token=…`: the reader's own page, linked from every digest.

use crate::digests::{digest_for, digests_to, reader_with_topics};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;

on_both_backends!(
    every_digest_links_to_the_preference_page_in_html_and_text,
    the_page_shows_name_and_topics_and_a_get_changes_nothing,
    saved_topics_decide_who_gets_the_next_digest,
    a_bad_name_or_an_unknown_topic_is_refused_and_nothing_changes,
    bad_tokens_get_the_link_problem_page,
    readers_who_left_or_never_confirmed_cannot_use_it,
);

const TOPICS_OF: &str = "SELECT topics FROM subscribers WHERE email = 'ann@example.org'";
const NAME_OF: &str = "SELECT name FROM subscribers WHERE email = 'ann@example.org'";

/// The preference link the app puts in `email`'s digests.
async fn preferences_link(app: &TestApp, email: &str) -> String {
    app.unsubscribe_link(email).await.replace("/unsubscribe?", "/preferences?")
}

fn form(link: &str, name: &str, topics: &[&str]) -> String {
    let token = link.split("token=").nth(1).unwrap();
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("token", token).append_pair("name", name);
    for topic in topics {
        body.append_pair("topics", topic);
    }
    body.finish()
}

/// Two categories the page can offer.
async fn publish_two_categories(app: &TestApp) {
    app.publish(publication("https://example.org/trade", "Tariffs rise", Some("Trade"))).await;
    app.publish(publication("https://example.org/korea", "Korea talks", Some("North Korea"))).await;
}

async fn every_digest_links_to_the_preference_page_in_html_and_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    publish_two_categories(&app).await;
    reader_with_topics(&app, "ann@example.org", &["Trade"]).await;
    app.send_digest().await;
    let email = &digests_to(&app, 1).await[0];

    let link = email.link_to("/preferences");
    assert_eq!(link, preferences_link(&app, "ann@example.org").await);
    assert!(email.html().contains(&format!(r#"<a href="{link}""#)), "{}", email.html());
    assert!(email.text().contains(&format!("Change your name or topics: {link}")));
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), 200);
}

async fn the_page_shows_name_and_topics_and_a_get_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    publish_two_categories(&app).await;
    let body = serde_json::json!({ "email": "ann@example.org", "name": "Ann <Lee>", "topics": ["trade", "Gardening"] });
    app.post_json("/subscriptions", &body).await;
    let link = app.smtp.wait_for_message_to("ann@example.org").await.confirmation_link();
    app.client.post(&link).send().await.unwrap();
    let before = app.db.text("SELECT topics || coalesce(name, '') || updated_at FROM subscribers").await;

    let page = app.client.get(preferences_link(&app, "ann@example.org").await).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"value="Ann &lt;Lee&gt;""#), "the name, escaped: {html}");
    assert!(html.contains(r#"value="Trade" checked>"#), "known categories, theirs ticked");
    assert!(html.contains(r#"value="North Korea">"#), "other categories offered");
    assert!(html.contains(r#"value="Gardening" checked>"#), "their own topic without publications yet");
    assert!(html.contains("none ticked you receive everything"));
    assert!(html.contains(">Unsubscribe</button>") && html.contains(r#"action="/unsubscribe?token="#));
    assert!(!html.contains("ann@example.org"), "the address is not shown");
    let after = app.db.text("SELECT topics || coalesce(name, '') || updated_at FROM subscribers").await;
    assert_eq!(before, after);
}

async fn saved_topics_decide_who_gets_the_next_digest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    publish_two_categories(&app).await;
    reader_with_topics(&app, "narrower@example.org", &[]).await;
    reader_with_topics(&app, "widener@example.org", &["Trade"]).await;
    app.send_digest().await;
    digests_to(&app, 2).await;

    // Each reader follows the link in the digest they received.
    let narrower = digest_for(&app, "narrower@example.org")[0].link_to("/preferences");
    let saved = app.post_form("/preferences", &form(&narrower, "Nora", &["Trade"])).await;
    assert_eq!(saved.status(), 200);
    let html = saved.text().await.unwrap();
    assert!(html.contains("preferences are saved") && html.contains("<strong>Trade</strong>"), "{html}");
    let widener = digest_for(&app, "widener@example.org")[0].link_to("/preferences");
    let saved = app.post_form("/preferences", &form(&widener, "", &["Trade", "North Korea"])).await;
    assert_eq!(saved.status(), 200);
    assert_eq!(
        app.db.text("SELECT name FROM subscribers WHERE email = 'narrower@example.org'").await.as_deref(),
        Some("Nora")
    );

    app.publish(publication("https://example.org/korea-2", "More Korea talks", Some("North Korea"))).await;
    let created = app.send_digest().await;
    assert_eq!(created["recipients"], 1, "only the widened reader wants North Korea now");
    app.wait_until_queue_is_empty().await;
    assert_eq!(digest_for(&app, "narrower@example.org").len(), 1, "no North Korea-only digest for Trade");
    let widened = digest_for(&app, "widener@example.org");
    assert_eq!(widened.len(), 2);
    assert!(widened[1].text().contains("More Korea talks"));
}

async fn a_bad_name_or_an_unknown_topic_is_refused_and_nothing_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    publish_two_categories(&app).await;
    let body = serde_json::json!({ "email": "ann@example.org", "name": "Ann", "topics": ["Trade"] });
    app.post_json("/subscriptions", &body).await;
    let link = app.smtp.wait_for_message_to("ann@example.org").await.confirmation_link();
    app.client.post(&link).send().await.unwrap();
    let link = preferences_link(&app, "ann@example.org").await;
    let cases = [
        (form(&link, &"n".repeat(101), &["North Korea"]), "at most 100 characters"),
        (form(&link, "Ann\u{202E}", &[]), "control characters"),
        (form(&link, "Bo", &["North Korea", "Gardening"]), "Gardening” is not one of the topics"),
        (form(&link, "Bo", &[&"t".repeat(65)]), "at most 64 characters"),
    ];
    for (body, message) in cases {
        let response = app.post_form("/preferences", &body).await;
        assert_eq!(response.status(), 422, "{message}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message) && html.contains("Nothing was changed"), "{message}: {html}");
        assert_eq!(app.db.text(TOPICS_OF).await.as_deref(), Some(r#"["Trade"]"#));
        assert_eq!(app.db.text(NAME_OF).await.as_deref(), Some("Ann"));
    }
    let json = app
        .client
        .post(app.url("/preferences"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
}

async fn bad_tokens_get_the_link_problem_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let cases = [(None, 400), (Some(""), 404), (Some("nonsense"), 404), (Some(unknown), 404)];
    for (token, status) in cases {
        let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
        let page = app.get(&format!("/preferences{query}")).await;
        assert_eq!(page.status(), status, "GET {query}");
        assert!(page.text().await.unwrap().contains("Sign up again"), "GET {query}");
        let body = token.map(|t| format!("token={t}&")).unwrap_or_default() + "name=Mallory";
        let response = app.post_form("/preferences", &body).await;
        assert_eq!(response.status(), status, "POST {body}");
        assert!(response.text().await.unwrap().contains("This link is"), "POST {body}");
    }
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE name IS NOT NULL").await, 0);
}

async fn readers_who_left_or_never_confirmed_cannot_use_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    publish_two_categories(&app).await;
    app.confirmed_subscriber("ann@example.org").await;
    let link = preferences_link(&app, "ann@example.org").await;
    let unsubscribed = app.client.post(app.unsubscribe_link("ann@example.org").await).send().await.unwrap();
    assert_eq!(unsubscribed.status(), 200);
    app.signup("bo@example.org").await;
    let pending = preferences_link(&app, "bo@example.org").await;

    for link in [link, pending] {
        let page = app.client.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 410);
        assert!(page.text().await.unwrap().contains("This subscription is not active"));
        let response = app.post_form("/preferences", &form(&link, "Mallory", &["Trade"])).await;
        assert_eq!(response.status(), 410);
    }
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE name IS NOT NULL OR topics <> '[]'").await, 0);
}
