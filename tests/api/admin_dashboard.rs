//! The HTML dashboard under /admin, over HTTP with a hand-kept cookie:
//! accounts, login, sessions, CSRF and Origin checks, and the pages' actions.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::cli::{bulletin, db_vars, text};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    admin_add_reads_the_password_from_stdin_refuses_short_ones_and_remove_ends_sessions,
    login_sets_a_strict_http_only_cookie_and_logout_ends_the_session,
    a_wrong_password_and_an_unknown_address_get_the_same_answer_and_are_throttled,
    pages_redirect_to_login_without_a_session_and_forms_need_csrf_and_our_origin,
    a_session_survives_a_restart_and_expires_when_idle,
    an_editor_adds_a_publication_previews_and_sends_the_digest_and_watches_it_finish,
    failed_deliveries_are_shown_with_the_smtp_reply_and_retried,
    subscribers_are_searched_filtered_exported_and_erased,
    the_preview_switches_topic_sets_and_a_test_goes_only_to_the_admin,
);

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A browser-like client: no redirects followed, our cookie sent by hand.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser { app, client: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(), cookie: None }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let mut request = self.client.get(self.app.url(path));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// A form post from our own origin.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_from(path, fields, Some(&self.app.address)).await
    }

    async fn post_from(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> reqwest::Response {
        let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request =
            self.client.post(self.app.url(path)).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Logs in through the form; returns the login POST's answer.
    async fn login(&mut self, email: &str, password: &str) -> reqwest::Response {
        let form = self.page("/admin/login").await;
        let csrf = hidden(&form, "csrf_token");
        let response =
            self.post("/admin/login", &[("email", email), ("password", password), ("csrf_token", &csrf)]).await;
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        response
    }

    /// The CSRF token of the logged-in session (from the logout form).
    async fn csrf(&self) -> String {
        hidden(&self.page("/admin").await, "csrf_token")
    }
}

/// An hour ago: within DIGEST_MAX_AGE, not embargoed.
fn recent() -> String {
    (bulletin::clock::now() - chrono::TimeDelta::hours(1)).to_rfc3339()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn add_admin(app: &TestApp, email: &str) {
    let password = bulletin::admins::AdminPassword::parse(PASSWORD).unwrap();
    let hash = bulletin::admins::hash_password(password).await.unwrap();
    assert!(app.store.add_admin(email, &hash, bulletin::clock::now()).await.unwrap());
}

async fn logged_in(app: &TestApp) -> Browser<'_> {
    add_admin(app, "editor@example.org").await;
    let mut browser = Browser::new(app);
    let response = browser.login("editor@example.org", PASSWORD).await;
    assert_eq!(response.status(), 303);
    browser
}

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
    assert!(overview.contains("data-confirmed=\"3\""), "{overview}");
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
