//! Turning a claimed delivery into a complete message.

use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MessageBuilder, MultiPart, SinglePart};
use minijinja::context;
use url::Url;

use super::digest::groups_for;
use super::links::public_url;
use super::prepared::{MESSAGE_ID_PLACEHOLDER, PreparedEmail, TO_PLACEHOLDER, TOKEN_PLACEHOLDER};
use crate::config::Config;
use crate::domain::{SubscriberEmail, Topics};
use crate::keys::Keys;
use crate::store::{Publication, Reader};
use crate::templates::{TemplateError, Templates};

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot build the message")]
    Message(#[from] lettre::error::Error),
}

/// A rendered digest for one reader, as previews show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RenderedDigest {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub unsubscribe_url: String,
    pub publications: usize,
}

/// Composes every kind of email from the templates and the configuration.
/// Built once; cheap to share.
pub struct Composer {
    templates: Arc<Templates>,
    keys: Keys,
    from: Mailbox,
    /// From: of confirmations.
    from_transactional: Mailbox,
    list_name: String,
    list_id: String,
    base_url: Url,
    confirmation_ttl: Duration,
}

impl Composer {
    pub fn new(config: &Config, templates: Arc<Templates>, keys: Keys) -> Composer {
        Composer {
            templates,
            keys,
            from: config.mail.from.clone(),
            from_transactional: config.mail.from_transactional.clone(),
            list_name: config.mail.list_name.clone(),
            list_id: config.mail.list_id.clone(),
            base_url: config.http.base_url.clone(),
            confirmation_ttl: config.signup.confirmation_ttl,
        }
    }

    /// The digest `reader` gets from `publications` (for previews), or
    /// `None` if none is for them.
    pub fn render_digest(
        &self,
        reader: &Reader,
        publications: &[Publication],
    ) -> Result<Option<RenderedDigest>, ComposeError> {
        let token = self.keys.unsubscribe_token(&reader.unsubscribe_salt);
        self.render_digest_for(&reader.topics, publications, reader.email.as_str(), token.as_str())
    }

    /// The digest for readers with these `topics`, ready to be completed per
    /// reader (see `PreparedEmail`); `None` if none of it is for them.
    pub fn prepare_digest(
        &self,
        topics: &Topics,
        publications: &[Publication],
    ) -> Result<Option<PreparedEmail>, ComposeError> {
        let Some(rendered) = self.render_digest_for(topics, publications, TO_PLACEHOLDER, TOKEN_PLACEHOLDER)? else {
            return Ok(None);
        };
        let to = SubscriberEmail::from_trusted(TO_PLACEHOLDER.to_owned());
        let header = |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
        let message = self
            .headers(&self.from, &to, &rendered.subject)
            .raw_header(header("List-Unsubscribe", format!("<{}>", rendered.unsubscribe_url)))
            .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
            .raw_header(header("Precedence", "bulk".into()))
            .raw_header(header("Auto-Submitted", "auto-generated".into()))
            .multipart(alternative(rendered.text, rendered.html))?;
        Ok(Some(PreparedEmail::new(message.formatted(), self.from.email.clone())))
    }

    /// The unsubscribe token of a reader's subscription.
    pub fn unsubscribe_token(&self, unsubscribe_salt: &[u8]) -> crate::domain::Token {
        self.keys.unsubscribe_token(unsubscribe_salt)
    }

    fn render_digest_for(
        &self,
        topics: &Topics,
        publications: &[Publication],
        to: &str,
        unsubscribe_token: &str,
    ) -> Result<Option<RenderedDigest>, ComposeError> {
        let groups = groups_for(topics, publications);
        let count: usize = groups.iter().map(|g| g.publications.len()).sum();
        let Some(first_title) = groups.first().and_then(|g| g.publications.first()).map(|p| p.title.clone()) else {
            return Ok(None);
        };
        let unsubscribe_url = public_url(&self.base_url, "unsubscribe", &[("token", unsubscribe_token)]);
        // The preference page is authorised by the same token (see `routes::preferences`).
        let preferences_url = public_url(&self.base_url, "preferences", &[("token", unsubscribe_token)]);
        let context = context! {
            list_name => &self.list_name,
            count,
            first_title => if count == 1 { Some(first_title) } else { None },
            groups => minijinja::value::Serde(groups),
            topics => topics.names(),
            unsubscribe_url => &unsubscribe_url,
            preferences_url => &preferences_url,
        };
        Ok(Some(RenderedDigest {
            to: to.to_owned(),
            subject: self.templates.render_value("emails/digest.subject.txt", context.clone())?,
            text: self.templates.render_value("emails/digest.txt", context.clone())?,
            html: self.templates.render_value("emails/digest.html", context)?,
            unsubscribe_url,
            publications: count,
        }))
    }

