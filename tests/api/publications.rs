//! `/api/v1/publications`, `bulletin publications import`, and `FEED_URL`.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::feeds::{ATOM, RSS, serve_once_per_request};
use crate::helpers::{Backend, SECRET_KEY, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_new_publication_is_created_with_201_and_the_same_url_updates_it_with_200,
    bad_publications_get_422_naming_the_field_and_change_nothing,
    the_publications_api_needs_the_bearer_token,
    publications_are_listed_newest_first_and_paginated,
    the_signup_form_offers_every_known_category_as_a_topic,
    rss_and_atom_files_are_imported_idempotently,
    json_and_csv_files_are_imported_and_bad_items_reported,
    a_feed_served_over_http_is_imported,
    a_back_catalogue_imported_as_announced_is_never_sent,
    the_worker_polls_feed_url_and_survives_a_broken_feed,
);

pub fn publication(url: &str, title: &str, category: Option<&str>) -> Value {
    json!({
        "title": title,
        "url": url,
        "published_at": (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339(),
        "summary": format!("Summary of {title}."),
        "authors": ["Ann Lee", "Bo Kim"],
        "category": category,
        "series": "Briefs",
    })
}

fn import(app: &TestApp, source: &str, extra_args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulletin"))
        .args(["publications", "import", source])
        .args(extra_args)
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("SECRET_KEY", SECRET_KEY)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn a_new_publication_is_created_with_201_and_the_same_url_updates_it_with_200(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first =
        app.admin_post("/api/v1/publications", &publication("https://example.org/a", "First", Some("Trade"))).await;
    assert_eq!(first.status(), 201);
    let created: Value = first.json().await.unwrap();
    assert_eq!(created["title"], "First");
    assert_eq!(created["authors"], json!(["Ann Lee", "Bo Kim"]));
    assert!(created["announced_at"].is_null());

    let again =
        app.admin_post("/api/v1/publications", &publication("https://EXAMPLE.org/a", "Renamed", Some("Energy"))).await;
    assert_eq!(again.status(), 200, "the URL is normalised: the same publication");
    let updated: Value = again.json().await.unwrap();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["title"], "Renamed");
    assert_eq!(updated["category"], "Energy");
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 1);
}

async fn bad_publications_get_422_naming_the_field_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (json!({ "url": "https://example.org/a", "published_at": "2026-11-01T00:00:00Z" }), "title"),
        (json!({ "title": "T", "url": "not a url", "published_at": "2026-11-01T00:00:00Z" }), "url"),
        (json!({ "title": "T", "url": "javascript:alert(1)", "published_at": "2026-11-01T00:00:00Z" }), "url"),
        (json!({ "title": "T", "url": "https://example.org/a", "published_at": "last week" }), "published_at"),
        (json!({ "title": "T", "url": "https://example.org/a" }), "published_at"),
        (json!({ "title": 5, "url": "https://example.org/a", "published_at": "2026-11-01T00:00:00Z" }), "title"),
        (
            json!({ "title": "T", "url": "https://example.org/a", "published_at": "2026-11-01T00:00:00Z", "authors": "Ann" }),
            "authors",
        ),
        (
            json!({ "title": "x".repeat(301), "url": "https://example.org/a", "published_at": "2026-11-01T00:00:00Z" }),
            "title",
        ),
        (
            json!({ "title": "T\u{0007}", "url": "https://example.org/a", "published_at": "2026-11-01T00:00:00Z" }),
            "title",
        ),
        (
            json!({ "title": "T", "url": "https://example.org/a", "published_at": "2026-11-01T00:00:00Z", "category": "c".repeat(65) }),
            "category",
        ),
    ];
    for (body, field) in cases {
        let response = app.admin_post("/api/v1/publications", &body).await;
        assert_eq!(response.status(), 422, "{body}");
        let errors: Value = response.json().await.unwrap();
        assert!(errors["errors"][field].is_array(), "{body} → {errors}");
    }
    let malformed = app
        .client
        .post(app.url("/api/v1/publications"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let form = app
        .client
        .post(app.url("/api/v1/publications"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .body("title=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 0);
}

async fn the_publications_api_needs_the_bearer_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = publication("https://example.org/a", "A", None);
    assert_eq!(app.client.post(app.url("/api/v1/publications")).json(&body).send().await.unwrap().status(), 401);
    assert_eq!(app.client.get(app.url("/api/v1/publications")).send().await.unwrap().status(), 401);
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 0);
}

async fn publications_are_listed_newest_first_and_paginated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for day in 1..=5 {
        let mut body = publication(&format!("https://example.org/{day}"), &format!("Day {day}"), None);
        body["published_at"] = json!(format!("2026-11-0{day}T09:00:00Z"));
        app.publish(body).await;
    }
    let page: Value = app.admin_get("/api/v1/publications?per_page=2&page=1").await.json().await.unwrap();
    assert_eq!(page["total"], 5);
    assert_eq!(page["per_page"], 2);
    let titles: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["Day 5", "Day 4"]);
    assert_eq!(app.admin_get("/api/v1/publications?per_page=1000").await.status(), 422);
}

