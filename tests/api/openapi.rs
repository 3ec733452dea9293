//! `GET /openapi.json`: an OpenAPI 3 document that covers every route the
//! router serves, with every method, and whose schemas the real answers match.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;

on_both_backends!(
    the_description_is_openapi_3_and_covers_every_route_and_method,
    admin_answers_match_their_documented_schemas,
    public_answers_match_their_documented_schemas
);

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn the_description_is_openapi_3_and_covers_every_route_and_method(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.openapi().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let mut documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let mut served = bulletin::routes::served_paths();
    documented.sort();
    served.sort();
    assert_eq!(documented, served, "the documented paths are the routed ones");

    for path in &served {
        let mut documented_methods: Vec<String> =
            METHODS.iter().filter(|m| doc["paths"][path].get(**m).is_some()).map(|m| m.to_uppercase()).collect();
        let mut served_methods = app.served_methods(path).await;
        documented_methods.sort();
        served_methods.sort();
        assert_eq!(documented_methods, served_methods, "methods of {path}");
    }
}

async fn admin_answers_match_their_documented_schemas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.openapi().await;
    let email = "ann@example.org";
    app.confirmed_subscriber(email).await;
    app.publish(publication("https://example.org/a", "A", Some("Trade"))).await;
    let check = |path: &str, method: &str, status: u16, body: Value| {
        let errors = conformance_errors(&doc, path, method, status, &body);
        assert!(errors.is_empty(), "{method} {path} {status}: {errors:?}\n{body:#}");
    };

    let created = app.admin_post("/api/v1/publications", &publication("https://example.org/b", "B", None)).await;
    check("/api/v1/publications", "post", created.status().as_u16(), created.json().await.unwrap());
    let invalid = app.admin_post("/api/v1/publications", &json!({ "title": 5, "url": "ftp://x" })).await;
    check("/api/v1/publications", "post", invalid.status().as_u16(), invalid.json().await.unwrap());
    for (path, query) in [
        ("/api/v1/publications", ""),
        ("/api/v1/subscribers", "?status=confirmed"),
        ("/api/v1/subscribers", "?per_page=0"),
        ("/api/v1/digests/preview", ""),
        ("/api/v1/digests/preview", "?email=ann@example.org"),
        ("/api/v1/digests/preview", "?email=nobody@example.org"),
    ] {
        let response = app.admin_get(&format!("{path}{query}")).await;
        check(path, "get", response.status().as_u16(), response.json().await.unwrap());
    }
    let digest = app.send_digest().await;
    check("/api/v1/digests", "post", 202, digest.clone());
    let again = app.admin_post("/api/v1/digests", &json!({})).await;
    check("/api/v1/digests", "post", again.status().as_u16(), again.json().await.unwrap());
    let shown = app.admin_get(&format!("/api/v1/digests/{}", digest["id"])).await;
    check("/api/v1/digests/{id}", "get", shown.status().as_u16(), shown.json().await.unwrap());
    let missing = app.admin_get("/api/v1/digests/999999").await;
    check("/api/v1/digests/{id}", "get", missing.status().as_u16(), missing.json().await.unwrap());
    let listed = app.admin_get("/api/v1/digests").await;
    check("/api/v1/digests", "get", listed.status().as_u16(), listed.json().await.unwrap());

    let unauthorized = app.client.get(app.url("/api/v1/digests")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert!(unauthorized.headers().contains_key("www-authenticate"), "the documented header is sent");
    check("/api/v1/digests", "get", 401, unauthorized.json().await.unwrap());
    assert_ne!(ADMIN_TOKEN, "wrong");
}

async fn public_answers_match_their_documented_schemas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.openapi().await;
    let check = |path: &str, method: &str, status: u16, body: Value| {
        let errors = conformance_errors(&doc, path, method, status, &body);
        assert!(errors.is_empty(), "{method} {path} {status}: {errors:?}\n{body:#}");
    };
    let accepted = app.signup("ann@example.org").await;
    check("/subscriptions", "post", accepted.status().as_u16(), accepted.json().await.unwrap());
    let invalid = app.post_json("/subscriptions", &json!({ "email": "not an address", "topics": "x" })).await;
    check("/subscriptions", "post", invalid.status().as_u16(), invalid.json().await.unwrap());
    for path in ["/health", "/ready"] {
        let response = app.get(path).await;
        check(path, "get", response.status().as_u16(), response.json().await.unwrap());
    }
    let page = app.get("/subscriptions/confirm?token=nope").await;
    assert_eq!(page.status(), 404);
    let documented = &doc["paths"]["/subscriptions/confirm"]["get"]["responses"]["404"]["content"];
    assert!(documented.get("text/html").is_some(), "pages are documented as HTML: {documented}");
}

/// Why `body` does not match the schema documented for this answer (empty
/// when it does). Schemas are resolved against the whole document.
fn conformance_errors(doc: &Value, path: &str, method: &str, status: u16, body: &Value) -> Vec<String> {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    let Some(schema) = response["content"]["application/json"].get("schema") else {
        return vec![format!("no JSON answer documented for status {status}")];
    };
    let root = json!({ "components": doc["components"], "allOf": [schema] });
    let validator = jsonschema::options().should_validate_formats(true).build(&root).unwrap();
    validator.iter_errors(body).map(|error| format!("{} at {}", error, error.instance_path())).collect()
}

impl TestApp {
    async fn openapi(&self) -> Value {
        let response = self.get("/openapi.json").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        response.json().await.unwrap()
    }

    /// The methods the server routes for `path`, as its `405` answer to a
    /// method nobody serves lists them (`HEAD` comes with `GET`).
    async fn served_methods(&self, path: &str) -> Vec<String> {
        let url = self.url(&path.replace("{id}", "1"));
        let probe = Method::from_bytes(b"PROPFIND").unwrap();
        let response = self.client.request(probe, url).send().await.unwrap();
        assert_eq!(response.status(), 405, "{path} answers 405 to a method it does not serve");
        let allow = response.headers()["allow"].to_str().unwrap();
        allow.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty() && m != "HEAD").collect()
    }
}
