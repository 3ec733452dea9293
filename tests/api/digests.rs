//! Digests: from publications to one correct email per reader, over SMTP.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;
use crate::smtp::{Behaviour, ReceivedEmail};

on_both_backends!(
    the_whole_path_from_publications_to_a_delivered_digest,
    each_reader_gets_only_their_topics_grouped_by_category_without_duplicates,
    readers_whose_topics_match_nothing_get_no_digest,
    publication_text_is_escaped_in_the_html_email,
    nothing_new_gets_409_and_queues_nothing,
    two_triggers_at_the_same_moment_create_one_digest,
    an_edited_publication_is_never_sent_again,
    embargoed_publications_wait_and_old_ones_are_never_announced,
    a_digest_is_sent_when_nothing_is_pending_with_sent_and_failed_counted,
    a_temporary_refusal_is_retried_and_the_digest_delivered_once,
    one_refused_address_fails_and_the_others_are_sent,
    a_digest_sent_while_smtp_is_down_goes_out_when_it_is_back,
    someone_who_unsubscribes_after_queueing_is_not_sent_it,
    confirmations_go_out_before_digest_mail,
    the_preview_shows_publications_recipients_and_one_readers_email,
    the_cli_sends_and_dry_runs_digests,
    the_send_rate_holds_across_workers_sharing_the_database,
);

pub(crate) async fn digests_to(app: &TestApp, count: usize) -> Vec<ReceivedEmail> {
    let mut received = Vec::new();
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            received = app.smtp.messages().into_iter().filter(is_digest).collect();
            if received.len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "expected {count} digest(s), got {}", received.len());
    received
}

pub(crate) fn is_digest(email: &ReceivedEmail) -> bool {
    email.header("List-Unsubscribe").is_some()
}

pub(crate) fn digest_for(app: &TestApp, recipient: &str) -> Vec<ReceivedEmail> {
    app.smtp.messages_to(recipient).into_iter().filter(is_digest).collect()
}

pub(crate) async fn reader_with_topics(app: &TestApp, email: &str, topics: &[&str]) {
    app.post_json("/subscriptions", &json!({ "email": email, "topics": topics })).await;
    let link = app.smtp.wait_for_message_to(email).await.confirmation_link();
    assert_eq!(app.client.post(&link).send().await.unwrap().status(), 200);
}

async fn wait_for_status(app: &TestApp, digest_id: i64, status: &str) -> Value {
    let mut digest = Value::Null;
    let reached = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            digest = app.admin_get(&format!("/api/v1/digests/{digest_id}")).await.json().await.unwrap();
            if digest["status"] == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "digest {digest_id} never became {status}: {digest}");
    digest
}

