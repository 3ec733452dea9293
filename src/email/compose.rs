//! Turning a claimed delivery into a complete message.

use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder, MultiPart};
use minijinja::context;
use url::Url;

use super::links::public_url;
use crate::config::Config;
use crate::domain::SubscriberEmail;
use crate::store::{ClaimedDelivery, DeliveryKind};
use crate::templates::{TemplateError, Templates};

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot build the message")]
    Message(#[from] lettre::error::Error),
    #[error("the delivery has no confirmation token")]
    MissingToken,
    #[error("{0} emails cannot be composed by this version")]
    Unsupported(&'static str),
}

/// Composes every kind of email from the templates and the configuration.
/// Built once; cheap to share.
pub struct Composer {
    templates: Arc<Templates>,
    from: Mailbox,
    list_name: String,
    list_id: String,
    base_url: Url,
    confirmation_ttl: Duration,
}

impl Composer {
    pub fn new(config: &Config, templates: Arc<Templates>) -> Composer {
        Composer {
            templates,
            from: config.mail.from.clone(),
            list_name: config.mail.list_name.clone(),
            list_id: config.mail.list_id.clone(),
            base_url: config.http.base_url.clone(),
            confirmation_ttl: config.signup.confirmation_ttl,
        }
    }

    pub fn compose(&self, delivery: &ClaimedDelivery) -> Result<Message, ComposeError> {
        match delivery.kind {
            DeliveryKind::Confirmation => self.confirmation(delivery),
            DeliveryKind::Digest => Err(ComposeError::Unsupported("digest")),
        }
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
