//! In the browser: a reader follows the link at the foot of a digest, changes
//! their topics, and the next digest follows them.

use super::Browser;
use crate::digests::{digest_for, digests_to, reader_with_topics};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;

on_both_backends!(
    a_reader_changes_topics_through_the_footer_link_and_the_next_digest_follows,
    the_preference_page_works_without_javascript,
);

async fn a_reader_changes_topics_through_the_footer_link_and_the_next_digest_follows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.publish(publication("https://example.org/trade", "Tariffs rise", Some("Trade"))).await;
    app.publish(publication("https://example.org/korea", "Korea talks", Some("North Korea"))).await;
    app.publish(publication("https://example.org/energy", "Grid prices", Some("Energy"))).await;
    reader_with_topics(&app, "ann@example.org", &[]).await;
    app.send_digest().await;
    let link = digests_to(&app, 1).await[0].link_to("/preferences");

    let browser = Browser::start(&format!("reader-{}", backend.name())).await;
    browser.goto(&link).await;
    browser.check_page("preferences").await;
    assert!(browser.page_text().await.contains("With none ticked you receive everything"));

    // A name too long for the field is refused beside the field, nothing saved.
    let too_long = "n".repeat(101);
    browser.client.execute("document.getElementById('name').removeAttribute('maxlength')", vec![]).await.unwrap();
    browser.fill("#name", &too_long).await;
    browser.submit("#save-preferences").await;
    browser.check_page("preferences-error").await;
    assert!(browser.page_text().await.contains("A name can be at most 100 characters long."));
    assert_eq!(app.db.text("SELECT topics FROM subscribers").await.as_deref(), Some("[]"));

    browser.fill("#name", "Ann Lee").await;
    browser.click("input[value='Trade']").await;
    browser.submit("#save-preferences").await;
    browser.check_page("preferences-saved").await;
    let saved = browser.page_text().await;
    assert!(saved.contains("Your preferences are saved") && saved.contains("Trade"), "{saved}");
    browser.close().await;

    // Korea alone is no longer for her; Trade is.
    app.publish(publication("https://example.org/korea-2", "More Korea talks", Some("North Korea"))).await;
    assert_eq!(app.send_digest().await["recipients"], 0);
    app.publish(publication("https://example.org/trade-2", "Quotas return", Some("Trade"))).await;
    assert_eq!(app.send_digest().await["recipients"], 1);
    app.wait_until_queue_is_empty().await;
    let digests = digest_for(&app, "ann@example.org");
    assert_eq!(digests.len(), 2);
    assert!(digests[1].text().contains("Quotas return") && !digests[1].text().contains("More Korea talks"));
}

async fn the_preference_page_works_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.publish(publication("https://example.org/trade", "Tariffs rise", Some("Trade"))).await;
    reader_with_topics(&app, "ann@example.org", &["Trade"]).await;
    app.send_digest().await;
    let link = digests_to(&app, 1).await[0].link_to("/preferences");

    let browser = Browser::without_javascript(&format!("reader-nojs-{}", backend.name())).await;
    browser.goto(&link).await;
    browser.click("input[value='Trade']").await;
    browser.submit("#save-preferences").await;
    assert!(browser.page_text().await.contains("you receive everything"));
    assert_eq!(app.db.text("SELECT topics FROM subscribers").await.as_deref(), Some("[]"));
    browser.goto(&link).await;
    browser.submit("#unsubscribe").await;
    assert!(browser.page_text().await.contains("You are unsubscribed"));
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("unsubscribed"));
    browser.close().await;
}