async fn the_whole_path_from_publications_to_a_delivered_digest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.publish(publication("https://example.org/trade", "Tariffs rise", Some("Trade"))).await;
    app.publish(publication("https://example.org/korea", "Korea talks", Some("North Korea"))).await;
    app.publish(publication("https://example.org/note", "Director's note", None)).await;
    reader_with_topics(&app, "trade@example.org", &["Trade"]).await;
    reader_with_topics(&app, "all@example.org", &[]).await;

    let created = app.send_digest().await;
    assert_eq!(created["publications"], 3);
    assert_eq!(created["recipients"], 2);
    digests_to(&app, 2).await;

    let email = &digest_for(&app, "all@example.org")[0];
    assert_eq!(email.parsed().ctype.mimetype, "multipart/alternative");
    assert_eq!(email.header("To").as_deref(), Some("all@example.org"));
    assert!(email.header("Message-ID").unwrap().ends_with("@example.org>"));
    let unsubscribe = email.header("List-Unsubscribe").unwrap();
    assert!(unsubscribe.starts_with(&format!("<{}/unsubscribe?token=", app.address)), "{unsubscribe}");
    assert_eq!(email.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    assert_eq!(email.header("List-Id").as_deref(), Some(r#""Policy Briefs" <policy-briefs.example.org>"#));
    assert!(email.header("Date").is_some());
    assert_eq!(email.header("Precedence").as_deref(), Some("bulk"));
    assert!(email.header("Subject").unwrap().contains("3 new publications"));

    let html = email.html();
    assert!(html.contains(r#"<a href="https://example.org/trade""#) && html.contains("Tariffs rise</a>"));
    assert!(html.contains("Ann Lee, Bo Kim") && html.contains("Summary of Korea talks."));
    assert!(
        html.contains(">North Korea</h2>") && html.contains(">Trade</h2>") && html.contains(">Other publications</h2>")
    );
    let today = (Utc::now() - TimeDelta::hours(1)).format("%-d %B %Y").to_string();
    assert!(html.contains(&today), "the date is shown");
    assert!(
        !html.contains("<script") && !html.contains("http://fonts") && !html.contains("<link"),
        "no scripts or external assets"
    );
    let text = email.text();
    assert!(text.contains("Tariffs rise\nhttps://example.org/trade"), "{text}");
    let footer_link = email.link_to("/unsubscribe");
    assert_eq!(format!("<{footer_link}>"), unsubscribe, "the footer carries the same link as the header");

    // The reader's own link unsubscribes them, and only them.
    let response = app.client.post(&footer_link).body("List-Unsubscribe=One-Click").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE status = 'unsubscribed'").await, 1);
    assert_eq!(
        app.db.text("SELECT status FROM subscribers WHERE email = 'trade@example.org'").await.as_deref(),
        Some("confirmed")
    );
    let ids: HashSet<String> = app.smtp.messages().iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert_eq!(ids.len(), app.smtp.messages().len(), "every Message-ID is unique");
}

async fn each_reader_gets_only_their_topics_grouped_by_category_without_duplicates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.publish(publication("https://example.org/t1", "Trade one", Some("Trade"))).await;
    app.publish(publication("https://example.org/t2", "Trade two", Some("trade"))).await;
    app.publish(publication("https://example.org/e1", "Energy one", Some("Energy"))).await;
    app.publish(publication("https://example.org/k1", "Korea one", Some("North Korea"))).await;
    app.publish(publication("https://example.org/n1", "Uncategorised one", None)).await;
    reader_with_topics(&app, "two@example.org", &["TRADE", "energy"]).await;
    app.send_digest().await;
    let email = &digests_to(&app, 1).await[0];
    let text = email.text();
    for wanted in ["/t1", "/t2", "/e1", "/n1"] {
        assert_eq!(
            text.matches(&format!("https://example.org{wanted}")).count(),
            1,
            "{wanted} exactly once in:\n{text}"
        );
    }
    assert!(!text.contains("Korea one"));
    let energy = text.find("== Energy ==").unwrap();
    let trade = text.find("== Trade ==").or_else(|| text.find("== trade ==")).unwrap();
    let other = text.find("== Other publications ==").unwrap();
    assert!(energy < trade && trade < other, "groups in order:\n{text}");
    assert!(email.header("Subject").unwrap().contains("4 new publications"));
}

async fn readers_whose_topics_match_nothing_get_no_digest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.publish(publication("https://example.org/t1", "Trade one", Some("Trade"))).await;
    reader_with_topics(&app, "culture@example.org", &["Culture"]).await;
    reader_with_topics(&app, "trade@example.org", &["Trade"]).await;
    let created = app.send_digest().await;
    assert_eq!(created["recipients"], 1);
    digests_to(&app, 1).await;
    app.wait_until_queue_is_empty().await;
    assert!(digest_for(&app, "culture@example.org").is_empty());
}

async fn publication_text_is_escaped_in_the_html_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut body =
        publication("https://example.org/x?a=1&b=2", "<script>alert(1)</script> & \"Co\"", Some("<b>Cat</b>"));
    body["summary"] = json!("<img src=x onerror=alert(1)>");
    body["authors"] = json!(["<i>Evil</i>"]);
    app.publish(body).await;
    app.confirmed_subscriber("ann@example.org").await;
    app.send_digest().await;
    let email = &digests_to(&app, 1).await[0];
    let html = email.html();
    assert!(
        !html.contains("<script>") && !html.contains("<img") && !html.contains("<i>Evil") && !html.contains("<b>Cat")
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;"));
    assert!(html.contains(r#"href="https://example.org/x?a=1&amp;b=2""#));
    assert!(email.text().contains("<script>alert(1)</script> & \"Co\""), "the text part is not HTML");
    assert!(!email.header("Subject").unwrap().contains('\n'));
}

async fn nothing_new_gets_409_and_queues_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let response = app.admin_post("/api/v1/digests", &json!({})).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("nothing new"));
    assert_eq!(app.db.count("SELECT count(*) FROM digests").await, 0);

    app.publish(publication("https://example.org/a", "A", None)).await;
    app.send_digest().await;
    assert_eq!(app.admin_post("/api/v1/digests", &json!({})).await.status(), 409, "each publication is announced once");
    assert_eq!(app.db.count("SELECT count(*) FROM digests").await, 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE kind = 'digest'").await, 1);
}

async fn two_triggers_at_the_same_moment_create_one_digest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_confirmed_subscribers(300).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    let mut triggers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let request = app.client.post(app.url("/api/v1/digests")).bearer_auth(crate::helpers::ADMIN_TOKEN);
        triggers.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = triggers.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![202, 409, 409, 409]);
    assert_eq!(app.db.count("SELECT count(*) FROM digests").await, 1);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE kind = 'digest'").await, 300);
}

async fn an_edited_publication_is_never_sent_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    app.publish(publication("https://example.org/a", "Original title", Some("Trade"))).await;
    app.send_digest().await;
    digests_to(&app, 1).await;
    let edited = app
        .admin_post("/api/v1/publications", &publication("https://example.org/a", "Corrected title", Some("Energy")))
        .await;
    assert_eq!(edited.status(), 200);
    let body: Value = edited.json().await.unwrap();
    assert!(body["announced_at"].is_string(), "still announced after the edit");
    assert_eq!(app.admin_post("/api/v1/digests", &json!({})).await.status(), 409);
}

