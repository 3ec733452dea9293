//! `GET /` and `POST /subscriptions`.

use serde_json::json;

use crate::helpers::{Backend, SECRET_KEY, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_signup_form_has_email_name_honeypot_and_posts_to_subscriptions,
    a_json_signup_is_accepted_as_pending_and_gets_a_confirmation_email,
    a_form_signup_shows_check_your_inbox_and_gets_a_confirmation_email,
    the_confirmation_email_names_the_list_and_never_echoes_what_the_visitor_typed,
    every_email_has_message_id_date_and_list_id,
    the_address_is_stored_trimmed_with_its_domain_lower_cased,
    invalid_addresses_get_422_with_field_errors_and_nothing_is_stored_or_sent,
    an_internationalised_domain_is_delivered_in_its_ascii_form,
    a_255_character_address_gets_422,
    a_101_character_name_gets_422,
    control_characters_or_line_breaks_in_the_name_get_422,
    too_many_or_too_long_topics_get_422,
    malformed_json_gets_400_and_wrong_field_types_get_422,
    a_wrong_content_type_gets_415,
    an_oversized_body_gets_413,
    a_bad_form_comes_back_with_the_error_beside_the_field_and_the_values_kept,
    a_filled_honeypot_gets_the_normal_answer_and_nothing_is_stored,
    a_form_sent_back_too_fast_is_treated_as_a_bot,
    a_form_with_a_tampered_time_is_treated_as_a_bot,
    a_form_filled_at_human_speed_or_without_the_time_field_is_accepted,
    the_answer_is_the_same_for_new_pending_confirmed_and_unsubscribed_addresses,
    six_rapid_signups_of_one_address_send_one_confirmation,
    a_pending_address_gets_at_most_three_confirmations_a_day,
    a_confirmed_address_signing_up_again_gets_nothing_and_keeps_its_topics,
    an_unsubscribed_address_signing_up_again_starts_a_new_double_opt_in,
    signups_beyond_the_per_ip_limit_get_429_with_retry_after,
    sql_metacharacters_and_unicode_are_stored_literally,
);

const COUNT_SUBSCRIBERS: &str = "SELECT count(*) FROM subscribers";
const COUNT_DELIVERIES: &str = "SELECT count(*) FROM deliveries";

async fn assert_nothing_stored_or_sent(app: &TestApp) {
    assert_eq!(app.db.count(COUNT_SUBSCRIBERS).await, 0, "no subscriber may be stored");
    assert_eq!(app.db.count(COUNT_DELIVERIES).await, 0, "no email may be queued");
    assert!(app.smtp.messages().is_empty(), "no email may be sent");
}

async fn the_signup_form_has_email_name_honeypot_and_posts_to_subscriptions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let html = response.text().await.unwrap();
    for needle in
        [r#"action="/subscriptions""#, r#"name="email""#, r#"name="name""#, r#"name="website""#, r#"name="form_time""#]
    {
        assert!(html.contains(needle), "the form lacks {needle}");
    }
}

async fn a_json_signup_is_accepted_as_pending_and_gets_a_confirmation_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": "Ann" })).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({ "status": "pending" }));

    let email = app.smtp.wait_for_message_to("ann@example.org").await;
    assert!(email.confirmation_link().contains("/subscriptions/confirm?token="));
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("pending"));
    assert_eq!(app.db.text("SELECT consent_source FROM subscribers").await.as_deref(), Some("api"));
    assert_eq!(app.db.text("SELECT consent_ip FROM subscribers").await.as_deref(), Some("127.0.0.1"));
}

