//! In the browser: an editor logs in, looks at the overview, adds a
//! publication, previews and sends a digest and watches it finish, finds a
//! subscriber and erases them; a wrong password is refused and throttled.

use std::time::Duration;

use super::Browser;
use crate::admin_dashboard::{PASSWORD, add_admin};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;

on_both_backends!(
    an_editor_adds_a_publication_sends_a_digest_and_watches_it_reach_100_percent,
    an_editor_finds_a_subscriber_and_erases_them,
    a_wrong_password_is_refused_and_repeated_failures_are_throttled,
    without_javascript_a_digest_is_sent_and_progress_shows_on_reload,
);

pub const EDITOR: &str = "editor@example.org";

/// Logs in through the login page, leaving the browser on the overview.
pub async fn log_in(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/admin/login")).await;
    browser.fill("#login-email", EDITOR).await;
    browser.fill("#login-password", PASSWORD).await;
    browser.submit("#login-submit").await;
    browser.wait_for("#admin-nav").await;
}

fn name(test: &str, backend: Backend) -> String {
    format!("{test}-{}", backend.name())
}

async fn an_editor_adds_a_publication_sends_a_digest_and_watches_it_reach_100_percent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    add_admin(&app, EDITOR).await;
    app.add_confirmed_subscribers(30).await;
    // Slow enough that the page shows the digest going out.
    app.smtp.set_data_delay(Duration::from_millis(300));
    let browser = Browser::start(&name("admin", backend)).await;
    browser.goto(&app.url("/admin/login")).await;
    browser.check_page("login").await;
    log_in(&browser, &app).await;
    browser.check_page("overview").await;
    let confirmed = browser.find("#status-counts").await.attr("data-confirmed").await.unwrap();
    assert_eq!(confirmed.as_deref(), Some("30"));

    browser.click("#nav-publications").await;
    browser.wait_for("#new-publication").await;
    browser.submit("#new-publication").await;
    browser.check_page("publication-form").await;
    let published_at = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    browser.fill("#pub-title", "Tariffs rise again").await;
    browser.fill("#pub-url", "https://example.org/tariffs").await;
    browser.fill("#pub-published-at", &published_at).await;
    browser.fill("#pub-category", "Trade").await;
    browser.submit("#save-publication").await;
    browser.check_page("publications").await;
    assert!(browser.find("#publications").await.text().await.unwrap().contains("Tariffs rise again"));

    browser.click("#nav-digests").await;
    browser.submit("#next-digest").await;
    browser.check_page("next-digest").await;
    assert_eq!(browser.find("#recipient-count").await.text().await.unwrap().trim(), "30");
    browser.submit("#send-digest").await;
    browser.check_page("send-confirm").await;
    browser.submit("#confirm-send").await;
    browser.wait_for("#progress").await;
    // Partway, so that the screenshot shows a bar on its way.
    wait_for_text(&browser, "#count-sent", |sent| sent.trim().parse::<u32>().is_ok_and(|n| n >= 4)).await;
    browser.check_page("digest-progress").await;

    // The page's script updates the bar without a reload.
    wait_for_text(&browser, "#count-pending", |pending| pending.trim() == "0").await;
    let script = "const bar = document.getElementById('progress'); return [bar.value, bar.max];";
    let bar = browser.client.execute(script, vec![]).await.unwrap();
    assert_eq!(bar, serde_json::json!([30, 30]), "100 %");
    assert_eq!(browser.find("#count-sent").await.text().await.unwrap().trim(), "30");
    browser.check_page("digest-done").await;
    browser.click("#nav-digests").await;
    browser.wait_for("#digests").await;
    browser.check_page("digests").await;
    browser.close().await;
    assert_eq!(app.smtp.messages().len(), 30);
}

async fn an_editor_finds_a_subscriber_and_erases_them(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    add_admin(&app, EDITOR).await;
    app.add_confirmed_subscribers(3).await;
    let browser = Browser::start(&name("subscribers", backend)).await;
    log_in(&browser, &app).await;
    browser.click("#nav-subscribers").await;
    browser.wait_for("#subscriber-search").await;
    browser.check_page("subscribers").await;
    browser.goto(&app.url("/admin/subscribers/import")).await;
    browser.wait_for("#import-form").await;
    browser.check_page("import").await;
    browser.click("#nav-subscribers").await;
    browser.wait_for("#subscriber-search").await;
    browser.fill("#subscriber-search", "reader1@").await;
    browser.submit("#search-submit").await;
    let table = browser.find("#subscribers").await.text().await.unwrap();
    assert!(table.contains("reader1@example.org") && !table.contains("reader2@example.org"), "{table}");
    browser.submit("#subscribers a").await;
    browser.check_page("subscriber").await;
    assert_eq!(browser.find("#subscriber-email").await.text().await.unwrap().trim(), "reader1@example.org");
    browser.submit("#erase-subscriber").await;
    browser.check_page("erase-confirm").await;
    browser.submit("#confirm-erase").await;
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE email = 'reader1@example.org'").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers").await, 2);
    browser.close().await;
}

async fn a_wrong_password_is_refused_and_repeated_failures_are_throttled(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    add_admin(&app, EDITOR).await;
    let browser = Browser::start(&name("login", backend)).await;
    browser.goto(&app.url("/admin/login")).await;
    browser.fill("#login-email", EDITOR).await;
    browser.fill("#login-password", "not the password at all").await;
    browser.submit("#login-submit").await;
    browser.check_page("login-wrong").await;
    assert!(browser.page_text().await.contains("Wrong email address or password"));
    for _ in 0..4 {
        browser.fill("#login-email", EDITOR).await;
        browser.fill("#login-password", "still not the password").await;
        browser.submit("#login-submit").await;
    }
    // Now even the right password waits.
    browser.goto(&app.url("/admin/login")).await;
    browser.fill("#login-email", EDITOR).await;
    browser.fill("#login-password", PASSWORD).await;
    browser.submit("#login-submit").await;
    assert_eq!(browser.status().await, 429);
    browser.check_page("login-throttled").await;
    assert!(browser.client.find(super::Locator::Id("admin-nav")).await.is_err(), "not logged in");
    browser.close().await;
}

async fn without_javascript_a_digest_is_sent_and_progress_shows_on_reload(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    add_admin(&app, EDITOR).await;
    app.add_confirmed_subscribers(5).await;
    app.publish(publication("https://example.org/trade", "Tariffs rise", Some("Trade"))).await;
    let browser = Browser::without_javascript(&name("nojs", backend)).await;
    log_in(&browser, &app).await;
    browser.goto(&app.url("/admin/digests/next")).await;
    browser.submit("#send-digest").await;
    browser.submit("#confirm-send").await;
    browser.wait_for("#progress").await;
    app.wait_until_queue_is_empty().await;
    browser.client.refresh().await.unwrap();
    assert_eq!(browser.find("#count-sent").await.text().await.unwrap().trim(), "5");
    assert_eq!(browser.find("#count-pending").await.text().await.unwrap().trim(), "0");
    browser.close().await;
}

/// Waits (up to 30 s) until the text of `css` passes `done`, without reloading.
async fn wait_for_text(browser: &Browser, css: &str, done: impl Fn(&str) -> bool) {
    let reached = tokio::time::timeout(Duration::from_secs(30), async {
        while !done(&browser.find(css).await.text().await.unwrap()) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "{css} never got there without a reload");
}
