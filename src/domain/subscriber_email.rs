//! A subscriber's email address.

use std::fmt;

use validator::ValidateEmail;

/// An address we can store and send to: trimmed, domain lower-cased (and
/// internationalised domains converted to their ASCII form), at most 254
/// characters, accepted by `validator` and by lettre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberEmail(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Please enter your email address.")]
    Empty,
    #[error("An email address can be at most 254 characters long.")]
    TooLong,
    #[error("The part before the @ can be at most 64 characters long.")]
    LocalPartTooLong,
    #[error("Addresses with non-ASCII characters before the @ are not supported.")]
    NonAsciiLocalPart,
    #[error("This is not a valid email address.")]
    Invalid,
}

impl SubscriberEmail {
    pub const MAX_LEN: usize = 254;
    const MAX_LOCAL_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<SubscriberEmail, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        // Measured before normalising too, so a huge input is refused cheaply.
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if local.is_empty() || domain.is_empty() {
            return Err(EmailError::Invalid);
        }
        if !local.is_ascii() {
            return Err(EmailError::NonAsciiLocalPart);
        }
        if local.len() > Self::MAX_LOCAL_LEN {
            return Err(EmailError::LocalPartTooLong);
        }
        let domain = idna::domain_to_ascii(domain).map_err(|_| EmailError::Invalid)?;
        let address = format!("{local}@{domain}");
        if address.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        // Bare hosts such as `root@localhost` pass `validator`, but no
        // publisher's reader has one.
        if !domain.contains('.') || !address.validate_email() || address.parse::<lettre::Address>().is_err() {
            return Err(EmailError::Invalid);
        }
        Ok(SubscriberEmail(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to recognise the same mailbox however it was typed
    /// (`Jane@Example.org` and `jane@example.org` are one reader).
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// For values read back from the database, which were parsed on the way in.
    pub fn from_trusted(stored: String) -> SubscriberEmail {
        SubscriberEmail(stored)
    }
}

impl AsRef<str> for SubscriberEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubscriberEmail {
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
    fn valid_addresses_are_trimmed_and_their_domain_lower_cased() {
        let email = SubscriberEmail::parse("  Jane.Doe@Example.ORG \n").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe@example.org");
        assert_eq!(email.canonical(), "jane.doe@example.org");
    }

    #[test]
    fn internationalised_domains_become_ascii() {
        let email = SubscriberEmail::parse("leser@Bücher.example").unwrap();
        assert_eq!(email.as_str(), "leser@xn--bcher-kva.example");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for input in ["", "   ", "a", "a@", "@b.org", "a@@b.org", "a b@c.org", "a@b", "a@b..org", "a@-b.org"] {
            assert!(SubscriberEmail::parse(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn header_injection_is_refused() {
        for input in ["a@b.org\r\nBcc: x@y.org", "a@b.org\nBcc: x@y.org", "a\r\n@b.org", "a@b.org\0"] {
            assert!(SubscriberEmail::parse(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn length_limits_follow_rfc_5321() {
        let local = "a".repeat(64);
        let domain = format!("{}.{}.{}.org", "b".repeat(63), "c".repeat(63), "d".repeat(63 - 6));
        let longest = format!("{local}@{domain}");
        assert_eq!(longest.len(), 254);
        assert!(SubscriberEmail::parse(&longest).is_ok());
        let too_long = format!("{local}@{}", domain.replacen("d", "dd", 1));
        assert_eq!(too_long.len(), 255);
        assert_eq!(SubscriberEmail::parse(&too_long), Err(EmailError::TooLong));
        assert_eq!(SubscriberEmail::parse(&format!("{}@b.org", "a".repeat(65))), Err(EmailError::LocalPartTooLong));
    }

    #[test]
    fn non_ascii_local_parts_are_refused_with_a_reason() {
        assert_eq!(SubscriberEmail::parse("jürgen@example.org"), Err(EmailError::NonAsciiLocalPart));
    }

    const LOCAL: &str = "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]";

    proptest! {
        #[test]
        fn parsing_never_panics_and_accepted_values_are_bounded(input in hostile_text(300)) {
            if let Ok(email) = SubscriberEmail::parse(&input) {
                let text = email.as_str();
                prop_assert!(text.len() <= SubscriberEmail::MAX_LEN);
                prop_assert!(!text.chars().any(|c| c.is_control() || c.is_whitespace()));
                let domain = text.rsplit_once('@').map(|(_, d)| d).unwrap();
                prop_assert_eq!(domain, domain.to_lowercase());
                prop_assert_eq!(SubscriberEmail::parse(text), Ok(email.clone()));
            }
        }

        #[test]
        fn surrounding_whitespace_is_trimmed_and_the_domain_lower_cased(
            local in LOCAL, domain in "[a-zA-Z0-9]{1,20}\\.(ORG|Com|net)", pad in "[ \t\r\n]{0,3}"
        ) {
            prop_assume!(!local.contains(".."));
            let email = SubscriberEmail::parse(&format!("{pad}{local}@{domain}{pad}")).unwrap();
            prop_assert_eq!(email.as_str(), format!("{local}@{}", domain.to_lowercase()));
        }

        #[test]
        fn a_control_character_inside_an_address_is_refused(
            local in LOCAL, domain in "[a-z0-9]{1,20}\\.org", c in control_char(), at in any::<prop::sample::Index>()
        ) {
            let mut address: Vec<char> = format!("{local}@{domain}").chars().collect();
            address.insert(1 + at.index(address.len() - 1), c);
            prop_assert!(SubscriberEmail::parse(&address.into_iter().collect::<String>()).is_err());
        }

        #[test]
        fn addresses_over_254_characters_are_refused(labels in prop::collection::vec("[a-z0-9]{1,63}", 4..12)) {
            let address = format!("{}@{}.org", "a".repeat(64), labels.join("."));
            let parsed = SubscriberEmail::parse(&address);
            if address.len() > SubscriberEmail::MAX_LEN {
                prop_assert_eq!(parsed, Err(EmailError::TooLong));
            } else {
                prop_assert!(parsed.is_ok(), "{address} was refused");
            }
        }

        #[test]
        fn ordinary_addresses_are_accepted(local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", domain in "[a-z0-9]{1,20}\\.(org|com|net)") {
            let input = format!("{local}@{domain}");
            prop_assume!(!local.contains(".."));
            prop_assert_eq!(SubscriberEmail::parse(&input).map(|e| e.as_str().to_owned()), Ok(input));
        }
    }
}