async fn embargoed_publications_wait_and_old_ones_are_never_announced(backend: Backend) {
    let app = TestApp::builder(backend).env("DIGEST_MAX_AGE", "7days").spawn().await;
    app.confirmed_subscriber("ann@example.org").await;
    let mut future = publication("https://example.org/future", "Embargoed", None);
    future["published_at"] = json!((Utc::now() + TimeDelta::days(1)).to_rfc3339());
    app.publish(future).await;
    let mut old = publication("https://example.org/old", "Back catalogue", None);
    old["published_at"] = json!((Utc::now() - TimeDelta::days(30)).to_rfc3339());
    app.publish(old).await;
    assert_eq!(app.admin_post("/api/v1/digests", &json!({})).await.status(), 409);

    // The embargo lifts.
    app.db
        .execute_at(
            "UPDATE publications SET published_at = $1 WHERE title = 'Embargoed'",
            Utc::now() - TimeDelta::minutes(1),
        )
        .await;
    let created = app.send_digest().await;
    assert_eq!(created["publications"], 1);
    let email = &digests_to(&app, 1).await[0];
    assert!(email.text().contains("Embargoed") && !email.text().contains("Back catalogue"));
}

async fn a_digest_is_sent_when_nothing_is_pending_with_sent_and_failed_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_confirmed_subscribers(5).await;
    app.smtp.refuse_recipient("reader3@example.org", "550 5.1.1 No such user");
    app.publish(publication("https://example.org/a", "A", None)).await;
    let created = app.send_digest().await;
    let digest = wait_for_status(&app, created["id"].as_i64().unwrap(), "sent").await;
    assert_eq!(digest["recipients"], 5);
    assert_eq!(digest["sent"], 4);
    assert_eq!(digest["failed"], 1);
    assert_eq!(digest["pending"], 0);
    assert_eq!(digest["publications"], 1);
    assert!(digest["finished_at"].is_string());
    let history: Value = app.admin_get("/api/v1/digests").await.json().await.unwrap();
    assert_eq!(history["total"], 1);
    assert_eq!(history["items"][0]["id"], created["id"]);
    assert_eq!(app.admin_get("/api/v1/digests/999").await.status(), 404);
}

async fn a_temporary_refusal_is_retried_and_the_digest_delivered_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.smtp.set_behaviour(Behaviour::RejectRecipient("451 4.3.0 Try again later".into()));
    app.send_digest().await;
    app.smtp.wait_for_refusals(1).await;
    app.smtp.set_behaviour(Behaviour::Accept);
    digests_to(&app, 1).await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(digest_for(&app, "ann@example.org").len(), 1);
}

async fn one_refused_address_fails_and_the_others_are_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let readers = app.add_confirmed_subscribers(20).await;
    app.smtp.refuse_recipient("reader7@example.org", "550 5.1.1 Mailbox unavailable");
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.send_digest().await;
    digests_to(&app, 19).await;
    app.wait_until_queue_is_empty().await;
    for reader in &readers {
        let expected = usize::from(reader != "reader7@example.org");
        assert_eq!(digest_for(&app, reader).len(), expected, "{reader}");
    }
    let error = app.db.text("SELECT last_error FROM deliveries WHERE status = 'failed'").await.unwrap();
    assert!(error.contains("Mailbox unavailable"), "{error}");
}

async fn a_digest_sent_while_smtp_is_down_goes_out_when_it_is_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_confirmed_subscribers(10).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.smtp.stop();
    app.send_digest().await;
    tokio::time::timeout(Duration::from_secs(20), async {
        while app.db.count("SELECT count(*) FROM deliveries WHERE last_error IS NOT NULL").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    app.smtp.restart().await;
    digests_to(&app, 10).await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 10);
}