    /// The confirmation email, to be completed with each reader's address and
    /// confirmation token. It names the list and carries the link, and
    /// nothing the visitor typed: bots use signup forms to mail strangers.
    pub fn prepare_confirmation(&self) -> Result<PreparedEmail, ComposeError> {
        let confirm_url = public_url(&self.base_url, "subscriptions/confirm", &[("token", TOKEN_PLACEHOLDER)]);
        let context = context! {
            list_name => &self.list_name,
            confirm_url => confirm_url,
            valid_for => describe_duration(self.confirmation_ttl),
        };
        let subject = self.templates.render_value("emails/confirmation.subject.txt", context.clone())?;
        let text = self.templates.render_value("emails/confirmation.txt", context.clone())?;
        let html = self.templates.render_value("emails/confirmation.html", context)?;
        let to = SubscriberEmail::from_trusted(TO_PLACEHOLDER.to_owned());
        let from = &self.from_transactional;
        let message = self.headers(from, &to, &subject).multipart(alternative(text, html))?;
        Ok(PreparedEmail::new(message.formatted(), from.email.clone()))
    }

    /// From, To, Subject, Date, Message-ID (to be filled in per reader) and
    /// List-Id: on every message.
    fn headers(&self, from: &Mailbox, to: &SubscriberEmail, subject: &str) -> MessageBuilder {
        let to: Mailbox = Mailbox::new(None, to.as_str().parse().expect("SubscriberEmail is a valid lettre Address"));
        // A template could produce line breaks; a subject is one line.
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let list_id = format!("{} <{}>", quote_phrase(&self.list_name), self.list_id);
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .date_now()
            .message_id(Some(format!("<{MESSAGE_ID_PLACEHOLDER}@{}>", from.email.domain())))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Id"), list_id))
    }
}

/// Text and HTML versions of one message. Each part is sent as it is (7bit)
/// when it can be, else quoted-printable; never base64, so that a prepared
/// digest's placeholders stay findable in the encoded body.
fn alternative(text: String, html: String) -> MultiPart {
    MultiPart::alternative()
        .singlepart(part(ContentType::TEXT_PLAIN, text))
        .singlepart(part(ContentType::TEXT_HTML, html))
}

fn part(content_type: ContentType, content: String) -> SinglePart {
    let body = Body::new_with_encoding(content, ContentTransferEncoding::SevenBit)
        .or_else(|content| Body::new_with_encoding(content, ContentTransferEncoding::QuotedPrintable))
        .expect("quoted-printable can encode anything");
    SinglePart::builder().header(content_type).body(body)
}

/// A display phrase for a header, quoted (RFC 5322) so that any text is safe.
fn quote_phrase(text: &str) -> String {
    let escaped: String = text
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// "48 hours" → "2 days"; for the reader, not for parsing.
fn describe_duration(duration: Duration) -> String {
    let hours = duration.as_secs() / 3600;
    match hours {
        0 => format!("{} minutes", duration.as_secs() / 60),
        1 => "1 hour".into(),
        h if h % 24 == 0 && h > 24 => format!("{} days", h / 24),
        24 => "1 day".into(),
        h => format!("{h} hours"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe_duration(Duration::from_secs(48 * 3600)), "2 days");
        assert_eq!(describe_duration(Duration::from_secs(24 * 3600)), "1 day");
        assert_eq!(describe_duration(Duration::from_secs(36 * 3600)), "36 hours");
        assert_eq!(describe_duration(Duration::from_secs(1800)), "30 minutes");
    }

    #[test]
    fn list_names_are_quoted_for_headers() {
        assert_eq!(quote_phrase(r#"The "Weekly" \ Brief"#), r#""The \"Weekly\" \\ Brief""#);
    }
}