async fn a_form_signup_shows_check_your_inbox_and_gets_a_confirmation_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.post_form("/subscriptions", "email=bob%40example.org&name=Bob&topics=Trade&topics=Energy").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Check your inbox"));
    app.smtp.wait_for_message_to("bob@example.org").await;
    assert_eq!(app.db.text("SELECT consent_source FROM subscribers").await.as_deref(), Some("form"));
    assert_eq!(app.db.text("SELECT topics FROM subscribers").await.as_deref(), Some(r#"["Trade","Energy"]"#));
}

async fn the_confirmation_email_names_the_list_and_never_echoes_what_the_visitor_typed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spam = "Cheap pills at http://spam.example";
    app.post_json("/subscriptions", &json!({ "email": "victim@example.org", "name": spam, "topics": ["Win a prize"] }))
        .await;
    let email = app.smtp.wait_for_message_to("victim@example.org").await;
    assert!(email.header("Subject").unwrap().contains("Policy Briefs"));
    assert!(email.text().contains("Policy Briefs"));
    let raw = String::from_utf8_lossy(&email.raw);
    for typed in ["Cheap pills", "spam.example", "Win a prize"] {
        assert!(!raw.contains(typed) && !email.text().contains(typed) && !email.html().contains(typed));
    }
    assert_eq!(
        email.header("To").as_deref(),
        Some("victim@example.org"),
        "the name is not put in the To header either"
    );
}

async fn every_email_has_message_id_date_and_list_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("ann@example.org").await;
    let email = app.smtp.wait_for_message_to("ann@example.org").await;
    let message_id = email.header("Message-ID").unwrap();
    assert!(message_id.starts_with('<') && message_id.ends_with("@example.org>"), "{message_id}");
    assert!(email.header("Date").is_some());
    assert_eq!(email.header("List-Id").as_deref(), Some(r#""Policy Briefs" <policy-briefs.example.org>"#));
    assert_eq!(email.header("From").as_deref(), Some(r#""Policy Briefs" <briefs@example.org>"#));
    assert_eq!(email.mail_from, "briefs@example.org");
    assert!(email.parsed().ctype.mimetype == "multipart/alternative");
}

async fn the_address_is_stored_trimmed_with_its_domain_lower_cased(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup("  Ann.Lee@EXAMPLE.Org ").await.status(), 202);
    assert_eq!(app.db.text("SELECT email FROM subscribers").await.as_deref(), Some("Ann.Lee@example.org"));
    app.smtp.wait_for_message_to("Ann.Lee@example.org").await;
}

/// B3: an internationalised domain is stored and sent in its ASCII (IDNA) form,
/// which every relay accepts.
async fn an_internationalised_domain_is_delivered_in_its_ascii_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup("leser@Bücher.example").await.status(), 202);
    let email = app.smtp.wait_for_message_to("leser@xn--bcher-kva.example").await;
    assert!(email.header("To").unwrap().contains("leser@xn--bcher-kva.example"));
}

async fn invalid_addresses_get_422_with_field_errors_and_nothing_is_stored_or_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // B3: a non-ASCII local part needs SMTPUTF8, which relays often lack:
    // refused up front rather than left stuck in the queue.
    for email in [
        "",
        "   ",
        "ann",
        "ann@",
        "@example.org",
        "ann@example",
        "ann example@example.org",
        "a@b.org\r\nBcc: x@y.org",
        "jürgen@example.org",
    ] {
        let response = app.post_json("/subscriptions", &json!({ "email": email })).await;
        assert_eq!(response.status(), 422, "{email:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["errors"]["email"][0].is_string(), "{email:?}: {body}");
        assert!(body["error"].is_string());
    }
    let missing = app.post_json("/subscriptions", &json!({ "name": "Ann" })).await;
    assert_eq!(missing.status(), 422);
    app.wait_until_queue_is_empty().await;
    assert_nothing_stored_or_sent(&app).await;
}

async fn a_255_character_address_gets_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let domain = format!("{}.{}.{}.org", "b".repeat(63), "c".repeat(63), "d".repeat(58));
    let address = format!("{}@{domain}", "a".repeat(64));
    assert_eq!(address.len(), 255);
    let response = app.post_json("/subscriptions", &json!({ "email": address })).await;
    assert_eq!(response.status(), 422);
    assert_nothing_stored_or_sent(&app).await;
}

