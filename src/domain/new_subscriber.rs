//! A signup request, parsed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{SubscriberEmail, SubscriberName, Topics};

/// The fields of a signup as they arrived (form or JSON), not yet trusted.
#[derive(Debug, Default, Clone)]
pub struct SignupInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub topics: Vec<String>,
}

/// A signup whose every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    pub email: SubscriberEmail,
    pub name: Option<SubscriberName>,
    pub topics: Topics,
}

/// Messages per field, in the `{"errors": {field: [messages]}}` shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl ToString) {
        self.0.entry(field).or_default().push(message.to_string());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    pub fn single(field: &'static str, message: impl ToString) -> FieldErrors {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        errors
    }
}

impl TryFrom<SignupInput> for NewSubscriber {
    type Error = FieldErrors;

    fn try_from(input: SignupInput) -> Result<Self, Self::Error> {
        let mut errors = FieldErrors::default();
        let email =
            SubscriberEmail::parse(input.email.as_deref().unwrap_or("")).map_err(|e| errors.add("email", e)).ok();
        let name = SubscriberName::parse(input.name.as_deref().unwrap_or("")).map_err(|e| errors.add("name", e)).ok();
        let topics = Topics::parse(&input.topics).map_err(|e| errors.add("topics", e)).ok();
        match (email, name, topics) {
            (Some(email), Some(name), Some(topics)) if errors.is_empty() => Ok(NewSubscriber { email, name, topics }),
            _ => Err(errors),
        }
    }
}

/// How a subscription was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentSource {
    /// The HTML signup form.
    Form,
    /// The JSON API (a publisher's own form, usually).
    Api,
    /// `bulletin subscribers import`.
    Import,
}

impl ConsentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentSource::Form => "form",
            ConsentSource::Api => "api",
            ConsentSource::Import => "import",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(email: &str, name: &str, topics: &[&str]) -> SignupInput {
        SignupInput {
            email: Some(email.into()),
            name: Some(name.into()),
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn a_valid_signup_parses() {
        let new = NewSubscriber::try_from(input("a@example.org", "Ann", &["Trade"])).unwrap();
        assert_eq!(new.email.as_str(), "a@example.org");
        assert_eq!(new.name.unwrap().as_str(), "Ann");
        assert_eq!(new.topics.names(), vec!["Trade"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = NewSubscriber::try_from(input("nope", &"n".repeat(101), &[&"t".repeat(65)])).unwrap_err();
        assert!(errors.get("email").is_some());
        assert!(errors.get("name").is_some());
        assert!(errors.get("topics").is_some());
    }

    #[test]
    fn a_missing_email_is_a_field_error() {
        let errors = NewSubscriber::try_from(SignupInput::default()).unwrap_err();
        assert_eq!(errors.get("email").unwrap().len(), 1);
    }
}
