//! Dashboard accounts: password rules and argon2id hashing, shared by the
//! `bulletin admin` commands and the login page.
//!
//! Hashing takes tens of milliseconds of CPU on purpose, so it runs on the
//! blocking pool, never on the async workers.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};

/// Shorter passwords are refused.
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;

/// A password that meets the rules; never logged.
pub struct AdminPassword(SecretString);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
}

impl AdminPassword {
    pub fn parse(input: &str) -> Result<AdminPassword, PasswordError> {
        match input.chars().count() {
            n if n < MIN_PASSWORD_CHARS => Err(PasswordError::TooShort),
            n if n > MAX_PASSWORD_CHARS => Err(PasswordError::TooLong),
            _ => Ok(AdminPassword(SecretString::from(input.to_owned()))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password")]
pub struct HashError(#[source] anyhow::Error);

/// The argon2id PHC string of `password` (default parameters, random salt).
pub async fn hash_password(password: AdminPassword) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.0.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| HashError(anyhow::anyhow!("{e}")))
    })
    .await
    .map_err(|e| HashError(e.into()))?
}

/// Whether `password` matches `stored`; with `stored = None` (no such
/// account) a dummy hash is checked, so that both answers take as long.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known
    })
    .await
    .unwrap_or(false)
}

/// Made once per process with the same parameters as real hashes.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(b"not a password anyone has", &salt).map(|h| h.to_string()).unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(AdminPassword::parse("eleven char").err(), Some(PasswordError::TooShort));
        assert!(AdminPassword::parse("twelve chars").is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let hash = hash_password(AdminPassword::parse("correct horse battery").unwrap()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(hash)).await);
        assert!(!verify_password("not a password anyone has".into(), None).await);
    }
}
