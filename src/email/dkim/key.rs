//! A DKIM private key read from PEM (Ed25519 or RSA), and the public key a
//! receiver finds in DNS for it.
//!
//! The signatures come from ring, which the TLS stack already uses: RSA
//! signing there is constant-time, and no other crypto crate is needed.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use sha2::{Digest, Sha256};

/// Why a key file or a published key cannot be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block found (expected -----BEGIN PRIVATE KEY-----)")]
    NotPem,
    #[error("the key is encrypted; decrypt it first: openssl pkey -in KEY -out PLAIN.pem")]
    Encrypted,
    #[error("a PEM block of type `{0}`; expected PRIVATE KEY or RSA PRIVATE KEY")]
    UnexpectedPem(String),
    #[error("the PEM block is not valid base64")]
    BadBase64,
    #[error("neither an Ed25519 key nor an RSA key of 2048 to 8192 bits ({0})")]
    Unsupported(String),
    #[error("a published key must be a base64 `p=` value or a whole `v=DKIM1; … p=…` record")]
    BadPublishedKey,
    #[error("the published record has an empty p=: the key is revoked")]
    Revoked,
}

/// Why a message could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the RSA signature failed")]
    Rsa,
    #[error("the message has no blank line between its header and its body")]
    NoBody,
}

/// A private key that signs DKIM signatures.
pub enum DkimKey {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// No key material, only what kind of key it is.
impl fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DkimKey({})", self.key_type())
    }
}

impl DkimKey {
    /// A PKCS#8 `PRIVATE KEY` (Ed25519 or RSA, as `openssl genpkey` writes
    /// them) or a PKCS#1 `RSA PRIVATE KEY`.
    pub fn from_pem(pem: &[u8]) -> Result<DkimKey, KeyError> {
        let text = String::from_utf8_lossy(pem);
        let (label, der) = pem_block(&text)?;
        match label {
            "PRIVATE KEY" => Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map(DkimKey::Ed25519).or_else(|_| {
                RsaKeyPair::from_pkcs8(&der).map(DkimKey::Rsa).map_err(|e| KeyError::Unsupported(e.to_string()))
            }),
            "RSA PRIVATE KEY" => {
                RsaKeyPair::from_der(&der).map(DkimKey::Rsa).map_err(|e| KeyError::Unsupported(e.to_string()))
            }
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            other => Err(KeyError::UnexpectedPem(other.to_owned())),
        }
    }

    /// `k=` of the DNS record.
    pub fn key_type(&self) -> &'static str {
        match self {
            DkimKey::Ed25519(_) => "ed25519",
            DkimKey::Rsa(_) => "rsa",
        }
    }

    /// `a=` of the signature.
    pub fn algorithm(&self) -> &'static str {
        match self {
            DkimKey::Ed25519(_) => "ed25519-sha256",
            DkimKey::Rsa(_) => "rsa-sha256",
        }
    }

    /// The `p=` bytes: the raw 32-byte key for Ed25519 (RFC 8463), the
    /// SubjectPublicKeyInfo for RSA (what `openssl pkey -pubout` gives).
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            DkimKey::Ed25519(pair) => pair.public_key().as_ref().to_vec(),
            DkimKey::Rsa(pair) => rsa_spki(pair.public().as_ref()),
        }
    }

    /// The TXT record to publish at `{selector}._domainkey.{domain}`.
    pub fn dns_record(&self) -> String {
        format!("v=DKIM1; k={}; p={}", self.key_type(), STANDARD.encode(self.public_key()))
    }

    /// Whether `published` (the decoded `p=`) is this key's public key. An
    /// RSA key may be published as SubjectPublicKeyInfo or as the bare
    /// PKCS#1 RSAPublicKey; both are accepted.
    pub fn matches(&self, published: &[u8]) -> bool {
        match self {
            DkimKey::Ed25519(_) => published == self.public_key().as_slice(),
            DkimKey::Rsa(pair) => published == self.public_key().as_slice() || published == pair.public().as_ref(),
        }
    }

    /// The signature over the canonical header data. Ed25519 signs its
    /// SHA-256 hash (RFC 8463); RSA signs it with PKCS#1 v1.5 and SHA-256.
    pub(super) fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match self {
            DkimKey::Ed25519(pair) => Ok(pair.sign(&Sha256::digest(data)).as_ref().to_vec()),
            DkimKey::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut signature).map_err(|_| SignError::Rsa)?;
                Ok(signature)
            }
        }
    }
}

