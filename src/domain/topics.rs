//! The topics a reader chose: matched case-insensitively against a
//! publication's category. No topics means "everything".

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic(String);

/// At most 20 distinct topics (compared case-insensitively), in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics(Vec<Topic>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("Choose at most 20 topics.")]
    TooMany,
    #[error("A topic can be at most 64 characters long.")]
    TooLong,
    #[error("A topic cannot contain control characters.")]
    ForbiddenCharacter,
}

impl Topic {
    pub const MAX_CHARS: usize = 64;

    /// `Ok(None)` for a blank entry, which is skipped.
    pub fn parse(input: &str) -> Result<Option<Topic>, TopicError> {
        if input.chars().any(char::is_control) {
            return Err(TopicError::ForbiddenCharacter);
        }
        let trimmed = input.trim();
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(TopicError::TooLong);
        }
        Ok((!trimmed.is_empty()).then(|| Topic(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key topics and categories are compared by.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Topics {
    pub const MAX_COUNT: usize = 20;

    pub fn parse<S: AsRef<str>>(inputs: &[S]) -> Result<Topics, TopicError> {
        let mut topics: Vec<Topic> = Vec::new();
        for input in inputs {
            let Some(topic) = Topic::parse(input.as_ref())? else { continue };
            if topics.iter().any(|known| known.key() == topic.key()) {
                continue;
            }
            if topics.len() == Self::MAX_COUNT {
                return Err(TopicError::TooMany);
            }
            topics.push(topic);
        }
        Ok(Topics(topics))
    }

    /// The JSON array stored in the `topics` column.
    pub fn to_json(&self) -> String {
        serde_json::Value::from(self.0.iter().map(|t| t.0.clone()).collect::<Vec<_>>()).to_string()
    }

    /// The lower-cased topics as a JSON array: the `topic_keys` column, which
    /// digests compare with publications' category keys.
    pub fn keys_json(&self) -> String {
        serde_json::Value::from(self.0.iter().map(Topic::key).collect::<Vec<_>>()).to_string()
    }

    /// Reads the stored JSON array back; values were validated on the way in.
    pub fn from_json(stored: &str) -> Topics {
        let names: Vec<String> = serde_json::from_str(stored).unwrap_or_default();
        Topics(names.into_iter().map(Topic).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Topic> {
        self.0.iter()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.clone()).collect()
    }

    /// Whether a publication in `category` is for this reader. No topics,
    /// or no category, means it is.
    pub fn wants(&self, category: Option<&str>) -> bool {
        match category {
            None => true,
            Some(category) => self.0.is_empty() || self.0.iter().any(|t| t.key() == category.to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::strategies::hostile_text;

    #[test]
    fn topics_are_trimmed_deduplicated_case_insensitively_and_keep_their_order() {
        let topics = Topics::parse(&[" Trade ", "North Korea", "trade", "", "TRADE"]).unwrap();
        assert_eq!(topics.names(), vec!["Trade", "North Korea"]);
    }

    #[test]
    fn twenty_topics_pass_and_twenty_one_do_not() {
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert_eq!(Topics::parse(&twenty).unwrap().iter().count(), 20);
        let mut twenty_one = twenty.clone();
        twenty_one.push("one more".into());
        assert_eq!(Topics::parse(&twenty_one), Err(TopicError::TooMany));
    }

    #[test]
    fn long_or_control_character_topics_are_refused() {
        assert_eq!(Topics::parse(&["x".repeat(65)]), Err(TopicError::TooLong));
        assert!(Topics::parse(&["x".repeat(64)]).is_ok());
        assert_eq!(Topics::parse(&["Trade\r\n"]), Err(TopicError::ForbiddenCharacter));
    }

    #[test]
    fn a_reader_without_topics_wants_everything_and_uncategorised_items_go_to_all() {
        let none = Topics::default();
        let trade = Topics::parse(&["Trade"]).unwrap();
        assert!(none.wants(Some("Energy")));
        assert!(trade.wants(Some("trade")));
        assert!(!trade.wants(Some("Energy")));
        assert!(trade.wants(None));
    }

    #[test]
    fn keys_are_lower_cased_beyond_ascii() {
        let topics = Topics::parse(&["Économie", "TRADE"]).unwrap();
        assert_eq!(topics.keys_json(), r#"["économie","trade"]"#);
    }

    #[test]
    fn json_round_trip() {
        let topics = Topics::parse(&["Trade", "Ünïcode \"quoted\""]).unwrap();
        assert_eq!(Topics::from_json(&topics.to_json()), topics);
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_results_are_bounded(inputs in prop::collection::vec(hostile_text(80), 0..30)) {
            if let Ok(topics) = Topics::parse(&inputs) {
                prop_assert!(topics.iter().count() <= Topics::MAX_COUNT);
                prop_assert!(topics.iter().all(|t| t.as_str().chars().count() <= Topic::MAX_CHARS && !t.as_str().is_empty()));
                prop_assert!(topics.iter().all(|t| !t.as_str().chars().any(char::is_control)));
                let keys: std::collections::HashSet<String> = topics.iter().map(Topic::key).collect();
                prop_assert_eq!(keys.len(), topics.iter().count(), "two topics share a key");
                prop_assert_eq!(Topics::parse(&topics.names()), Ok(topics.clone()));
                prop_assert_eq!(Topics::from_json(&topics.to_json()), topics);
            }
        }

        #[test]
        fn any_casing_of_a_topic_is_the_same_topic(topic in "[a-zA-Zéü ]{1,30}") {
            prop_assume!(!topic.trim().is_empty());
            let once = Topics::parse(&[topic.as_str()]).unwrap();
            let variants = Topics::parse(&[topic.clone(), topic.to_uppercase(), topic.to_lowercase()]).unwrap();
            prop_assert_eq!(variants, once.clone());
            prop_assert!(once.wants(Some(&topic.trim().to_uppercase())));
        }
    }
}
