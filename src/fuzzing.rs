//! Entry points for the fuzz targets in `fuzz/`: each takes raw bytes as the
//! outside world sends them, runs the same parser the service runs, then the
//! domain checks, and panics only when a promise the rest of the program
//! relies on is broken (a parser panicking is such a case too). Not an API.

use crate::domain::{NewPublication, NewSubscriber, PublicationInput, SignupInput, SubscriberEmail, Topic};
use crate::ingest::{self, SourceItem};
use crate::keys::Keys;
use crate::routes::signup_payload;

/// A `POST /subscriptions` form body, as the handler reads it.
pub fn signup_form(body: &[u8]) {
    let form = signup_payload::parse_form(body);
    if let Some(value) = &form.form_time {
        let _ = Keys::from_secret(b"a fuzzing key, long enough for HMAC").verify_form_time(value);
    }
    check_signup(form.input);
}

/// A `POST /subscriptions` JSON body, as the handler reads it.
pub fn signup_json(body: &[u8]) {
    if let Ok(input) = signup_payload::parse_json(body) {
        check_signup(input);
    }
}

pub fn import_csv(content: &[u8]) {
    check_items(ingest::parse_csv(content));
}

pub fn import_json(content: &[u8]) {
    check_items(ingest::parse_json(content));
}

pub fn import_feed(content: &[u8]) {
    check_items(ingest::parse_feed(content));
}

fn check_signup(input: SignupInput) {
    let Ok(subscriber) = NewSubscriber::try_from(input) else { return };
    check_email(&subscriber.email);
    if let Some(name) = &subscriber.name {
        let name = name.as_str();
        assert!(!name.is_empty() && name.chars().count() <= 100, "name out of bounds: {name:?}");
        assert!(!name.chars().any(char::is_control), "control character in name {name:?}");
    }
    assert!(subscriber.topics.iter().count() <= 20, "more than 20 topics");
    subscriber.topics.iter().for_each(check_topic);
}

/// What the mailer and the database count on: a bounded, single-line address
/// that parses to itself (so storing and re-reading it changes nothing).
fn check_email(email: &SubscriberEmail) {
    let text = email.as_str();
    assert!(text.len() <= SubscriberEmail::MAX_LEN, "address too long: {text:?}");
    assert!(!text.chars().any(|c| c.is_control() || c.is_whitespace()), "address with a control character: {text:?}");
    let domain = text.rsplit_once('@').map(|(_, domain)| domain).unwrap_or_default();
    assert_eq!(domain, domain.to_lowercase(), "domain not lower-cased in {text:?}");
    assert_eq!(SubscriberEmail::parse(text).as_ref(), Ok(email), "the address does not parse to itself");
}

fn check_topic(topic: &Topic) {
    let text = topic.as_str();
    assert!(!text.is_empty() && text.chars().count() <= Topic::MAX_CHARS, "topic out of bounds: {text:?}");
    assert!(!text.chars().any(char::is_control), "control character in topic {text:?}");
}

fn check_items(items: Result<Vec<SourceItem>, ingest::IngestError>) {
    for input in items.into_iter().flatten().filter_map(|item| item.input.ok()) {
        if let Ok(publication) = NewPublication::try_from(input) {
            check_publication(&publication);
        }
    }
}

/// A valid publication is single-line where it must be, within its limits,
/// and normalising it again changes nothing: importing the same source twice
/// must find the same URL, or the publication would be announced twice.
fn check_publication(publication: &NewPublication) {
    let title = &publication.title;
    assert!(!title.is_empty() && !title.chars().any(char::is_control), "bad title {title:?}");
    assert!(publication.url.starts_with("http://") || publication.url.starts_with("https://"));
    if let Some(category) = &publication.category {
        check_topic(category);
    }
    let again = NewPublication::try_from(PublicationInput::from(publication));
    assert_eq!(again.as_ref(), Ok(publication), "normalising a publication twice changes it");
}
