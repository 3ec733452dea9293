//! Dashboard accounts, login, throttling, sessions, CSRF and Origin checks.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use super::{Browser, PASSWORD, add_admin, logged_in};
use crate::cli::{bulletin, db_vars, text};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    admin_add_reads_the_password_from_stdin_refuses_short_ones_and_remove_ends_sessions,
    login_sets_a_strict_http_only_cookie_and_logout_ends_the_session,
    a_wrong_password_and_an_unknown_address_get_the_same_answer_and_are_throttled,
    pages_redirect_to_login_without_a_session_and_forms_need_csrf_and_our_origin,
    every_admin_action_refuses_a_post_without_its_csrf_token,
    a_session_survives_a_restart_and_expires_when_idle,
    failures_are_limited_per_account_whatever_the_ip_and_per_ip_whatever_the_account,
);

async fn admin_add_reads_the_password_from_stdin_refuses_short_ones_and_remove_ends_sessions(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    let vars = db_vars(&app.db);
    let short = bulletin(&["admin", "add", "editor@example.org"], &vars, Some("too short\n"));
    assert!(!short.status.success());
    assert!(text(&short.stderr).contains("at least 12"), "{}", text(&short.stderr));

    let added = bulletin(&["admin", "add", "editor@example.org"], &vars, Some(&format!("{PASSWORD}\n")));
    assert!(added.status.success(), "{}", text(&added.stderr));
    let again = bulletin(&["admin", "add", "Editor@example.org"], &vars, Some(&format!("{PASSWORD}\n")));
    assert!(!again.status.success(), "an address is one account whatever its case");

    let mut browser = Browser::new(&app);
    assert_eq!(browser.login("editor@example.org", PASSWORD).await.status(), 303);
    assert_eq!(browser.get("/admin").await.status(), 200);

    let removed = bulletin(&["admin", "remove", "editor@example.org"], &vars, None);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert_eq!(browser.get("/admin").await.status(), 303, "the removed admin's session ended");
    assert!(!bulletin(&["admin", "remove", "editor@example.org"], &vars, None).status.success());
}

async fn login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    add_admin(&app, "editor@example.org").await;
    let mut browser = Browser::new(&app);
    let response = browser.login("Editor@Example.org", PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/admin");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("bulletin_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "BASE_URL is http here");
    let stored: i64 = app.db.count("SELECT count(*) FROM admin_sessions").await;
    assert_eq!(stored, 1);
    let token = browser.cookie.clone().unwrap().split_once('=').unwrap().1.to_owned();
    let overview = browser.page("/admin").await;
    assert!(overview.contains("editor@example.org"));
    assert!(!overview.contains(&token), "the page never shows the session token");

    let csrf = browser.csrf().await;
    let logout = browser.post("/admin/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(logout.status(), 303);
    assert!(logout.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(browser.get("/admin").await.status(), 303, "the old cookie no longer works");
}

async fn a_wrong_password_and_an_unknown_address_get_the_same_answer_and_are_throttled(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    add_admin(&app, "editor@example.org").await;
    let mut browser = Browser::new(&app);
    let wrong = browser.login("editor@example.org", "not the password at all").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let wrong_text = wrong.text().await.unwrap();
    let unknown = browser.login("nobody@example.org", "not the password at all").await;
    assert_eq!(unknown.status(), 401);
    let unknown_text = unknown.text().await.unwrap();
    assert!(wrong_text.contains("Wrong email address or password"));
    assert_eq!(
        wrong_text.replace("editor@example.org", "X").split("csrf_token").next(),
        unknown_text.replace("nobody@example.org", "X").split("csrf_token").next()
    );

    // 5 failures from this IP (4 of them on this account), then even the right password waits.
    for _ in 0..3 {
        assert_eq!(browser.login("editor@example.org", "still not the password").await.status(), 401);
    }
    let account_failures = app
        .db
        .count("SELECT count(*) FROM admin_login_failures WHERE failure_key = 'account:editor@example.org'")
        .await;
    assert_eq!(account_failures, 4);
    let throttled = browser.login("editor@example.org", PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    // Per IP: another account is refused too.
    add_admin(&app, "other@example.org").await;
    assert_eq!(browser.login("other@example.org", PASSWORD).await.status(), 429);
}

async fn pages_redirect_to_login_without_a_session_and_forms_need_csrf_and_our_origin(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    let anonymous = Browser::new(&app);
    let response = anonymous.get("/admin/subscribers?status=confirmed").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/admin/login?next=%2Fadmin%2Fsubscribers%3Fstatus%3Dconfirmed");
    let login = anonymous.page("/admin/login?next=https://evil.example/").await;
    assert!(login.contains("name=\"next\" value=\"/admin\""), "only local next paths");

    let browser = logged_in(&app).await;
    let api_json = json!({ "title": "T", "url": "https://example.org/t", "published_at": "2026-01-01T00:00:00Z" });
    let csrf = browser.csrf().await;
    let fields = [("title", "Forged"), ("url", "https://example.org/forged"), ("published_at", "2026-01-01T00:00:00Z")];
    let without_token = browser.post("/admin/publications", &fields).await;
    assert_eq!(without_token.status(), 403);
    let mut with_token = fields.to_vec();
    with_token.push(("csrf_token", &csrf));
    let foreign = browser.post_from("/admin/publications", &with_token, Some("https://evil.example")).await;
    assert_eq!(foreign.status(), 403);
    let no_origin = browser.post_from("/admin/publications", &with_token, None).await;
    assert_eq!(no_origin.status(), 403);
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 0, "nothing changed");
    assert_eq!(browser.post("/admin/publications", &with_token).await.status(), 303);
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 1);
    // The bearer-token API keeps working beside the pages.
    assert_eq!(app.admin_post("/api/v1/publications", &api_json).await.status(), 201);
}

