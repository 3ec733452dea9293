//! Typed configuration, read once at start-up from the environment.
//!
//! Every variable is documented in `.env.example`. A bad value stops start-up
//! with an error that names the variable; secrets are held in `SecretString`
//! and never appear in `Debug` output or error messages.

mod dkim;
mod parse;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use lettre::message::Mailbox;
use secrecy::SecretString;
use url::Url;

pub use dkim::DkimConfig;
pub use parse::{ConfigError, Rate};
use parse::{Env, parse_duration, parse_rate};

/// Everything the service needs to run, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub mail: MailConfig,
    pub delivery: DeliveryConfig,
    pub signup: SignupConfig,
    pub publications: PublicationsConfig,
    /// Bearer token for `/api/v1/`; `None` means the API refuses everyone.
    pub admin_token: Option<SecretString>,
    /// Key for unsubscribe tokens and signed form fields; `None` means a key
    /// is generated once and kept in the database.
    pub secret_key: Option<SecretString>,
    pub log: LogConfig,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// May carry a password, hence secret; use [`DatabaseConfig::redacted_url`] in logs.
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind_addr: SocketAddr,
    /// Public URL of the service, used in every link of every email. No trailing slash.
    pub base_url: Url,
    /// Peers whose `X-Forwarded-For` header is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `None` turns the per-IP signup limit off.
    pub signup_rate_per_ip: Option<Rate>,
    /// Wrong admin tokens per IP before `429`; `None` turns the limit off.
    pub admin_failures_per_ip: Option<Rate>,
    /// `Duration::ZERO` turns the time-to-submit check off.
    pub form_min_fill: Duration,
    pub request_timeout: Duration,
    /// Longest a client may take to send its headers (slow-loris defence),
    /// and longest an idle keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// Most open client connections (also bounded by `ulimit -n`).
    pub max_connections: usize,
    /// A dashboard session ends after this long without a request (`ADMIN_SESSION_IDLE`).
    pub admin_session_idle: Duration,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `None`: emails are written as `.eml` files to `outbox_dir`.
    pub smtp: Option<SmtpConfig>,
    pub outbox_dir: PathBuf,
    /// From: of digests.
    pub from: Mailbox,
    /// From: of confirmations (`MAIL_FROM_TRANSACTIONAL`, default `MAIL_FROM`),
    /// so that transactional mail can keep its own reputation.
    pub from_transactional: Mailbox,
    pub list_name: String,
    /// The `List-Id` value without angle brackets, e.g. `bulletin.example.org`.
    pub list_id: String,
    pub templates_dir: Option<PathBuf>,
    /// `None`: messages are sent unsigned.
    pub dkim: Option<DkimConfig>,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Carries credentials, hence secret.
    pub url: SecretString,
    pub pool_size: u32,
    /// Upper bound for one whole SMTP transaction (lettre only bounds the connect).
    pub send_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Messages per second across every worker sharing the database.
    pub send_rate_per_sec: Option<f64>,
    /// Confirmation emails per hour across every worker; the rest wait.
    pub confirmations_per_hour: Option<u32>,
    /// How long a claimed delivery stays reserved for the worker that claimed it.
    pub lease: Duration,
    /// Upper bound for handing one message over (`SMTP_TIMEOUT`).
    pub send_timeout: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A delivery still failing temporarily this long after it was queued is given up.
    pub give_up_after: Duration,
    /// Attempts (the first send included) before a temporarily failing delivery is given up.
    pub max_attempts: u32,
    /// How often an idle worker looks for new rows (other processes' writes).
    pub poll_interval: Duration,
    /// Hard bounces (the relay says the address does not exist) after which a
    /// subscriber is unsubscribed; `None` only counts them.
    pub hard_bounce_limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct SignupConfig {
    pub confirmation_ttl: Duration,
    pub resend_interval: Duration,
    pub max_confirmations_per_day: u32,
}

#[derive(Debug, Clone)]
pub struct PublicationsConfig {
    /// An RSS or Atom feed the worker polls for publications.
    pub feed_url: Option<Url>,
    pub feed_poll_interval: Duration,
    /// A digest never announces publications older than this.
    pub digest_max_age: Duration,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub filter: String,
    pub json: bool,
}

impl Config {
    /// Reads the process environment (after `.env`, which `main` loads).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can build one without
    /// touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let env = Env::new(lookup);