async fn someone_who_unsubscribes_after_queueing_is_not_sent_it(backend: Backend) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    app.add_confirmed_subscribers(3).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    let created = app.send_digest().await;
    assert_eq!(created["recipients"], 3);
    let unsubscribe = app.unsubscribe_link("reader1@example.org").await;
    assert_eq!(app.client.post(&unsubscribe).send().await.unwrap().status(), 200);

    let worker = app.spawn_worker().await;
    let digest = wait_for_status(&app, created["id"].as_i64().unwrap(), "sent").await;
    assert_eq!(digest["sent"], 2);
    assert_eq!(digest["cancelled"], 1);
    assert!(digest_for(&app, "reader1@example.org").is_empty());
    assert_eq!(app.smtp.messages().len(), 2);
    worker.stop().await;
}

async fn confirmations_go_out_before_digest_mail(backend: Backend) {
    let app = TestApp::builder(backend).env("SMTP_POOL_SIZE", "1").without_worker().spawn().await;
    app.add_confirmed_subscribers(30).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.send_digest().await;
    app.signup("new@example.org").await;
    let worker = app.spawn_worker().await;
    let messages = app.smtp.wait_for_messages(31).await;
    assert_eq!(messages[0].recipients, vec!["new@example.org"], "the confirmation jumps the digest queue");
    worker.stop().await;
}

async fn the_preview_shows_publications_recipients_and_one_readers_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.publish(publication("https://example.org/t", "Trade item", Some("Trade"))).await;
    app.publish(publication("https://example.org/e", "Energy item", Some("Energy"))).await;
    reader_with_topics(&app, "trade@example.org", &["Trade"]).await;
    reader_with_topics(&app, "all@example.org", &[]).await;

    let preview: Value = app.admin_get("/api/v1/digests/preview").await.json().await.unwrap();
    assert_eq!(preview["publications"].as_array().unwrap().len(), 2);
    assert_eq!(preview["recipients"], 2);
    assert!(preview["email"]["html"].as_str().unwrap().contains("Energy item"));

    let for_trade: Value = app.admin_get("/api/v1/digests/preview?email=trade@example.org").await.json().await.unwrap();
    let text = for_trade["email"]["text"].as_str().unwrap();
    assert!(text.contains("Trade item") && !text.contains("Energy item"));
    assert_eq!(for_trade["email"]["to"], "trade@example.org");
    assert_eq!(app.admin_get("/api/v1/digests/preview?email=nobody@example.org").await.status(), 404);
    assert_eq!(app.admin_get("/api/v1/digests/preview?email=not-an-address").await.status(), 422);
    assert_eq!(app.db.count("SELECT count(*) FROM digests").await, 0, "a preview queues nothing");
    assert_eq!(app.db.count("SELECT count(*) FROM publications WHERE announced_at IS NOT NULL").await, 0);
}

async fn the_cli_sends_and_dry_runs_digests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("ann@example.org").await;
    let run = |args: &'static [&'static str]| {
        let db = app.db.url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_bulletin"))
                    .args(args)
                    .env_clear()
                    .env("DATABASE_URL", db)
                    .env("SECRET_KEY", crate::helpers::SECRET_KEY)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let nothing = run(&["digest", "send"]).await;
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing new"));

    app.publish(publication("https://example.org/a", "CLI item", Some("Trade"))).await;
    let dry = run(&["digest", "send", "--dry-run"]).await;
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("CLI item") && out.contains("recipients: 1") && out.contains("Subject:"), "{out}");
    assert_eq!(app.db.count("SELECT count(*) FROM digests").await, 0, "a dry run queues nothing");

    let sent = run(&["digest", "send"]).await;
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert!(String::from_utf8_lossy(&sent.stdout).contains("1 publication(s), 1 recipient(s)"));
    // The app's worker (another process's queue writes) delivers it.
    digests_to(&app, 1).await;
}

async fn the_send_rate_holds_across_workers_sharing_the_database(backend: Backend) {
    let app = TestApp::builder(backend).env("SEND_RATE_PER_SEC", "20").without_worker().spawn().await;
    app.add_confirmed_subscribers(60).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.send_digest().await;
    let started = std::time::Instant::now();
    let workers = [app.spawn_worker().await, app.spawn_worker().await];
    app.smtp.wait_for_messages(60).await;
    // One second of sends may go at once (the bucket's capacity); the other
    // 40 messages need at least two seconds at 20 per second, whatever the
    // number of workers.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1800), "60 messages in {elapsed:?} at 20/s");
    for worker in workers {
        worker.stop().await;
    }
}
