//! Turning a claimed delivery into a complete message.

use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder, MultiPart};
use minijinja::context;
use url::Url;

use super::digest::groups_for;
use super::links::public_url;
use crate::config::Config;
use crate::domain::SubscriberEmail;
use crate::keys::Keys;
use crate::store::{ClaimedDelivery, DeliveryKind, Publication, Reader};
use crate::templates::{TemplateError, Templates};

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot build the message")]
    Message(#[from] lettre::error::Error),
    #[error("the delivery has no confirmation token")]
    MissingToken,
    #[error("the digest's publications were not loaded")]
    MissingDigest,
}

/// What a delivery becomes.
#[derive(Debug)]
pub enum Composed {
    Message(Box<Message>),
    /// None of the digest is for this reader (their topics changed since it
    /// was queued): nothing to send.
    NothingForReader,
}

/// A rendered digest for one reader, as previews show it.
#[derive(Debug, Clone, serde::Serialize)]
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
            list_name: config.mail.list_name.clone(),
            list_id: config.mail.list_id.clone(),
            base_url: config.http.base_url.clone(),
            confirmation_ttl: config.signup.confirmation_ttl,
        }
    }

    /// `digest` holds the publications of the delivery's digest, if it is one.
    pub fn compose(
        &self,
        delivery: &ClaimedDelivery,
        digest: Option<&[Publication]>,
    ) -> Result<Composed, ComposeError> {
        match delivery.kind {
            DeliveryKind::Confirmation => Ok(Composed::Message(Box::new(self.confirmation(delivery)?))),
            DeliveryKind::Digest => {
                let publications = digest.ok_or(ComposeError::MissingDigest)?;
                match self.render_digest(&delivery.reader(), publications)? {
                    Some(rendered) => Ok(Composed::Message(Box::new(self.digest_message(rendered)?))),
                    None => Ok(Composed::NothingForReader),
                }
            }
        }
    }

    /// The digest `reader` gets from `publications`, or `None` if none is for them.
    pub fn render_digest(
        &self,
        reader: &Reader,
        publications: &[Publication],
    ) -> Result<Option<RenderedDigest>, ComposeError> {
        let groups = groups_for(&reader.topics, publications);
        let count: usize = groups.iter().map(|g| g.publications.len()).sum();
        let Some(first_title) = groups.first().and_then(|g| g.publications.first()).map(|p| p.title.clone()) else {
            return Ok(None);
        };
        let token = self.keys.unsubscribe_token(&reader.unsubscribe_salt);
        let unsubscribe_url = public_url(&self.base_url, "unsubscribe", &[("token", token.as_str())]);
        let context = context! {
            list_name => &self.list_name,
            count,
            first_title => if count == 1 { Some(first_title) } else { None },
            groups => minijinja::value::Serde(groups),
            topics => reader.topics.names(),
            unsubscribe_url => &unsubscribe_url,
        };
        Ok(Some(RenderedDigest {
            to: reader.email.to_string(),
            subject: self.templates.render_value("emails/digest.subject.txt", context.clone())?,
            text: self.templates.render_value("emails/digest.txt", context.clone())?,
            html: self.templates.render_value("emails/digest.html", context)?,
            unsubscribe_url,
            publications: count,
        }))
    }

    /// A digest as a message: one-click unsubscribe (RFC 8058) and bulk-mail headers.
    fn digest_message(&self, rendered: RenderedDigest) -> Result<Message, ComposeError> {
        let to = SubscriberEmail::from_trusted(rendered.to);
        let header = |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
        let message = self
            .headers(&to, &rendered.subject)
            .raw_header(header("List-Unsubscribe", format!("<{}>", rendered.unsubscribe_url)))
            .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
            .raw_header(header("Precedence", "bulk".into()))
            .raw_header(header("Auto-Submitted", "auto-generated".into()))
            .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))?;
        Ok(message)
    }

    /// The confirmation email names the list and carries the link, and
    /// nothing the visitor typed: bots use signup forms to mail strangers.
    fn confirmation(&self, delivery: &ClaimedDelivery) -> Result<Message, ComposeError> {
        let token = delivery.confirmation_token.as_ref().ok_or(ComposeError::MissingToken)?;
        let confirm_url = public_url(&self.base_url, "subscriptions/confirm", &[("token", token.as_str())]);
        let context = context! {
            list_name => &self.list_name,
            confirm_url => confirm_url,
            valid_for => describe_duration(self.confirmation_ttl),
        };
        let subject = self.templates.render_value("emails/confirmation.subject.txt", context.clone())?;
        let text = self.templates.render_value("emails/confirmation.txt", context.clone())?;
        let html = self.templates.render_value("emails/confirmation.html", context)?;
        let message =
            self.headers(&delivery.email, &subject).multipart(MultiPart::alternative_plain_html(text, html))?;
        Ok(message)
    }

    /// From, To, Subject, Date, Message-ID and List-Id: on every message.
    fn headers(&self, to: &SubscriberEmail, subject: &str) -> MessageBuilder {
        let to: Mailbox = Mailbox::new(None, to.as_str().parse().expect("SubscriberEmail is a valid lettre Address"));
        // A template could produce line breaks; a subject is one line.
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let list_id = format!("{} <{}>", quote_phrase(&self.list_name), self.list_id);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .date_now()
            .message_id(Some(format!("<{}@{}>", uuid::Uuid::new_v4(), self.from.email.domain())))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Id"), list_id))
    }
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