        let bind_addr: SocketAddr = env.parse_or("BIND_ADDR", "127.0.0.1:8080", |v| {
            v.parse().map_err(|_| "expected host:port, e.g. 127.0.0.1:8080".into())
        })?;
        let base_url = match env.get("BASE_URL") {
            Some(raw) => parse_base_url(&raw).map_err(|r| ConfigError::new("BASE_URL", r))?,
            None => parse_base_url(&format!("http://{bind_addr}")).map_err(|r| ConfigError::new("BIND_ADDR", r))?,
        };

        let database = DatabaseConfig {
            url: env.secret_or("DATABASE_URL", "sqlite://bulletin.db", |v| {
                if v.starts_with("sqlite:") || v.starts_with("postgres://") || v.starts_with("postgresql://") {
                    Ok(())
                } else {
                    Err("expected a sqlite://… or postgres://… URL".into())
                }
            })?,
            max_connections: env.parse_or("DATABASE_MAX_CONNECTIONS", "10", parse_positive)?,
        };

        let send_timeout = env.parse_or("SMTP_TIMEOUT", "30s", parse_duration)?;
        let smtp = match env.get("SMTP_URL") {
            None => None,
            Some(raw) => {
                // The URL may hold a password: errors describe it without echoing it.
                crate::email::check_smtp_url(&raw)
                    .map_err(|reason| ConfigError::new("SMTP_URL", format!("not a usable SMTP URL ({reason})")))?;
                Some(SmtpConfig {
                    url: SecretString::from(raw),
                    pool_size: env.parse_or("SMTP_POOL_SIZE", "4", parse_positive)?,
                    send_timeout,
                })
            }
        };
        let parse_mailbox = |v: &str| {
            v.parse::<Mailbox>().map_err(|_| "expected an address such as `News <news@example.org>`".to_owned())
        };
        let from: Mailbox = env.parse_or("MAIL_FROM", "bulletin <bulletin@localhost>", parse_mailbox)?;
        let from_transactional = match env.get("MAIL_FROM_TRANSACTIONAL") {
            Some(raw) => parse_mailbox(&raw).map_err(|reason| ConfigError::new("MAIL_FROM_TRANSACTIONAL", reason))?,
            None => from.clone(),
        };
        let list_name = env.parse_or("LIST_NAME", "bulletin", |v| {
            let v = v.trim();
            if v.is_empty() || v.len() > 100 || v.chars().any(char::is_control) {
                Err("expected a short name without control characters".into())
            } else {
                Ok(v.to_owned())
            }
        })?;
        let default_list_id = format!("{}.{}", slug(&list_name), from.email.domain());
        let list_id = env.parse_or("LIST_ID", &default_list_id, |v| {
            let ok = !v.is_empty()
                && v.len() <= 200
                && v.contains('.')
                && v.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
            if ok { Ok(v.to_owned()) } else { Err("expected a dotted name such as news.example.org".into()) }
        })?;
        let mail = MailConfig {
            smtp,
            outbox_dir: PathBuf::from(env.get("OUTBOX_DIR").unwrap_or_else(|| "outbox".into())),
            from,
            from_transactional,
            list_name,
            list_id,
            templates_dir: env.get("TEMPLATES_DIR").map(PathBuf::from),
            dkim: dkim::parse(&env)?,
        };

        let http = HttpConfig {
            bind_addr,
            base_url,
            trusted_proxies: env.parse_or("TRUSTED_PROXIES", "", parse_networks)?,
            signup_rate_per_ip: env.parse_or("SIGNUP_RATE_PER_IP", "10/minute", parse_rate)?,
            admin_failures_per_ip: env.parse_or("ADMIN_AUTH_FAILURES_PER_IP", "10/minute", parse_rate)?,
            form_min_fill: env.parse_or("FORM_MIN_FILL_SECONDS", "2", |v| {
                v.parse::<u64>().map(Duration::from_secs).map_err(|_| "expected a whole number of seconds".into())
            })?,
            request_timeout: env.parse_or("REQUEST_TIMEOUT", "30s", parse_duration)?,
            header_read_timeout: env.parse_or("HTTP_HEADER_TIMEOUT", "10s", parse_duration)?,
            max_connections: env.parse_or("HTTP_MAX_CONNECTIONS", "20000", |v| match v.parse::<usize>() {
                Ok(0) | Err(_) => Err("expected a whole number of connections, at least 1".into()),
                Ok(n) => Ok(n),
            })?,
            admin_session_idle: env.parse_or("ADMIN_SESSION_IDLE", "8h", |v| match parse_duration(v)? {
                d if d < Duration::from_secs(60) => Err("expected a duration of at least 1 minute, such as 8h".into()),
                d => Ok(d),
            })?,
        };