/// The public key in `DKIM_PUBLIC_KEY`: a `p=` value or a whole TXT record
/// (possibly as several quoted strings, as DNS tools print long records).
pub fn parse_published_key(text: &str) -> Result<Vec<u8>, KeyError> {
    let joined: String = text.chars().filter(|c| *c != '"' && !c.is_whitespace()).collect();
    let tags: Vec<&str> = joined.split(';').collect();
    let value = match tags.iter().find_map(|tag| tag.strip_prefix("p=")) {
        Some(value) => value,
        None if tags.len() > 1 || joined.starts_with("v=") => return Err(KeyError::BadPublishedKey),
        None => joined.as_str(),
    };
    if value.is_empty() {
        return Err(KeyError::Revoked);
    }
    STANDARD.decode(value).map_err(|_| KeyError::BadPublishedKey)
}

/// The label and the decoded content of the first PEM block.
fn pem_block(text: &str) -> Result<(&str, Vec<u8>), KeyError> {
    let start = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (label, rest) = rest.split_once("-----").ok_or(KeyError::NotPem)?;
    let end = rest.find(&format!("-----END {label}-----")).ok_or(KeyError::NotPem)?;
    let body: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(body).map_err(|_| KeyError::BadBase64)?;
    Ok((label, der))
}

/// Wraps a PKCS#1 RSAPublicKey into a SubjectPublicKeyInfo (rsaEncryption).
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    const ALGORITHM: &[u8] =
        &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    let mut bit_string = vec![0x00];
    bit_string.extend_from_slice(pkcs1);
    let mut content = ALGORITHM.to_vec();
    content.extend(der(0x03, &bit_string));
    der(0x30, &content)
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = include_str!("../../../tests/fixtures/dkim/ed25519.pem");
    const ED25519_RECORD: &str = include_str!("../../../tests/fixtures/dkim/ed25519.txt");
    const RSA: &str = include_str!("../../../tests/fixtures/dkim/rsa.pem");
    const RSA_RECORD: &str = include_str!("../../../tests/fixtures/dkim/rsa.txt");
    const RSA_PKCS1: &str = include_str!("../../../tests/fixtures/dkim/rsa-pkcs1.pem");

    #[test]
    fn the_dns_record_matches_what_openssl_derives() {
        let key = DkimKey::from_pem(ED25519.as_bytes()).unwrap();
        assert_eq!(key.dns_record(), ED25519_RECORD.trim());
        let key = DkimKey::from_pem(RSA.as_bytes()).unwrap();
        assert_eq!(key.dns_record(), RSA_RECORD.trim());
    }

    #[test]
    fn pkcs1_rsa_keys_are_read_too() {
        let key = DkimKey::from_pem(RSA_PKCS1.as_bytes()).unwrap();
        assert_eq!(key.dns_record(), RSA_RECORD.trim(), "the same key in the PKCS#1 format");
    }

    #[test]
    fn published_keys_are_read_from_a_record_or_a_bare_value() {
        let key = DkimKey::from_pem(RSA.as_bytes()).unwrap();
        let record = RSA_RECORD.trim();
        let p = record.split("p=").nth(1).unwrap();
        assert!(key.matches(&parse_published_key(record).unwrap()));
        assert!(key.matches(&parse_published_key(p).unwrap()));
        let (head, tail) = record.split_at(60);
        assert!(key.matches(&parse_published_key(&format!("\"{head}\" \"{tail}\"")).unwrap()));
        let other = DkimKey::from_pem(ED25519.as_bytes()).unwrap();
        assert!(!other.matches(&parse_published_key(record).unwrap()));
        assert_eq!(parse_published_key("v=DKIM1; k=rsa; p="), Err(KeyError::Revoked));
        assert_eq!(parse_published_key("v=DKIM1; k=rsa"), Err(KeyError::BadPublishedKey));
        assert_eq!(parse_published_key("not base64!"), Err(KeyError::BadPublishedKey));
    }

    #[test]
    fn unusable_files_are_refused_with_a_reason_and_no_key_material() {
        assert_eq!(DkimKey::from_pem(b"hello").unwrap_err(), KeyError::NotPem);
        let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";
        assert_eq!(DkimKey::from_pem(public.as_bytes()).unwrap_err(), KeyError::UnexpectedPem("PUBLIC KEY".into()));
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(DkimKey::from_pem(garbage.as_bytes()), Err(KeyError::Unsupported(_))));
        let key = DkimKey::from_pem(ED25519.as_bytes()).unwrap();
        assert_eq!(format!("{key:?}"), "DkimKey(ed25519)");
    }
}
