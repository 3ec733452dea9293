//! An email composed once, then completed per reader by filling in what
//! differs: the address, the Message-ID and a token (the unsubscribe token
//! of a digest, the confirmation token of a confirmation). A digest is
//! prepared once per set of reader topics; a confirmation once.
//!
//! Rendering the templates and MIME-encoding ~10 KB for every one of 100,000
//! readers was most of the worker's CPU time; filling three placeholders in
//! the finished bytes costs a copy. The message is still made when it is
//! sent, from the digest and the reader; nothing is stored per reader.

use std::ops::Range;
use std::time::Instant;

use lettre::Address;
use lettre::address::Envelope;

use crate::domain::{SubscriberEmail, Token};

/// Stands for the reader's address in the `To` header.
pub(super) const TO_PLACEHOLDER: &str = "bulletin-reader-placeholder@reader.invalid";
/// Stands for the unique part of the Message-ID: 32 characters, as a UUID's.
pub(super) const MESSAGE_ID_PLACEHOLDER: &str = "MESSAGEIDPLACEHOLDER000000000000";
/// Stands for the reader's token: as long as a token, of token characters,
/// so quoted-printable encodes it unchanged and wraps it where it would wrap
/// the token.
pub(super) const TOKEN_PLACEHOLDER: &str = "UNSUBSCRIBETOKENPLACEHOLDER0000000000000000";

pub struct PreparedEmail {
    message: Vec<u8>,
    /// The message cut at its placeholders, found once here so that each
    /// reader's copy is a series of slices and values.
    pieces: Vec<Piece>,
    from: Address,
    prepared_at: Instant,
}

enum Piece {
    Bytes(Range<usize>),
    To,
    /// With the offsets (within the value) where soft line breaks go.
    MessageId(Vec<usize>),
    Token(Vec<usize>),
}

const SOFT_BREAK: &[u8] = b"=\r\n";

impl PreparedEmail {
    pub(super) fn new(message: Vec<u8>, from: Address) -> PreparedEmail {
        let pieces = cut(&message);
        PreparedEmail { message, pieces, from, prepared_at: Instant::now() }
    }

    /// Its `Date` header was set when it was prepared.
    pub fn age(&self) -> std::time::Duration {
        self.prepared_at.elapsed()
    }

    /// The envelope and the complete message for one reader.
    pub fn for_reader(&self, email: &SubscriberEmail, token: &Token) -> (Envelope, Vec<u8>) {
        let message_id = uuid::Uuid::new_v4().simple().to_string();
        let mut out = Vec::with_capacity(self.message.len() + email.as_str().len());
        for piece in &self.pieces {
            match piece {
                Piece::Bytes(range) => out.extend_from_slice(&self.message[range.clone()]),
                Piece::To => out.extend_from_slice(email.as_str().as_bytes()),
                Piece::MessageId(breaks) => put(&mut out, message_id.as_bytes(), breaks),
                Piece::Token(breaks) => put(&mut out, token.as_str().as_bytes(), breaks),
            }
        }
        let to: Address = email.as_str().parse().expect("SubscriberEmail is a valid lettre Address");
        let envelope = Envelope::new(Some(self.from.clone()), vec![to]).expect("an envelope with a recipient");
        (envelope, out)
    }
}

/// Splits `message` at its placeholders. A placeholder in a quoted-printable
/// body may have been cut by soft line breaks (`=\r\n`); the value put in
/// its place gets them at the same offsets, which needs it to be exactly as
/// long as the placeholder (the token and the Message-ID are; the address is
/// only in the `To` header, which is never cut).
fn cut(message: &[u8]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let (mut literal_from, mut i) = (0, 0);
    while i < message.len() {
        let found = [TO_PLACEHOLDER, MESSAGE_ID_PLACEHOLDER, TOKEN_PLACEHOLDER]
            .into_iter()
            .enumerate()
            .find_map(|(kind, placeholder)| match_at(message, i, placeholder.as_bytes()).map(|m| (kind, m)));
        let Some((kind, (end, breaks))) = found.filter(|(kind, (_, breaks))| *kind != 0 || breaks.is_empty()) else {
            i += 1;
            continue;
        };
        pieces.push(Piece::Bytes(literal_from..i));
        pieces.push(match kind {
            0 => Piece::To,
            1 => Piece::MessageId(breaks),
            _ => Piece::Token(breaks),
        });
        literal_from = end;
        i = end;
    }
    pieces.push(Piece::Bytes(literal_from..message.len()));
    pieces
}

/// Whether `placeholder` starts at `start`, possibly cut by soft line
/// breaks: its end, and the offsets of the breaks within it.
fn match_at(message: &[u8], start: usize, placeholder: &[u8]) -> Option<(usize, Vec<usize>)> {
    let (mut matched, mut at, mut breaks) = (0, start, Vec::new());
    while matched < placeholder.len() {
        if matched > 0 && message[at..].starts_with(SOFT_BREAK) {
            breaks.push(matched);
            at += SOFT_BREAK.len();
        } else if message.get(at) == Some(&placeholder[matched]) {
            matched += 1;
            at += 1;
        } else {
            return None;
        }
    }
    Some((at, breaks))
}

fn put(out: &mut Vec<u8>, value: &[u8], breaks: &[usize]) {
    let mut from = 0;
    for &offset in breaks {
        out.extend_from_slice(&value[from..offset]);
        out.extend_from_slice(SOFT_BREAK);
        from = offset;
    }
    out.extend_from_slice(&value[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(message: &str) -> PreparedEmail {
        PreparedEmail::new(message.as_bytes().to_vec(), "from@example.org".parse().unwrap())
    }

    fn token() -> Token {
        Token::parse(&"t".repeat(Token::LEN)).unwrap()
    }

    #[test]
    fn every_placeholder_is_filled() {
        let message = format!(
            "To: {TO_PLACEHOLDER}\r\nMessage-ID: <{MESSAGE_ID_PLACEHOLDER}@x>\r\n\r\n?token={TOKEN_PLACEHOLDER} and ?token={TOKEN_PLACEHOLDER}"
        );
        let email = SubscriberEmail::parse("ann@example.org").unwrap();
        let (envelope, filled) = prepared(&message).for_reader(&email, &token());
        let filled = String::from_utf8(filled).unwrap();
        assert!(filled.starts_with("To: ann@example.org\r\nMessage-ID: <"));
        assert_eq!(filled.matches(&"t".repeat(Token::LEN)).count(), 2);
        assert!(!filled.contains("PLACEHOLDER"));
        assert_eq!(envelope.to()[0].to_string(), "ann@example.org");
    }

    #[test]
    fn a_token_cut_by_a_soft_line_break_keeps_the_break() {
        let (head, tail) = TOKEN_PLACEHOLDER.split_at(10);
        let message = format!("To: {TO_PLACEHOLDER}\r\n\r\nurl ?token={head}=\r\n{tail} end");
        let email = SubscriberEmail::parse("ann@example.org").unwrap();
        let (_, filled) = prepared(&message).for_reader(&email, &token());
        let expected = format!("url ?token={}=\r\n{} end", "t".repeat(10), "t".repeat(Token::LEN - 10));
        assert!(String::from_utf8(filled).unwrap().ends_with(&expected));
    }

    #[test]
    fn near_misses_are_left_alone() {
        let message = "UNSUBSCRIBE TOKEN, MESSAGEID and bulletin-reader text";
        let email = SubscriberEmail::parse("ann@example.org").unwrap();
        let (_, filled) = prepared(message).for_reader(&email, &token());
        assert_eq!(filled, message.as_bytes());
    }
}
