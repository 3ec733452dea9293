//! The dashboard's pages and their actions: publications, digests, subscribers, import.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN};
use serde_json::json;

use super::{hidden, logged_in, recent};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    an_editor_adds_a_publication_previews_and_sends_the_digest_and_watches_it_finish,
    failed_deliveries_are_shown_with_the_smtp_reply_and_retried,
    subscribers_are_searched_filtered_exported_and_erased,
    the_preview_switches_topic_sets_and_a_test_goes_only_to_the_admin,
    an_import_is_previewed_then_applied_and_a_forged_one_refused,
);

async fn an_editor_adds_a_publication_previews_and_sends_the_digest_and_watches_it_finish(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_confirmed_subscribers(3).await;
    let browser = logged_in(&app).await;
    let csrf = browser.csrf().await;
    let bad = browser.post("/admin/publications", &[("title", "No URL"), ("csrf_token", &csrf)]).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("nothing was saved"));
    let fields = [
        ("title", "Trade winds"),
        ("url", "https://example.org/trade"),
        ("published_at", &recent()),
        ("category", "Trade"),
        ("csrf_token", &csrf),
    ];
    assert_eq!(browser.post("/admin/publications", &fields).await.status(), 303);
    let list = browser.page("/admin/publications").await;
    assert!(list.contains("class=\"unannounced\"") && list.contains("Trade winds"));

    let preview = browser.page("/admin/digests/next").await;
    assert!(preview.contains("id=\"recipient-count\">3<"), "{preview}");
    assert!(preview.contains("id=\"preview-frame\"") && preview.contains("sandbox"));
    let text = browser.page("/admin/digests/next?format=text").await;
    assert!(text.contains("id=\"preview-text\""));
    let confirm = browser.page("/admin/digests/send").await;
    assert!(confirm.contains("1 publication(s) to <strong>3</strong> reader(s)"), "{confirm}");

    let sent = browser.post("/admin/digests", &[("csrf_token", &csrf)]).await;
    assert_eq!(sent.status(), 303);
    let digest_page = sent.headers()[LOCATION].to_str().unwrap().to_owned();
    app.smtp.wait_for_messages(3).await;
    app.wait_until_queue_is_empty().await;
    let progress: serde_json::Value = browser.get(&format!("{digest_page}/progress")).await.json().await.unwrap();
    assert_eq!(progress, json!({ "status": "sent", "total": 3, "sent": 3, "failed": 0, "pending": 0 }));
    let page = browser.page(&digest_page).await;
    assert!(page.contains("data-sent=\"3\"") && page.contains("data-total=\"3\""), "{page}");
    let again = browser.post("/admin/digests", &[("csrf_token", &csrf)]).await;
    assert_eq!(again.status(), 409);

    // Editing never re-announces.
    let id: i64 = app.db.count("SELECT publication_id FROM publications").await;
    let edit = [
        ("title", "Trade winds, revised"),
        ("url", "https://example.org/ignored"),
        ("published_at", &recent()),
        ("csrf_token", &csrf),
    ];
    assert_eq!(browser.post(&format!("/admin/publications/{id}"), &edit).await.status(), 303);
    assert!(browser.page("/admin/publications").await.contains("Trade winds, revised"));
    assert_eq!(browser.post("/admin/digests", &[("csrf_token", &csrf)]).await.status(), 409);
    let overview = browser.page("/admin").await;
    assert!(overview.contains("data-confirmed=\"3\" data-unsubscribed=\"0\""), "{overview}");
    assert!(overview.contains("id=\"confirmation-rate\">100% (3 of 3)<"), "{overview}");
    assert!(overview.contains("id=\"queue-depth\">0<") && overview.contains("id=\"signup-chart\""));
    assert!(overview.contains("id=\"digest-1\""), "the last digests are listed");
}

async fn failed_deliveries_are_shown_with_the_smtp_reply_and_retried(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let readers = app.add_confirmed_subscribers(2).await;
    app.smtp.refuse_recipient(&readers[0], "550 5.1.1 No such user here");
    app.publish(json!({ "title": "T", "url": "https://example.org/t", "published_at": recent() })).await;
    let digest = app.send_digest().await;
    app.wait_until_queue_is_empty().await;
    let browser = logged_in(&app).await;
    let path = format!("/admin/digests/{}", digest["id"]);
    let page = browser.page(&path).await;
    assert!(page.contains("(550): 5.1.1 No such user here") && page.contains("data-failed=\"1\""), "{page}");
    app.smtp.clear_refusals();
    let csrf = browser.csrf().await;
    assert_eq!(browser.post(&format!("{path}/retry"), &[("csrf_token", &csrf)]).await.status(), 303);
    app.smtp.wait_for_message_to(&readers[0]).await;
    app.wait_until_queue_is_empty().await;
    let progress: serde_json::Value = browser.get(&format!("{path}/progress")).await.json().await.unwrap();
    assert_eq!(progress, json!({ "status": "sent", "total": 2, "sent": 2, "failed": 0, "pending": 0 }));
}

