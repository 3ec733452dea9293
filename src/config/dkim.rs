//! `DKIM_DOMAIN`, `DKIM_SELECTOR` and `DKIM_PRIVATE_KEY_FILE`: all three turn
//! DKIM signing on, none leaves it off. `DKIM_PUBLIC_KEY` is what
//! `bulletin doctor` compares the key with (DNS may not be reachable).

use std::path::PathBuf;
use std::sync::Arc;

use super::parse::{ConfigError, Env};
use crate::email::dkim::{DkimKey, parse_published_key};

#[derive(Debug, Clone)]
pub struct DkimConfig {
    /// `d=`: the domain that vouches for the mail; for DMARC, the From
    /// domain or a parent of it.
    pub domain: String,
    /// `s=`: the key is published at `{selector}._domainkey.{domain}`.
    pub selector: String,
    pub key_file: PathBuf,
    /// Read and checked at start-up; `Debug` shows only its type.
    pub key: Arc<DkimKey>,
    /// The decoded `p=` the operator says is published, if given.
    pub published_key: Option<Vec<u8>>,
}

const VARIABLES: [&str; 3] = ["DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_PRIVATE_KEY_FILE"];

pub(super) fn parse<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<DkimConfig>, ConfigError> {
    let values = VARIABLES.map(|name| env.get(name));
    let published = env.get("DKIM_PUBLIC_KEY");
    if values.iter().all(Option::is_none) {
        return match published {
            None => Ok(None),
            Some(_) => Err(ConfigError::new(
                "DKIM_PUBLIC_KEY",
                "is used only with DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE",
            )),
        };
    }
    let missing = |name: &'static str| {
        ConfigError::new(
            name,
            "must be set too: DKIM signing needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE",
        )
    };
    let [domain, selector, key_file] = values;
    let domain = domain.ok_or_else(|| missing("DKIM_DOMAIN"))?;
    let selector = selector.ok_or_else(|| missing("DKIM_SELECTOR"))?;
    let key_file = key_file.ok_or_else(|| missing("DKIM_PRIVATE_KEY_FILE"))?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if !is_dns_name(&domain) || !domain.contains('.') {
        return Err(ConfigError::new("DKIM_DOMAIN", "expected a domain name such as example.org"));
    }
    if !is_dns_name(&selector) {
        return Err(ConfigError::new("DKIM_SELECTOR", "expected letters, digits and hyphens, such as mail2025"));
    }
    let key_file = PathBuf::from(key_file);
    let pem = std::fs::read(&key_file)
        .map_err(|e| ConfigError::new("DKIM_PRIVATE_KEY_FILE", format!("cannot read {}: {e}", key_file.display())))?;
    let key = DkimKey::from_pem(&pem).map_err(|e| {
        ConfigError::new("DKIM_PRIVATE_KEY_FILE", format!("{} is not a usable key: {e}", key_file.display()))
    })?;
    let published_key = published
        .map(|text| parse_published_key(&text).map_err(|e| ConfigError::new("DKIM_PUBLIC_KEY", e.to_string())))
        .transpose()?;
    Ok(Some(DkimConfig { domain, selector, key_file, key: Arc::new(key), published_key }))
}

/// Dot-separated labels of letters, digits and inner hyphens (RFC 6376 §3.1).
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
