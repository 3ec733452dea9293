//! In the browser: a page on another origin that posts a form to the
//! dashboard is refused, even with a valid CSRF token in it, and so is one of
//! our own forms whose CSRF field a script removed. Nothing changes.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Browser;
use super::admin::{EDITOR, log_in};
use crate::admin_dashboard::add_admin;
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(cross_origin_and_csrf_less_posts_are_refused);

/// Serves `html` to every request on a port of its own: a second origin.
async fn serve_elsewhere(html: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    address
}

async fn cross_origin_and_csrf_less_posts_are_refused(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    add_admin(&app, EDITOR).await;
    let browser = Browser::start(&format!("csrf-{}", backend.name())).await;
    log_in(&browser, &app).await;
    let csrf = browser.find("input[name='csrf_token']").await.attr("value").await.unwrap().unwrap();
    let published_at = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();

    // Another site's page that posts at once, even carrying the real token.
    let forged = format!(
        r#"<!doctype html><title>Win a prize</title>
        <form method="post" action="{}">
        <input name="title" value="Forged"><input name="url" value="https://example.org/forged">
        <input name="published_at" value="{published_at}"><input name="csrf_token" value="{csrf}">
        </form><script>document.forms[0].submit()</script>"#,
        app.url("/admin/publications")
    );
    let elsewhere = serve_elsewhere(forged).await;
    browser.goto(&elsewhere).await;
    browser.wait_for("h1").await;
    let landed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !browser.client.current_url().await.unwrap().as_str().starts_with(&app.address) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(landed.is_ok(), "the forged form was not posted");
    assert_eq!(browser.status().await, 403);
    browser.check_page("forbidden").await;
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 0);

    // Our own form, its CSRF field removed by a script.
    browser.goto(&app.url("/admin/publications/new")).await;
    browser.fill("#pub-title", "No token").await;
    browser.fill("#pub-url", "https://example.org/no-token").await;
    browser.fill("#pub-published-at", &published_at).await;
    let remove = "document.querySelector('#publication-form input[name=csrf_token]').remove()";
    browser.client.execute(remove, vec![]).await.unwrap();
    browser.submit("#save-publication").await;
    assert_eq!(browser.status().await, 403);
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 0);

    // The same form with its token works: the refusals were the checks.
    browser.goto(&app.url("/admin/publications/new")).await;
    browser.fill("#pub-title", "With token").await;
    browser.fill("#pub-url", "https://example.org/with-token").await;
    browser.fill("#pub-published-at", &published_at).await;
    browser.submit("#save-publication").await;
    assert_eq!(app.db.count("SELECT count(*) FROM publications").await, 1);
    browser.close().await;
}
