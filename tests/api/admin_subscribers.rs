//! `GET /api/v1/subscribers` and `DELETE /api/v1/subscribers/{id}`.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_admin_api_refuses_requests_without_the_right_bearer_token,
    the_admin_api_refuses_everyone_when_no_token_is_configured,
    repeated_wrong_tokens_from_one_ip_are_throttled,
    subscribers_are_listed_newest_first_with_their_fields,
    the_list_paginates_and_filters_by_status,
    bad_list_parameters_get_422,
    erasing_a_subscriber_keeps_only_a_hash_of_the_address,
    erasing_an_unknown_subscriber_gets_404,
    an_erased_address_may_sign_up_again,
);

async fn the_admin_api_refuses_requests_without_the_right_bearer_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = app.url("/api/v1/subscribers");
    let wrong = format!("{ADMIN_TOKEN}x");
    let requests = [
        app.client.get(&url),
        app.client.get(&url).bearer_auth("wrong-token"),
        app.client.get(&url).bearer_auth(&wrong),
        app.client.get(&url).header("authorization", ADMIN_TOKEN),
        app.client.delete(app.url("/api/v1/subscribers/1")),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string());
    }
    assert_eq!(app.admin_get("/api/v1/subscribers").await.status(), 200);
}

async fn the_admin_api_refuses_everyone_when_no_token_is_configured(backend: Backend) {
    let app = TestApp::builder(backend).env("ADMIN_TOKEN", "").spawn().await;
    assert_eq!(app.admin_get("/api/v1/subscribers").await.status(), 401);
    let empty = app.client.get(app.url("/api/v1/subscribers")).header("authorization", "Bearer ").send().await.unwrap();
    assert_eq!(empty.status(), 401);
}

async fn repeated_wrong_tokens_from_one_ip_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let response = app.client.get(app.url("/api/v1/subscribers")).bearer_auth("guess").send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429; 2]);
    assert_eq!(app.admin_get("/api/v1/subscribers").await.status(), 200, "the right token still works");
}

async fn subscribers_are_listed_newest_first_with_their_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": "Ann", "topics": ["Trade"] })).await;
    app.confirmed_subscriber("bob@example.org").await;
    let page: Value = app.admin_get("/api/v1/subscribers").await.json().await.unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["page"], 1);
    assert_eq!(page["per_page"], 50);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["email"], "bob@example.org");
    assert_eq!(items[0]["status"], "confirmed");
    assert!(items[0]["confirmed_at"].is_string());
    let ann = &items[1];
    for field in ["id", "email", "name", "status", "topics", "created_at", "confirmed_at"] {
        assert!(ann.get(field).is_some(), "missing {field} in {ann}");
    }
    assert_eq!(ann["name"], "Ann");
    assert_eq!(ann["status"], "pending");
    assert_eq!(ann["topics"], json!(["Trade"]));
    assert!(ann["confirmed_at"].is_null());
    assert_eq!(ann["consent"]["source"], "api");
}

async fn the_list_paginates_and_filters_by_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 0..5 {
        app.signup(&format!("reader{i}@example.org")).await;
    }
    app.confirmed_subscriber("confirmed@example.org").await;
    let page: Value = app.admin_get("/api/v1/subscribers?page=2&per_page=2").await.json().await.unwrap();
    assert_eq!(page["total"], 6);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["email"], "reader3@example.org");
    let last: Value = app.admin_get("/api/v1/subscribers?page=4&per_page=2").await.json().await.unwrap();
    assert!(last["items"].as_array().unwrap().is_empty());
    let confirmed: Value = app.admin_get("/api/v1/subscribers?status=confirmed").await.json().await.unwrap();
    assert_eq!(confirmed["total"], 1);
    assert_eq!(confirmed["items"][0]["email"], "confirmed@example.org");
    let pending: Value = app.admin_get("/api/v1/subscribers?status=pending&per_page=500").await.json().await.unwrap();
    assert_eq!(pending["total"], 5);
}

async fn bad_list_parameters_get_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for query in ["per_page=501", "per_page=0", "page=0", "page=abc", "status=active", "per_page=-1"] {
        let response = app.admin_get(&format!("/api/v1/subscribers?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(body["errors"].is_object(), "{query}: {body}");
    }
}

async fn erasing_a_subscriber_keeps_only_a_hash_of_the_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_json("/subscriptions", &json!({ "email": "Ann@Example.org", "name": "Ann" })).await;
    app.wait_until_queue_is_empty().await;
    let page: Value = app.admin_get("/api/v1/subscribers").await.json().await.unwrap();
    let id = page["items"][0]["id"].as_i64().unwrap();

    let response = app.admin_delete(&format!("/api/v1/subscribers/{id}")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM confirmation_tokens").await, 0);
    assert_eq!(
        app.db.count("SELECT count(*) FROM deliveries WHERE subscriber_id IS NOT NULL OR payload IS NOT NULL").await,
        0
    );
    let hash = app.db.text("SELECT email_hash FROM suppressions").await.unwrap();
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(b"ann@example.org").iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash, expected);
}

async fn erasing_an_unknown_subscriber_gets_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/api/v1/subscribers/999", "/api/v1/subscribers/not-a-number"] {
        let response = app.admin_delete(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("no subscriber"));
    }
}

async fn an_erased_address_may_sign_up_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let page: Value = app.admin_get("/api/v1/subscribers").await.json().await.unwrap();
    let id = page["items"][0]["id"].as_i64().unwrap();
    app.admin_delete(&format!("/api/v1/subscribers/{id}")).await;
    app.signup("ann@example.org").await;
    app.smtp.wait_for_messages(2).await;
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("pending"));
}
