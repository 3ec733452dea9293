//! The optional name a subscriber gives.

use std::fmt;

/// At most 100 characters, no control characters and no invisible
/// bidirectional overrides (they make a name display as something else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("A name can be at most 100 characters long.")]
    TooLong,
    #[error("A name cannot contain control characters or line breaks.")]
    ForbiddenCharacter,
}

impl SubscriberName {
    pub const MAX_CHARS: usize = 100;

    /// `Ok(None)` for a blank name: the name is optional.
    pub fn parse(input: &str) -> Result<Option<SubscriberName>, NameError> {
        if input.chars().any(is_forbidden) {
            return Err(NameError::ForbiddenCharacter);
        }
        let trimmed = input.trim();
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(NameError::TooLong);
        }
        Ok((!trimmed.is_empty()).then(|| SubscriberName(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_trusted(stored: String) -> SubscriberName {
        SubscriberName(stored)
    }
}

fn is_forbidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for SubscriberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::strategies::{control_char, hostile_text};

    #[test]
    fn blank_names_are_absent() {
        assert_eq!(SubscriberName::parse(""), Ok(None));
        assert_eq!(SubscriberName::parse("   "), Ok(None));
    }

    #[test]
    fn names_are_trimmed_and_may_use_any_script() {
        let name = SubscriberName::parse("  Kim Jŏng-ŭn 김  ").unwrap().unwrap();
        assert_eq!(name.as_str(), "Kim Jŏng-ŭn 김");
    }

    #[test]
    fn one_hundred_characters_pass_and_one_hundred_and_one_do_not() {
        assert!(SubscriberName::parse(&"é".repeat(100)).unwrap().is_some());
        assert_eq!(SubscriberName::parse(&"é".repeat(101)), Err(NameError::TooLong));
    }

    #[test]
    fn control_characters_and_line_breaks_are_refused() {
        for input in ["Jane\r\nBcc: x@y.org", "Jane\n", "\tJane", "Ja\0ne", "Jane\u{7f}", "Jane\u{202E}", "a\u{2028}b"]
        {
            assert_eq!(SubscriberName::parse(input), Err(NameError::ForbiddenCharacter), "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn accepted_names_are_bounded_clean_and_parse_to_themselves(input in hostile_text(150)) {
            if let Ok(Some(name)) = SubscriberName::parse(&input) {
                prop_assert!(name.as_str().chars().count() <= SubscriberName::MAX_CHARS);
                prop_assert!(!name.as_str().chars().any(is_forbidden));
                prop_assert_eq!(name.as_str().trim(), name.as_str());
                prop_assert_eq!(SubscriberName::parse(name.as_str()), Ok(Some(name.clone())));
            }
        }

        #[test]
        fn a_control_character_anywhere_is_refused(name in "\\PC{0,50}", c in control_char(), at in any::<prop::sample::Index>()) {
            let mut chars: Vec<char> = name.chars().collect();
            chars.insert(at.index(chars.len() + 1), c);
            let name: String = chars.into_iter().collect();
            prop_assert_eq!(SubscriberName::parse(&name), Err(NameError::ForbiddenCharacter));
        }

        #[test]
        fn names_over_one_hundred_characters_are_refused(name in "[^\\s\\p{C}]{101,130}") {
            prop_assert_eq!(SubscriberName::parse(&name), Err(NameError::TooLong));
        }
    }
}
