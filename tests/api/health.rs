use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    health_answers_200,
    ready_answers_200_when_the_database_answers,
    unknown_paths_get_404_in_the_right_format
);

async fn health_answers_200(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"), "every response carries a request id");
}

async fn ready_answers_200_when_the_database_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/ready").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

async fn unknown_paths_get_404_in_the_right_format(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = app.admin_get("/api/v1/nothing-here").await;
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert!(body["error"].is_string());
    let page = app.get("/nothing-here").await;
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}