async fn a_101_character_name_gets_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response =
        app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": "n".repeat(101) })).await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["errors"]["name"][0].as_str().unwrap().contains("100"));
    assert_nothing_stored_or_sent(&app).await;
    let fits = app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": "n".repeat(100) })).await;
    assert_eq!(fits.status(), 202);
}

async fn control_characters_or_line_breaks_in_the_name_get_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for name in ["Ann\r\nBcc: x@example.org", "Ann\n", "Ann\u{0}", "\u{1b}[31mAnn", "Ann\u{202e}"] {
        let response = app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": name })).await;
        assert_eq!(response.status(), 422, "{name:?}");
    }
    let form = app.post_form("/subscriptions", "email=ann%40example.org&name=Ann%0D%0ABcc%3A+x%40example.org").await;
    assert_eq!(form.status(), 422);
    assert_nothing_stored_or_sent(&app).await;
}

async fn too_many_or_too_long_topics_get_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let many: Vec<String> = (0..21).map(|i| format!("topic {i}")).collect();
    let response = app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "topics": many })).await;
    assert_eq!(response.status(), 422);
    let long =
        app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "topics": ["t".repeat(65)] })).await;
    assert_eq!(long.status(), 422);
    assert_nothing_stored_or_sent(&app).await;
}

async fn malformed_json_gets_400_and_wrong_field_types_get_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let post_raw = |body: &'static str| {
        app.client.post(app.url("/subscriptions")).header("content-type", "application/json").body(body).send()
    };
    let malformed = post_raw(r#"{"email": "ann@example.org""#).await.unwrap();
    assert_eq!(malformed.status(), 400);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("JSON"));
    assert_eq!(post_raw(r#"{"email": 42}"#).await.unwrap().status(), 422);
    assert_eq!(post_raw(r#"["ann@example.org"]"#).await.unwrap().status(), 422);
    assert_eq!(post_raw(r#"{"email": "ann@example.org", "topics": "Trade"}"#).await.unwrap().status(), 422);
    assert_nothing_stored_or_sent(&app).await;
}

async fn a_wrong_content_type_gets_415(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for content_type in ["text/plain", "application/xml", "multipart/form-data; boundary=x"] {
        let response = app
            .client
            .post(app.url("/subscriptions"))
            .header("content-type", content_type)
            .body("email=ann@example.org")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let none = app.client.post(app.url("/subscriptions")).body("email=ann%40example.org").send().await.unwrap();
    assert_eq!(none.status(), 415);
    assert_nothing_stored_or_sent(&app).await;
}

async fn an_oversized_body_gets_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let padding = "x".repeat(70 * 1024);
    let json = app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": padding })).await;
    assert_eq!(json.status(), 413);
    let form = app.post_form("/subscriptions", &format!("email=ann%40example.org&name={padding}")).await;
    assert_eq!(form.status(), 413);
    assert_nothing_stored_or_sent(&app).await;
}

async fn a_bad_form_comes_back_with_the_error_beside_the_field_and_the_values_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.post_form("/subscriptions", "email=not-an-address&name=Ann+%3Cb%3ELee%3C%2Fb%3E").await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"id="email-error""#) && html.contains("This is not a valid email address."));
    assert!(html.contains(r#"value="not-an-address""#), "the typed address is kept");
    assert!(html.contains("Ann &lt;b&gt;Lee&lt;/b&gt;"), "the typed name is kept, escaped");
    assert!(!html.contains("<b>Lee</b>"));
    assert_nothing_stored_or_sent(&app).await;
}

async fn a_filled_honeypot_gets_the_normal_answer_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let human = app.post_form("/subscriptions", "email=ann%40example.org&website=").await;
    let human_html = human.text().await.unwrap();
    let bot_app = TestApp::spawn(backend).await;
    let bot = bot_app.post_form("/subscriptions", "email=ann%40example.org&website=http%3A%2F%2Fspam.example").await;
    assert_eq!(bot.status(), 200);
    assert_eq!(bot.text().await.unwrap(), human_html, "the bot cannot tell it was caught");
    assert_nothing_stored_or_sent(&bot_app).await;
}

/// The signed time field of a freshly served form.
async fn served_form_time(app: &TestApp) -> String {
    let html = app.get("/").await.text().await.unwrap();
    let pattern = regex::Regex::new(r#"name="form_time" value="([^"]+)""#).unwrap();
    pattern.captures(&html).expect("the form carries its time")[1].to_owned()
}

async fn a_form_sent_back_too_fast_is_treated_as_a_bot(backend: Backend) {
    let app = TestApp::builder(backend).env("FORM_MIN_FILL_SECONDS", "3").spawn().await;
    let form_time = served_form_time(&app).await;
    let response = app.post_form("/subscriptions", &format!("email=ann%40example.org&form_time={form_time}")).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Check your inbox"));
    assert_nothing_stored_or_sent(&app).await;
}

async fn a_form_with_a_tampered_time_is_treated_as_a_bot(backend: Backend) {
    let app = TestApp::builder(backend).env("FORM_MIN_FILL_SECONDS", "3").spawn().await;
    let form_time = served_form_time(&app).await;
    let (time, signature) = form_time.split_once('.').unwrap();
    let backdated = format!("{}.{signature}", time.parse::<i64>().unwrap() - 60);
    let response = app.post_form("/subscriptions", &format!("email=ann%40example.org&form_time={backdated}")).await;
    assert_eq!(response.status(), 200);
    assert_nothing_stored_or_sent(&app).await;
}

async fn a_form_filled_at_human_speed_or_without_the_time_field_is_accepted(backend: Backend) {
    let app = TestApp::builder(backend).env("FORM_MIN_FILL_SECONDS", "3").spawn().await;
    // A form served ten seconds ago, signed with the app's key.
    let keys = bulletin::keys::Keys::from_secret(SECRET_KEY.as_bytes());
    let form_time = keys.sign_form_time(chrono::Utc::now().timestamp() - 10);
    app.post_form("/subscriptions", &format!("email=ann%40example.org&form_time={form_time}")).await;
    app.smtp.wait_for_message_to("ann@example.org").await;
    // A publisher's own form, posting here without the field, is not judged.
    app.post_form("/subscriptions", "email=bob%40example.org").await;
    app.smtp.wait_for_message_to("bob@example.org").await;
}

async fn the_answer_is_the_same_for_new_pending_confirmed_and_unsubscribed_addresses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("confirmed@example.org").await;
    app.confirmed_subscriber("gone@example.org").await;
    let unsubscribe = app.unsubscribe_link("gone@example.org").await;
    assert_eq!(app.client.post(&unsubscribe).send().await.unwrap().status(), 200);
    app.signup("pending@example.org").await;

    let mut json_answers = Vec::new();
    let mut form_answers = Vec::new();
    for (i, address) in
        ["new@example.org", "pending@example.org", "confirmed@example.org", "gone@example.org"].iter().enumerate()
    {
        let response = app.signup(address).await;
        json_answers.push((response.status(), response.text().await.unwrap()));
        // The page shows the typed address, so compare it with the address masked.
        let form = app.post_form("/subscriptions", &format!("email={}", address.replace('@', "%40"))).await;
        let html = form.text().await.unwrap().replace(address, "ADDRESS");
        form_answers.push(html);
        assert!(i < 4);
    }
    assert!(json_answers.iter().all(|a| a == &json_answers[0]), "{json_answers:?}");
    assert!(form_answers.iter().all(|a| a == &form_answers[0]));
}

async fn six_rapid_signups_of_one_address_send_one_confirmation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut signups = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let request = app.client.post(app.url("/subscriptions")).json(&json!({ "email": "ann@example.org" }));
        signups.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = signups.join_next().await {
        assert_eq!(status.unwrap(), 202);
    }
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages_to("ann@example.org").len(), 1);
    assert_eq!(app.db.count(COUNT_SUBSCRIBERS).await, 1);
    assert_eq!(app.db.count(COUNT_DELIVERIES).await, 1);
}

async fn a_pending_address_gets_at_most_three_confirmations_a_day(backend: Backend) {
    let app = TestApp::builder(backend).env("CONFIRMATION_RESEND_INTERVAL", "0s").spawn().await;
    for _ in 0..5 {
        assert_eq!(app.signup("ann@example.org").await.status(), 202);
    }
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages_to("ann@example.org").len(), 3);
    // Every one of the three links works: the reader may click any of them.
    let links: Vec<String> = app.smtp.messages().iter().map(|m| m.confirmation_link()).collect();
    assert_eq!(app.client.post(&links[0]).send().await.unwrap().status(), 200);
    assert_eq!(app.client.post(&links[2]).send().await.unwrap().status(), 200);
}

async fn a_confirmed_address_signing_up_again_gets_nothing_and_keeps_its_topics(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "topics": ["Trade"] })).await;
    let link = app.smtp.wait_for_message_to("ann@example.org").await.confirmation_link();
    app.client.post(&link).send().await.unwrap();

    let again = app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "topics": ["Energy"] })).await;
    assert_eq!(again.status(), 202);
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.smtp.messages().len(), 1, "no second confirmation");
    assert_eq!(app.db.text("SELECT topics FROM subscribers").await.as_deref(), Some(r#"["Trade"]"#));
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("confirmed"));
}

