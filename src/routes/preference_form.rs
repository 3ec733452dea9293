//! The preference form as posted, and its checks: the name and topics go
//! through the same domain types as a signup, and only offered topics are
//! accepted.

use serde::Serialize;

use crate::domain::{FieldErrors, SubscriberName, SubscriptionStatus, Topics};
use crate::store::Preferences;

/// The fields as they arrived, not yet trusted.
#[derive(Debug, Default, Clone)]
pub struct PreferenceForm {
    pub token: Option<String>,
    pub name: Option<String>,
    pub topics: Vec<String>,
}

/// One checkbox of the form.
#[derive(Debug, Serialize)]
pub struct TopicChoice {
    pub name: String,
    pub checked: bool,
}

impl PreferenceForm {
    /// `token`, `name` and repeated `topics` (or `topics[]`); others ignored.
    pub fn parse(body: &[u8]) -> PreferenceForm {
        let mut form = PreferenceForm::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            match key.as_ref() {
                "token" => form.token = Some(value.into_owned()),
                "name" => form.name = Some(value.into_owned()),
                "topics" | "topics[]" => form.topics.push(value.into_owned()),
                _ => {}
            }
        }
        form
    }

    /// The form filled with what is stored.
    pub fn from_current(current: &Preferences) -> PreferenceForm {
        PreferenceForm {
            token: None,
            name: current.name.as_ref().map(|n| n.as_str().to_owned()),
            topics: current.topics.names(),
        }
    }

    /// The new preferences, or every field's errors. `offered` are the
    /// topics the page showed: anything else is refused, not silently kept.
    pub fn validate(&self, offered: &[String]) -> Result<Preferences, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = SubscriberName::parse(self.name.as_deref().unwrap_or("")).map_err(|e| errors.add("name", e)).ok();
        let topics = Topics::parse(&self.topics).map_err(|e| errors.add("topics", e)).ok();
        if let Some(topics) = &topics {
            for topic in topics.iter().filter(|t| !offered.iter().any(|o| o.to_lowercase() == t.key())) {
                errors.add("topics", format!("“{topic}” is not one of the topics on offer."));
            }
        }
        match (name, topics) {
            (Some(name), Some(topics)) if errors.is_empty() => {
                Ok(Preferences { status: SubscriptionStatus::Confirmed, name, topics })
            }
            _ => Err(errors),
        }
    }
}

/// A checkbox per offered topic, ticked when `chosen` has it (in any case).
pub fn topic_choices(offered: &[String], chosen: &[String]) -> Vec<TopicChoice> {
    offered
        .iter()
        .map(|name| TopicChoice {
            name: name.clone(),
            checked: chosen.iter().any(|c| c.trim().to_lowercase() == name.to_lowercase()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Vec<String> {
        vec!["North Korea".into(), "Trade".into()]
    }

    #[test]
    fn the_form_reads_repeated_topics_in_either_spelling() {
        let form = PreferenceForm::parse(b"token=abc&name=Ann+Lee&topics=Trade&topics%5B%5D=North+Korea&x=1");
        assert_eq!(form.token.as_deref(), Some("abc"));
        assert_eq!(form.name.as_deref(), Some("Ann Lee"));
        assert_eq!(form.topics, vec!["Trade", "North Korea"]);
    }

    #[test]
    fn offered_topics_in_any_case_are_accepted_and_none_means_everything() {
        let form = PreferenceForm { name: Some(" Ann ".into()), topics: vec!["trade".into()], ..Default::default() };
        let update = form.validate(&offered()).unwrap();
        assert_eq!(update.name.unwrap().as_str(), "Ann");
        assert_eq!(update.topics.names(), vec!["trade"]);
        let everything = PreferenceForm::default().validate(&offered()).unwrap();
        assert!(everything.name.is_none() && everything.topics.is_empty());
    }

    #[test]
    fn unknown_topics_and_bad_names_are_field_errors_together() {
        let form = PreferenceForm {
            name: Some("Ann\u{202E}".into()),
            topics: vec!["Trade".into(), "Gardening".into()],
            ..Default::default()
        };
        let errors = form.validate(&offered()).unwrap_err();
        assert!(errors.get("name").is_some());
        assert!(errors.get("topics").unwrap()[0].contains("Gardening"));
    }

    #[test]
    fn checkboxes_are_ticked_case_insensitively() {
        let choices = topic_choices(&offered(), &["trade".into()]);
        assert_eq!(choices.iter().map(|c| c.checked).collect::<Vec<_>>(), vec![false, true]);
    }
}