async fn subscribers_are_searched_filtered_exported_and_erased(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    app.add_confirmed_subscribers(60).await;
    let browser = logged_in(&app).await;
    let first = browser.page("/admin/subscribers").await;
    assert!(first.contains("id=\"next-page\"") && first.contains("60 in all"));
    let found = browser.page("/admin/subscribers?q=READER5&status=confirmed").await;
    assert!(found.contains("reader5@example.org") && found.contains("reader59@example.org"));
    assert!(!found.contains("reader6@example.org"));
    assert!(browser.page("/admin/subscribers?status=pending").await.contains("No subscriber matches"));
    assert_eq!(browser.get("/admin/subscribers?status=bogus").await.status(), 422);

    let csv = browser.get("/admin/subscribers/export.csv").await;
    assert_eq!(csv.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("email,name,status,topics,created_at,confirmed_at,unsubscribed_at,consent_source\n"));
    assert_eq!(csv.lines().count(), 61);

    let id: i64 = app.db.count("SELECT subscriber_id FROM subscribers WHERE email = 'reader7@example.org'").await;
    let record = browser.page(&format!("/admin/subscribers/{id}")).await;
    assert!(record.contains("id=\"consent\"") && record.contains("via import"));
    let confirm = browser.page(&format!("/admin/subscribers/{id}/erase")).await;
    assert!(confirm.contains("id=\"confirm-erase\""));
    let csrf = browser.csrf().await;
    let erased = browser.post(&format!("/admin/subscribers/{id}/erase"), &[("csrf_token", &csrf)]).await;
    assert_eq!(erased.status(), 303);
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE email = 'reader7@example.org'").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM suppressions").await, 1);
    assert_eq!(browser.get(&format!("/admin/subscribers/{id}")).await.status(), 404);
}

async fn the_preview_switches_topic_sets_and_a_test_goes_only_to_the_admin(backend: Backend) {
    use bulletin::domain::{SubscriberEmail, SubscriptionStatus, Token, Topics};
    use bulletin::store::ImportedSubscriber;
    let app = TestApp::spawn(backend).await;
    let reader = |email: &str, topics: &[&str]| ImportedSubscriber {
        email: SubscriberEmail::parse(email).unwrap(),
        name: None,
        status: SubscriptionStatus::Confirmed,
        topics: Topics::parse(topics).unwrap(),
        unsubscribe_key: app.keys.new_unsubscribe_key(),
        confirmation_token: Token::generate(),
        confirmation_expires_at: bulletin::clock::now(),
    };
    let batch = [reader("trader@example.org", &["Trade"]), reader("sailor@example.org", &["Sea"])];
    app.store.import_subscribers(&batch, bulletin::clock::now()).await.unwrap();
    for (title, category) in [("Tariffs", "Trade"), ("Tides", "Sea")] {
        let url = format!("https://example.org/{title}");
        app.publish(json!({ "title": title, "url": url, "published_at": recent(), "category": category })).await;
    }
    let browser = logged_in(&app).await;
    let all = browser.page("/admin/digests/next").await;
    assert!(all.contains("Tariffs") && all.contains("Tides"));
    assert!(all.contains(">Trade</option>") && all.contains(">Sea</option>"), "{all}");
    let trade = browser.page("/admin/digests/next?topics=%5B%22Trade%22%5D&format=text").await;
    let text = trade.split("id=\"preview-text\"").nth(1).unwrap();
    assert!(text.contains("Tariffs") && !text.contains("Tides"), "{text}");

    let csrf = browser.csrf().await;
    let test = browser.post("/admin/digests/test", &[("csrf_token", &csrf), ("topics", "[\"Sea\"]")]).await;
    assert_eq!(test.status(), 303);
    let location = test.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(browser.page(&location).await.contains("A test email is on its way to editor@example.org"));
    let email = app.smtp.wait_for_message_to("editor@example.org").await;
    assert!(email.text().contains("Tides") && !email.text().contains("Tariffs"));
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 1, "readers got nothing");
    assert_eq!(app.db.count("SELECT count(*) FROM publications WHERE announced_at IS NOT NULL").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM digests").await, 0);
    let digest = app.send_digest().await;
    assert_eq!(digest["recipients"], 2, "the test announced nothing");
}

async fn an_import_is_previewed_then_applied_and_a_forged_one_refused(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    app.add_confirmed_subscribers(2).await;
    let erased: i64 = app.db.count("SELECT subscriber_id FROM subscribers WHERE email = 'reader1@example.org'").await;
    assert_eq!(app.admin_delete(&format!("/api/v1/subscribers/{erased}")).await.status(), 204);
    let browser = logged_in(&app).await;
    let form = browser.page("/admin/subscribers/import").await;
    assert!(form.contains("id=\"import-file\""));
    let csrf = browser.csrf().await;
    let csv = "email,name,status,topics\n\
               new@example.org,New,,Trade\n\
               READER0@example.org,,,\n\
               reader1@example.org,,,\n\
               not-an-address,,,\n\
               new@example.org,Again,,\n";
    let boundary = "bulletin-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let preview = browser
        .client
        .post(app.url("/admin/subscribers/import"))
        .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .header(ORIGIN, &app.address)
        .header(COOKIE, browser.cookie.clone().unwrap())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    let page = preview.text().await.unwrap();
    assert!(page.contains("id=\"import-added\" data-count=\"1\""), "{page}");
    assert!(page.contains("data-known=\"2\" data-suppressed=\"1\""), "{page}");
    assert!(page.contains("id=\"import-invalid\" data-count=\"1\"") && page.contains("line 5: email"), "{page}");
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers").await, 1, "a preview changes nothing");

    let (csv_field, signature) = (hidden(&page, "csv"), hidden(&page, "signature"));
    let forged = browser
        .post(
            "/admin/subscribers/import/confirm",
            &[("csrf_token", &csrf), ("csv", &csv_field), ("signature", "forged")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let fields = [("csrf_token", csrf.as_str()), ("csv", &csv_field), ("signature", &signature)];
    let applied = browser.post("/admin/subscribers/import/confirm", &fields).await;
    assert_eq!(applied.status(), 200);
    assert!(applied.text().await.unwrap().contains("Imported 1;"));
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE email = 'new@example.org'").await, 1);
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers").await, 2);
}
