//! DKIM signing (RFC 6376, relaxed/relaxed; Ed25519 per RFC 8463 or RSA) of
//! each finished message, just before it is handed to the mailer.
//!
//! Messages are completed per reader from prepared bytes (see
//! `PreparedEmail`), so signing works on those raw bytes: it reads the
//! header fields, hashes the canonical body, and puts a `DKIM-Signature`
//! field first.

mod canonical;
mod key;

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

pub use key::{DkimKey, KeyError, SignError, parse_published_key};

use crate::config::DkimConfig;

/// The fields signed when present, each also signed once more than it
/// occurs ("over-signed"), so that nobody can add another one (a second
/// From or Subject, a List-Unsubscribe on a confirmation) without breaking
/// the signature.
const SIGNED_FIELDS: [&str; 15] = [
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "precedence",
    "auto-submitted",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// Lines of the signature field are folded to about this width.
const LINE_WIDTH: usize = 76;

/// Signs messages for one domain and selector. Built once at start-up.
#[derive(Debug, Clone)]
pub struct Signer {
    key: Arc<DkimKey>,
    domain: String,
    selector: String,
}

impl Signer {
    pub fn new(config: &DkimConfig) -> Signer {
        Signer { key: config.key.clone(), domain: config.domain.clone(), selector: config.selector.clone() }
    }

    /// `message` with a `DKIM-Signature` field in front, signed at `now`
    /// (seconds since the epoch: the `t=` tag).
    pub fn sign(&self, message: &[u8], now: i64) -> Result<Vec<u8>, SignError> {
        let split = message.windows(4).position(|w| w == b"\r\n\r\n").ok_or(SignError::NoBody)?;
        let (header, body) = (&message[..split + 2], &message[split + 4..]);
        let body_hash = STANDARD.encode(Sha256::digest(canonical::body(body)));

        let fields = canonical::fields(header);
        let mut signed_names = Vec::new();
        for name in SIGNED_FIELDS {
            let present = fields.iter().filter(|f| f.name.eq_ignore_ascii_case(name)).count();
            signed_names.extend(std::iter::repeat_n(name, present + 1));
        }

        // The data signed: each named field, the last unused one of its name
        // first (§5.4.2), then this signature field with an empty b=.
        let mut data = Vec::new();
        let mut used: HashMap<&str, usize> = HashMap::new();
        for name in &signed_names {
            let skip = used.entry(name).or_default();
            if let Some(field) = fields.iter().rev().filter(|f| f.name.eq_ignore_ascii_case(name)).nth(*skip) {
                data.extend(canonical::header(field.raw));
                data.extend_from_slice(b"\r\n");
            }
            *skip += 1;
        }
        let unsigned = self.signature_field(&signed_names, &body_hash, now);
        data.extend(canonical::header(unsigned.as_bytes()));
        let signature = STANDARD.encode(self.key.sign(&data)?);

        let mut signed = Vec::with_capacity(message.len() + unsigned.len() + signature.len() + 32);
        signed.extend_from_slice(unsigned.as_bytes());
        signed.extend_from_slice(fold(&signature, LINE_WIDTH - 4).as_bytes());
        signed.extend_from_slice(b"\r\n");
        signed.extend_from_slice(message);
        Ok(signed)
    }

    /// The record to publish at `{selector}._domainkey.{domain}`.
    pub fn dns_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }

    /// `DKIM-Signature: v=1; …; b=`, folded, with the value of b= left out.
    fn signature_field(&self, signed_names: &[&str], body_hash: &str, now: i64) -> String {
        let tags = [
            "v=1;".to_owned(),
            format!("a={};", self.key.algorithm()),
            "c=relaxed/relaxed;".to_owned(),
            format!("d={};", self.domain),
            format!("s={};", self.selector),
            format!("t={now};"),
        ];
        let mut field = String::from("DKIM-Signature:");
        let mut line_len = field.len();
        for tag in tags {
            if line_len + 1 + tag.len() > LINE_WIDTH {
                field.push_str("\r\n\t");
                line_len = 1;
            } else {
                field.push(' ');
                line_len += 1;
            }
            field.push_str(&tag);
            line_len += tag.len();
        }
        // h= goes on lines of its own, folded after a colon.
        field.push_str("\r\n\th=");
        line_len = 2;
        for (i, name) in signed_names.iter().enumerate() {
            let separator = if i + 1 < signed_names.len() { ":" } else { ";" };
            if line_len + name.len() + 1 > LINE_WIDTH {
                field.push_str("\r\n\t");
                line_len = 0;
            }
            field.push_str(name);
            field.push_str(separator);
            line_len += name.len() + 1;
        }
        field.push_str(&format!("\r\n\tbh={body_hash};\r\n\tb="));
        field
    }
}

/// `text` cut into lines of `width`, continued with a tab.
fn fold(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width * 3);
    for (i, chunk) in text.as_bytes().chunks(width).enumerate() {
        if i > 0 {
            out.push_str("\r\n\t");
        }
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests;
