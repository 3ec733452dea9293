//! Reading a permanent SMTP refusal: does it say the address itself is bad
//! (a hard bounce, counted against the subscriber), or refuse this message
//! for another reason (content, policy, the relay's own trouble)?

/// Whether a permanent refusal names the recipient's address as bad.
///
/// The enhanced status code (RFC 3463), when the reply has one, decides:
/// `5.1.x` (addressing: no such mailbox, no such domain) and `5.2.1` (mailbox
/// disabled) are bad addresses, except `5.1.7` and `5.1.8`, which are about
/// the sender. Without one, the basic codes servers use for unknown users
/// (550, 551, 553) count.
pub fn names_a_bad_address(basic_code: u16, reply: &str) -> bool {
    match enhanced_code(reply) {
        Some((5, 1, detail)) => !matches!(detail, 7 | 8),
        Some((5, 2, 1)) => true,
        Some(_) => false,
        None => matches!(basic_code, 550 | 551 | 553),
    }
}

/// The first `class.subject.detail` in the reply, e.g. `5.1.1`.
fn enhanced_code(reply: &str) -> Option<(u8, u16, u16)> {
    reply.split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')').find_map(|word| {
        let mut parts = word.trim_end_matches([',', ';']).split('.');
        let class = parts.next()?.parse::<u8>().ok().filter(|c| matches!(c, 2 | 4 | 5))?;
        let subject = parts.next()?.parse::<u16>().ok().filter(|s| *s < 1000)?;
        let detail = parts.next()?.parse::<u16>().ok().filter(|d| *d < 1000)?;
        parts.next().is_none().then_some((class, subject, detail))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_mailboxes_and_domains_are_bad_addresses() {
        assert!(names_a_bad_address(550, "permanent error (550): 5.1.1 No such user here"));
        assert!(names_a_bad_address(550, "550 5.1.2 Host unknown"));
        assert!(names_a_bad_address(550, "550 5.1.10 Recipient address has null MX"));
        assert!(names_a_bad_address(550, "550 5.2.1 The email account that you tried to reach is disabled"));
        assert!(names_a_bad_address(550, "550 Requested action not taken: mailbox unavailable"));
        assert!(names_a_bad_address(553, "553 sorry, that domain isn't in my list of allowed rcpthosts"));
    }

    #[test]
    fn content_policy_sender_and_system_refusals_are_not() {
        assert!(!names_a_bad_address(550, "550 5.7.1 Message rejected as spam"));
        assert!(!names_a_bad_address(554, "554 5.6.0 Message content rejected"));
        assert!(!names_a_bad_address(552, "552 5.2.2 Mailbox full"));
        assert!(!names_a_bad_address(550, "550 5.1.8 Bad sender's system address"));
        assert!(!names_a_bad_address(554, "554 Transaction failed"));
        assert!(!names_a_bad_address(552, "552 Message size exceeds fixed limit"));
    }

    #[test]
    fn version_numbers_and_addresses_are_not_taken_for_status_codes() {
        assert_eq!(enhanced_code("550 rejected by mx 1.2.3.4 see 10.0.0"), None);
        assert_eq!(enhanced_code("550 5.1.1 <a@b.example>: Recipient address rejected"), Some((5, 1, 1)));
    }
}
