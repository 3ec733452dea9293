//! Secret tokens carried in links, and the hashes the database keeps of them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// A link token: 256 bits from the operating system's CSPRNG, base64url.
/// Only its [`TokenHash`] is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// SHA-256 of a token. A fast hash is enough: tokens have 256 bits of
/// entropy, so there is nothing to brute-force.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl Token {
    /// Length of a generated token in characters.
    pub const LEN: usize = 43;

    pub fn generate() -> Token {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Token::from_bytes(&bytes)
    }

    /// Encodes bytes that are already secret (e.g. an HMAC output) as a token.
    pub fn from_bytes(bytes: &[u8; 32]) -> Token {
        Token(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a token from a link. Anything that cannot be one of ours is
    /// refused without a database lookup.
    pub fn parse(input: &str) -> Option<Token> {
        let ok = input.len() == Self::LEN && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Token(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

/// Tokens never appear in logs.
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

impl TokenHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.0.to_vec()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn generated_tokens_are_distinct_url_safe_and_parse_back() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), Token::LEN);
        assert_eq!(Token::parse(a.as_str()), Some(a.clone()));
        assert_eq!(Token::parse(a.as_str()).unwrap().hash(), a.hash());
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_lookup() {
        let good = Token::generate();
        let truncated = &good.as_str()[..Token::LEN - 1];
        for input in ["", truncated, &format!("{}=", good.as_str()), &"!".repeat(Token::LEN), &"a".repeat(1000)] {
            assert_eq!(Token::parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn a_hash_is_not_a_token_for_itself() {
        let token = Token::generate();
        let hash_as_text = Token::from_bytes(&token.hash().0);
        assert_ne!(hash_as_text.hash(), token.hash());
    }

    #[test]
    fn debug_output_hides_the_token() {
        let token = Token::generate();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    proptest! {
        #[test]
        fn only_forty_three_url_safe_characters_parse(input in "[A-Za-z0-9_=+/!-]{0,50}|\\PC{0,60}") {
            let expected = input.len() == Token::LEN && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            prop_assert_eq!(Token::parse(&input).is_some(), expected);
        }

        #[test]
        fn any_secret_bytes_make_a_token_that_parses_back(bytes in any::<[u8; 32]>()) {
            let token = Token::from_bytes(&bytes);
            prop_assert_eq!(Token::parse(token.as_str()).map(|t| t.hash()), Some(token.hash()));
        }
    }
}