        let delivery = DeliveryConfig {
            send_rate_per_sec: env.parse_or("SEND_RATE_PER_SEC", "", |v| {
                if v.is_empty() {
                    return Ok(None);
                }
                match v.parse::<f64>() {
                    Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(Some(rate)),
                    _ => Err("expected a positive number of messages per second".into()),
                }
            })?,
            confirmations_per_hour: env.parse_or("CONFIRMATIONS_PER_HOUR", "1000", |v| match v.parse::<u32>() {
                Ok(0) => Ok(None),
                Ok(n) => Ok(Some(n)),
                Err(_) => Err("expected a whole number of emails per hour, or 0 for no limit".into()),
            })?,
            lease: env.parse_or("DELIVERY_LEASE", "60s", parse_duration)?,
            send_timeout,
            retry_base: env.parse_or("RETRY_BASE_DELAY", "30s", parse_duration)?,
            retry_max: env.parse_or("RETRY_MAX_DELAY", "1h", parse_duration)?,
            give_up_after: env.parse_or("DELIVERY_GIVE_UP_AFTER", "48h", parse_duration)?,
            max_attempts: env.parse_or("MAX_ATTEMPTS", "8", parse_positive)?,
            poll_interval: env.parse_or("WORKER_POLL_INTERVAL", "500ms", parse_duration)?,
            hard_bounce_limit: env.parse_or("HARD_BOUNCE_LIMIT", "2", |v| match v.parse::<u32>() {
                Ok(0) => Ok(None),
                Ok(n) => Ok(Some(n)),
                Err(_) => Err("expected a whole number of bounces, or 0 to never unsubscribe".into()),
            })?,
        };
        // A message is started only while its lease has a send timeout left.
        if delivery.lease < delivery.send_timeout * 2 {
            return Err(ConfigError::new("DELIVERY_LEASE", "must be at least twice SMTP_TIMEOUT"));
        }
        if delivery.send_rate_per_sec.is_some_and(|rate| rate * delivery.lease.as_secs_f64() < 1.0) {
            return Err(ConfigError::new("SEND_RATE_PER_SEC", "too low to send one message within DELIVERY_LEASE"));
        }

        let signup = SignupConfig {
            confirmation_ttl: env.parse_or("CONFIRMATION_TTL", "48h", parse_duration)?,
            resend_interval: env.parse_or("CONFIRMATION_RESEND_INTERVAL", "5m", parse_duration)?,
            max_confirmations_per_day: 3,
        };

        let publications = PublicationsConfig {
            feed_url: match env.get("FEED_URL") {
                None => None,
                Some(raw) => Some(
                    Url::parse(&raw)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| ConfigError::new("FEED_URL", "expected an http:// or https:// URL"))?,
                ),
            },
            feed_poll_interval: env.parse_or("FEED_POLL_INTERVAL", "15m", parse_duration)?,
            digest_max_age: env.parse_or("DIGEST_MAX_AGE", "14days", parse_duration)?,
        };

        let admin_token = env.secret_opt("ADMIN_TOKEN", |v| {
            if v.len() < 16 { Err("must be at least 16 characters".into()) } else { Ok(()) }
        })?;
        let secret_key = env.secret_opt("SECRET_KEY", |v| {
            if v.len() < 32 { Err("must be at least 32 characters".into()) } else { Ok(()) }
        })?;

        let log = LogConfig {
            filter: env.get("RUST_LOG").unwrap_or_else(|| "info".into()),
            json: env.parse_or("LOG_FORMAT", "text", |v| match v {
                "text" => Ok(false),
                "json" => Ok(true),
                _ => Err("expected `text` or `json`".into()),
            })?,
        };

        Ok(Config { database, http, mail, delivery, signup, publications, admin_token, secret_key, log })
    }
}

impl DatabaseConfig {
    /// The URL with any password replaced, for logs and error messages.
    pub fn redacted_url(&self) -> String {
        use secrecy::ExposeSecret;
        let raw = self.url.expose_secret();
        match Url::parse(raw) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("redacted"));
                url.to_string()
            }
            _ => raw.to_owned(),
        }
    }
}

fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("expected an http:// or https:// URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(url)
}

fn parse_positive(v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive whole number".into()),
    }
}

fn parse_networks(v: &str) -> Result<Vec<IpNet>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{s}` is not an IP address or CIDR network"))
        })
        .collect()
}

fn slug(name: &str) -> String {
    let slug: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() { "list".into() } else { slug }
}

#[cfg(test)]
mod tests;
