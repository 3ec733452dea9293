//! Reading and parsing single variables, with errors that name them.

use std::time::Duration;

use secrecy::SecretString;

/// A configuration variable that could not be used. Its message names the
/// variable and never contains a secret's value.
#[derive(Debug, thiserror::Error)]
#[error("invalid {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError { variable, reason: reason.into() }
    }
}

/// A token-bucket rate: `count` requests, refilled over `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

pub(super) struct Env<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub(super) fn new(lookup: F) -> Self {
        Env { lookup }
    }

    /// The variable's value; an empty value counts as unset.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    pub(super) fn parse_or<T>(
        &self,
        name: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        parse(&raw).map_err(|reason| ConfigError::new(name, reason))
    }

    pub(super) fn secret_or(
        &self,
        name: &'static str,
        default: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Result<SecretString, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        check(&raw).map_err(|reason| ConfigError::new(name, reason))?;
        Ok(SecretString::from(raw))
    }

    pub(super) fn secret_opt(
        &self,
        name: &'static str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Result<Option<SecretString>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => {
                check(&raw).map_err(|reason| ConfigError::new(name, reason))?;
                Ok(Some(SecretString::from(raw)))
            }
        }
    }
}

/// `30s`, `5m`, `48h`, `1h 30m`, `500ms` (humantime syntax).
pub(super) fn parse_duration(v: &str) -> Result<Duration, String> {
    humantime::parse_duration(v).map_err(|_| "expected a duration such as 30s, 5m or 48h".into())
}

/// `N/second`, `N/minute`, `N/hour`; `0` (or `off`) turns the limit off.
pub(super) fn parse_rate(v: &str) -> Result<Option<Rate>, String> {
    const HELP: &str = "expected N/second, N/minute or N/hour, or 0 to turn the limit off";
    if v == "0" || v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (count, unit) = v.split_once('/').ok_or(HELP)?;
    let count: u32 = count.trim().parse().map_err(|_| HELP)?;
    let period = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(HELP.into()),
    };
    if count == 0 {
        return Ok(None);
    }
    Ok(Some(Rate { count, period }))
}
