//! The hostile-input cases (research B1–B14) that the per-URL modules do not
//! already cover: each named by its case.

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;

on_both_backends!(
    b1_a_local_part_over_64_characters_gets_422_and_nothing_is_stored,
    b9_a_tampered_or_truncated_confirmation_link_gets_404_and_confirms_nothing,
    b11_a_one_click_unsubscribe_leaves_the_reader_out_of_the_next_digest,
    b13_a_long_unicode_name_is_stored_whole_and_one_character_more_gets_422,
    b13_sql_metacharacters_and_long_unicode_in_a_publication_are_stored_literally_or_refused_by_length,
);

async fn b1_a_local_part_over_64_characters_gets_422_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.signup(&format!("{}@example.org", "a".repeat(65))).await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["errors"]["email"][0].as_str().unwrap().contains("64"), "{body}");
    let form = app.post_form("/subscriptions", &format!("email={}%40example.org", "a".repeat(65))).await;
    assert_eq!(form.status(), 422);
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers").await, 0);
    assert_eq!(app.signup(&format!("{}@example.org", "a".repeat(64))).await.status(), 202);
}

async fn b9_a_tampered_or_truncated_confirmation_link_gets_404_and_confirms_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup("ann@example.org").await.status(), 202);
    let link = app.smtp.wait_for_message_to("ann@example.org").await.confirmation_link();
    let last = link.chars().last().unwrap();
    let tampered = format!("{}{}", &link[..link.len() - 1], if last == 'A' { 'B' } else { 'A' });
    let truncated = link[..link.len() - 1].to_owned();
    let extended = format!("{link}A");
    for bad in [tampered, truncated, extended] {
        for response in [app.client.get(&bad).send().await.unwrap(), app.client.post(&bad).send().await.unwrap()] {
            assert_eq!(response.status(), 404, "{bad}");
            let html = response.text().await.unwrap();
            assert!(!html.contains("ann@example.org"), "the page names no subscriber");
        }
    }
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("pending"));
    assert_eq!(app.client.post(&link).send().await.unwrap().status(), 200, "the real link still works");
}

async fn b11_a_one_click_unsubscribe_leaves_the_reader_out_of_the_next_digest(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    app.add_confirmed_subscribers(2).await;
    let link = app.unsubscribe_link("reader0@example.org").await;
    for _ in 0..2 {
        let response = app
            .client
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    app.publish(publication("https://example.org/a", "A", None)).await;
    let digest = app.send_digest().await;
    assert_eq!(digest["recipients"], 1, "{digest}");
    let recipients =
        app.db.text("SELECT s.email FROM deliveries d JOIN subscribers s ON s.subscriber_id = d.subscriber_id").await;
    assert_eq!(recipients.as_deref(), Some("reader1@example.org"));
}

async fn b13_a_long_unicode_name_is_stored_whole_and_one_character_more_gets_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // 100 characters of four bytes each, then combining marks and right-to-left script.
    let name = format!("{}{}", "🙂".repeat(91), "é\u{301}ش김𝔘Ω'\"%");
    assert_eq!(name.chars().count(), 100);
    let response = app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": name })).await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.db.text("SELECT name FROM subscribers").await.as_deref(), Some(name.as_str()));
    let longer = format!("{name}🙂");
    let refused = app.post_json("/subscriptions", &json!({ "email": "bo@example.org", "name": longer })).await;
    assert_eq!(refused.status(), 422);
}

async fn b13_sql_metacharacters_and_long_unicode_in_a_publication_are_stored_literally_or_refused_by_length(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let title = format!("Robert'); DROP TABLE publications;-- {}", "🙂".repeat(263));
    assert_eq!(title.chars().count(), 300);
    let category = "North\"Korea' OR '1'='1";
    let publication = json!({
        "title": title, "url": "https://example.org/a?id=1';--", "published_at": "2026-11-01T00:00:00Z",
        "summary": "ü".repeat(5000), "authors": ["O'Brien\\", "%_"], "category": category, "series": "$1 ? :name",
    });
    assert_eq!(app.admin_post("/api/v1/publications", &publication).await.status(), 201);
    assert_eq!(app.db.text("SELECT title FROM publications").await.as_deref(), Some(title.as_str()));
    assert_eq!(app.db.text("SELECT category FROM publications").await.as_deref(), Some(category));
    let listed: serde_json::Value = app.admin_get("/api/v1/publications").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["authors"], json!(["O'Brien\\", "%_"]));
    assert_eq!(listed["items"][0]["series"], "$1 ? :name");

    let too_long = json!({
        "title": format!("{title}🙂"), "url": "https://example.org/b", "published_at": "2026-11-01T00:00:00Z",
        "summary": "ü".repeat(5001),
    });
    let refused = app.admin_post("/api/v1/publications", &too_long).await;
    assert_eq!(refused.status(), 422);
    let errors: serde_json::Value = refused.json().await.unwrap();
    assert!(errors["errors"]["title"].is_array() && errors["errors"]["summary"].is_array(), "{errors}");
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 1);
}