/// Each action checks the token itself: a test per route, so that none of
/// them can lose its check unnoticed.
async fn every_admin_action_refuses_a_post_without_its_csrf_token(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    app.add_confirmed_subscribers(1).await;
    let published_at = super::recent();
    let first = json!({ "title": "First", "url": "https://example.org/first", "published_at": &published_at });
    app.publish(first).await;
    let digest = app.send_digest().await["id"].as_i64().unwrap();
    app.publish(json!({ "title": "Second", "url": "https://example.org/second", "published_at": &published_at })).await;
    let subscriber = app.db.count("SELECT min(subscriber_id) FROM subscribers").await;
    let publication = app.db.count("SELECT min(publication_id) FROM publications").await;
    let deliveries = app.db.count("SELECT count(*) FROM deliveries").await;
    let browser = logged_in(&app).await;

    let actions = [
        "/admin/logout".to_owned(),
        format!("/admin/subscribers/{subscriber}/erase"),
        "/admin/subscribers/import/confirm".to_owned(),
        "/admin/publications".to_owned(),
        format!("/admin/publications/{publication}"),
        "/admin/digests".to_owned(),
        "/admin/digests/test".to_owned(),
        format!("/admin/digests/{digest}/retry"),
    ];
    for action in &actions {
        let fields = [("title", "Changed"), ("url", "https://example.org/changed"), ("csrf_token", "")];
        let response = browser.post(action, &fields).await;
        assert_eq!(response.status(), 403, "POST {action} without a CSRF token");
    }

    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE status = 'confirmed'").await, 1);
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 2);
    assert_eq!(app.db.count("SELECT count(*) FROM publications WHERE title = 'Changed'").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM digests").await, 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries").await, deliveries);
    assert_eq!(browser.get("/admin").await.status(), 200, "still logged in");
}

async fn a_session_survives_a_restart_and_expires_when_idle(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    let browser = logged_in(&app).await;
    // Another web process on the same database (or this one restarted) knows the session.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let mut vars = app.vars.clone();
    vars.insert("BASE_URL".into(), address.clone());
    let config = bulletin::config::Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let second = bulletin::startup::Application::with_listener(config, listener, false).await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(second.run_until_stopped(stop.clone()));
    let cookie = browser.cookie.clone().unwrap();
    let response = browser.client.get(format!("{address}/admin")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(response.status(), 200);
    stop.cancel();
    let _ = server.await;
    // Idle past ADMIN_SESSION_IDLE (8h): gone.
    let stale = bulletin::clock::now() - chrono::TimeDelta::hours(9);
    app.db.execute_at("UPDATE admin_sessions SET last_seen_at = $1", stale).await;
    assert_eq!(browser.get("/admin").await.status(), 303);
}

async fn failures_are_limited_per_account_whatever_the_ip_and_per_ip_whatever_the_account(backend: Backend) {
    let app = TestApp::builder(backend).env("TRUSTED_PROXIES", "127.0.0.1/32").without_worker().spawn().await;
    add_admin(&app, "editor@example.org").await;
    add_admin(&app, "other@example.org").await;
    let mut browser = Browser::new(&app);
    for i in 0..5 {
        browser.forwarded_for = Some(format!("192.0.2.{i}"));
        assert_eq!(browser.login("editor@example.org", "a wrong password here").await.status(), 401);
    }
    browser.forwarded_for = Some("192.0.2.99".into());
    assert_eq!(browser.login("editor@example.org", PASSWORD).await.status(), 429, "per account");
    assert_eq!(browser.login("other@example.org", PASSWORD).await.status(), 303, "a fresh IP and account");

    let mut attacker = Browser::new(&app);
    attacker.forwarded_for = Some("198.51.100.7".into());
    for i in 0..5 {
        assert_eq!(attacker.login(&format!("guess{i}@example.org"), "a wrong password here").await.status(), 401);
    }
    assert_eq!(attacker.login("other@example.org", PASSWORD).await.status(), 429, "per IP");
}