async fn an_unsubscribed_address_signing_up_again_starts_a_new_double_opt_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first_link = app.confirmed_subscriber("ann@example.org").await;
    let old_unsubscribe = app.unsubscribe_link("ann@example.org").await;
    app.client.post(&old_unsubscribe).send().await.unwrap();
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("unsubscribed"));

    app.signup("ann@example.org").await;
    let messages = app.smtp.wait_for_messages(2).await;
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("pending"));
    assert_eq!(
        app.client.post(&first_link).send().await.unwrap().status(),
        410,
        "the old confirmation link is used up"
    );
    let new_link = messages[1].confirmation_link();
    assert_eq!(app.client.post(&new_link).send().await.unwrap().status(), 200);
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("confirmed"));

    // The old unsubscribe link no longer works; the new one does.
    app.client.post(&old_unsubscribe).send().await.unwrap();
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("confirmed"));
    let new_unsubscribe = app.unsubscribe_link("ann@example.org").await;
    assert_ne!(new_unsubscribe, old_unsubscribe);
    app.client.post(&new_unsubscribe).send().await.unwrap();
    assert_eq!(app.db.text("SELECT status FROM subscribers").await.as_deref(), Some("unsubscribed"));
}

async fn signups_beyond_the_per_ip_limit_get_429_with_retry_after(backend: Backend) {
    let app = TestApp::builder(backend).env("SIGNUP_RATE_PER_IP", "3/minute").spawn().await;
    for i in 0..3 {
        assert_eq!(app.signup(&format!("reader{i}@example.org")).await.status(), 202);
    }
    let refused = app.signup("reader4@example.org").await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Invalid requests count too, and forms get a page.
    let form = app.post_form("/subscriptions", "email=x").await;
    assert_eq!(form.status(), 429);
    assert!(form.text().await.unwrap().contains("Too many requests"));
    assert_eq!(app.db.count(COUNT_SUBSCRIBERS).await, 3);
}

async fn sql_metacharacters_and_unicode_are_stored_literally(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let name = "Robert'); DROP TABLE subscribers;-- 김정은 🙂";
    let response = app
        .post_json(
            "/subscriptions",
            &json!({ "email": "o'brien@example.org", "name": name, "topics": ["Nord\"Korea' --"] }),
        )
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.db.text("SELECT name FROM subscribers").await.as_deref(), Some(name));
    assert_eq!(app.db.text("SELECT email FROM subscribers").await.as_deref(), Some("o'brien@example.org"));
    app.smtp.wait_for_message_to("o'brien@example.org").await;
}