async fn the_signup_form_offers_every_known_category_as_a_topic(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert!(!app.get("/").await.text().await.unwrap().contains(r#"name="topics""#), "no categories yet");
    app.publish(publication("https://example.org/1", "One", Some("Trade"))).await;
    app.publish(publication("https://example.org/2", "Two", Some("North Korea"))).await;
    app.publish(publication("https://example.org/3", "Three", Some("trade"))).await;
    app.publish(publication("https://example.org/4", "Four", None)).await;
    let html = app.get("/").await.text().await.unwrap();
    assert_eq!(html.matches(r#"name="topics""#).count(), 2, "one checkbox per category, whatever its case");
    assert!(html.contains(r#"value="North Korea""#) && html.contains(r#"value="Trade""#));
}

async fn rss_and_atom_files_are_imported_idempotently(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    for (name, feed) in [("feed.rss", RSS), ("feed.atom", ATOM)] {
        let path = dir.path().join(name);
        std::fs::write(&path, feed).unwrap();
        let first = import(&app, path.to_str().unwrap(), &[]);
        assert!(first.status.success(), "{}", text(&first.stderr));
        assert!(
            text(&first.stdout).starts_with("created 2, updated 0, unchanged 0, bad items 0"),
            "{}",
            text(&first.stdout)
        );
        let second = import(&app, path.to_str().unwrap(), &[]);
        assert!(text(&second.stdout).starts_with("created 0, updated 0, unchanged 2"), "{}", text(&second.stdout));
    }
    let page: Value = app.admin_get("/api/v1/publications").await.json().await.unwrap();
    let korea =
        page["items"].as_array().unwrap().iter().find(|p| p["url"] == "https://example.org/atom/korea").unwrap();
    assert_eq!(korea["category"], "North Korea");
    assert_eq!(korea["title"], "Korea update");
    assert_eq!(korea["authors"], json!(["Kim Bo"]));
    let trade = page["items"].as_array().unwrap().iter().find(|p| p["url"] == "https://example.org/rss/trade").unwrap();
    assert_eq!(trade["category"], "Trade");
    assert_eq!(trade["summary"], "Tariffs rise again.");
}

async fn json_and_csv_files_are_imported_and_bad_items_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("publications.json");
    let items = json!([
        publication("https://example.org/j1", "JSON one", Some("Trade")),
        { "title": "No URL", "published_at": "2026-11-01T00:00:00Z" },
    ]);
    std::fs::write(&json_path, items.to_string()).unwrap();
    let output = import(&app, json_path.to_str().unwrap(), &[]);
    assert!(!output.status.success(), "a bad item makes the exit code non-zero");
    assert!(
        text(&output.stderr).contains("item 2:") && text(&output.stderr).contains("url"),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stdout).starts_with("created 1,"));

    let csv_path = dir.path().join("publications.csv");
    std::fs::write(
        &csv_path,
        "title,url,published_at,authors,category,series,summary\n\
         CSV one,https://example.org/c1,2026-11-20T08:00:00Z,Ann Lee;Bo Kim,Energy,Briefs,\"A summary, with a comma\"\n",
    )
    .unwrap();
    let output = import(&app, csv_path.to_str().unwrap(), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let page: Value = app.admin_get("/api/v1/publications").await.json().await.unwrap();
    let csv_item = page["items"].as_array().unwrap().iter().find(|p| p["title"] == "CSV one").unwrap();
    assert_eq!(csv_item["authors"], json!(["Ann Lee", "Bo Kim"]));
    assert_eq!(csv_item["summary"], "A summary, with a comma");

    let missing = import(&app, dir.path().join("nope.csv").to_str().unwrap(), &[]);
    assert!(!missing.status.success());
    assert_eq!(text(&missing.stderr).trim().lines().count(), 1);
}

async fn a_feed_served_over_http_is_imported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let feed = serve_once_per_request(RSS).await;
    let output = tokio::task::spawn_blocking({
        let (db, url) = (app.db.url.clone(), feed.clone());
        move || {
            Command::new(env!("CARGO_BIN_EXE_bulletin"))
                .args(["publications", "import", &url])
                .env_clear()
                .env("DATABASE_URL", db)
                .env("SECRET_KEY", SECRET_KEY)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 2);
}

async fn a_back_catalogue_imported_as_announced_is_never_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.rss");
    std::fs::write(&path, RSS).unwrap();
    let output = import(&app, path.to_str().unwrap(), &["--announced"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(app.db.count("SELECT count(*) FROM publications WHERE announced_at IS NOT NULL").await, 2);
    assert_eq!(app.admin_post("/api/v1/digests", &json!({})).await.status(), 409);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE kind = 'digest'").await, 0);
}

async fn the_worker_polls_feed_url_and_survives_a_broken_feed(backend: Backend) {
    let good = serve_once_per_request(ATOM).await;
    let broken = serve_once_per_request("<html>this is not a feed</html>").await;
    let broken_app =
        TestApp::builder(backend).env("FEED_URL", &broken).env("FEED_POLL_INTERVAL", "100ms").spawn().await;
    let app = TestApp::builder(backend).env("FEED_URL", &good).env("FEED_POLL_INTERVAL", "100ms").spawn().await;
    let arrived = tokio::time::timeout(Duration::from_secs(20), async {
        while app.db.count("SELECT count(*) FROM publications").await < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(arrived.is_ok(), "the feed's entries were not imported");
    // The broken feed is retried, never fatal: that app still serves and delivers.
    assert_eq!(broken_app.get("/health").await.status(), 200);
    broken_app.signup("ann@example.org").await;
    broken_app.smtp.wait_for_message_to("ann@example.org").await;
    assert_eq!(broken_app.db.count("SELECT count(*) FROM publications").await, 0);
}
