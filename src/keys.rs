//! The server's secret key and what is derived from it: unsubscribe tokens
//! and the signed timestamp in the signup form.
//!
//! Unsubscribe links go into every digest, rendered when the email is sent,
//! yet the database keeps only a hash of each token. So the token is derived:
//! `HMAC(key, salt)`, with a random salt per subscription. Replacing the salt
//! (a new opt-in) retires the old link.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::domain::Token;
use crate::store::{Store, StoreResult, UnsubscribeKey};

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Keys {
    key: [u8; 32],
}

impl Keys {
    /// `SECRET_KEY` if set; otherwise the key stored in the database,
    /// created on first use and shared by every process using it.
    pub async fn load(config: &Config, store: &dyn Store) -> StoreResult<Keys> {
        if let Some(secret) = &config.secret_key {
            return Ok(Keys::from_secret(secret.expose_secret().as_bytes()));
        }
        let mut candidate = [0u8; 32];
        rand::rng().fill_bytes(&mut candidate);
        let stored = store.server_key(&candidate).await?;
        Ok(Keys::from_secret(&stored))
    }

    pub fn from_secret(secret: &[u8]) -> Keys {
        Keys { key: Sha256::digest(secret).into() }
    }

    fn mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// A fresh unsubscribe credential for a new subscription.
    pub fn new_unsubscribe_key(&self) -> UnsubscribeKey {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        UnsubscribeKey { salt, token_hash: self.unsubscribe_token(&salt).hash() }
    }

    pub fn unsubscribe_token(&self, salt: &[u8]) -> Token {
        Token::from_bytes(&self.mac("unsubscribe", salt))
    }

    /// A signature of `message` for `purpose` (e.g. an uploaded file kept in
    /// a hidden field between a preview and its confirmation).
    pub fn sign(&self, purpose: &str, message: &[u8]) -> String {
        Token::from_bytes(&self.mac(purpose, message)).as_str().to_owned()
    }

    /// Whether `signature` is ours for `purpose` and `message` (constant time).
    pub fn verify(&self, purpose: &str, message: &[u8], signature: &str) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.sign(purpose, message).as_bytes(), signature.as_bytes()).into()
    }

    /// `"<unix seconds>.<signature>"`: proves when the form was served.
    pub fn sign_form_time(&self, served_at_unix: i64) -> String {
        let signature = self.mac("form-time", served_at_unix.to_string().as_bytes());
        format!("{served_at_unix}.{}", Token::from_bytes(&signature).as_str())
    }

    /// The time a form was served, if `value` was signed by us.
    pub fn verify_form_time(&self, value: &str) -> Option<i64> {
        let (time, signature) = value.split_once('.')?;
        let served_at: i64 = time.parse().ok()?;
        let expected = self.sign_form_time(served_at);
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), format!("{time}.{signature}").as_bytes()).into();
        matches.then_some(served_at)
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribe_tokens_are_stable_per_salt_and_differ_between_salts_and_keys() {
        let keys = Keys::from_secret(b"one key that is long enough to use");
        let credential = keys.new_unsubscribe_key();
        let token = keys.unsubscribe_token(&credential.salt);
        assert_eq!(token.hash(), credential.token_hash);
        assert_eq!(keys.unsubscribe_token(&credential.salt), token);
        assert_ne!(keys.new_unsubscribe_key().token_hash, credential.token_hash);
        let other = Keys::from_secret(b"another key that is long enough to use");
        assert_ne!(other.unsubscribe_token(&credential.salt), token);
    }

    #[test]
    fn form_times_verify_only_when_untampered() {
        let keys = Keys::from_secret(b"one key that is long enough to use");
        let signed = keys.sign_form_time(1_800_000_000);
        assert_eq!(keys.verify_form_time(&signed), Some(1_800_000_000));
        let forged = signed.replacen("1800000000", "1700000000", 1);
        assert_eq!(keys.verify_form_time(&forged), None);
        assert_eq!(keys.verify_form_time("garbage"), None);
        assert_eq!(Keys::from_secret(b"a different key entirely, also long").verify_form_time(&signed), None);
    }
}
