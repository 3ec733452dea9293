//! The `Mailer`: lettre's pooled async SMTP transport (one, cloned), or
//! `.eml` files in the outbox folder when no SMTP server is configured.

use std::sync::RwLock;
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{MailConfig, SmtpConfig};

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: a 4xx reply, a timeout, a connection problem.
    /// `unreachable` is set when the server could not be talked to at all,
    /// so the worker pauses instead of failing every queued message in turn.
    #[error("temporary failure: {reason}")]
    Temporary { reason: String, unreachable: bool },
    /// The server refused the message for good (5xx); its reply is kept.
    #[error("permanent failure: {reason}")]
    Permanent { reason: String },
}

pub struct Mailer {
    transport: Transport,
}

enum Transport {
    Smtp(SmtpTransport),
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

struct SmtpTransport {
    url: SecretString,
    pool_size: u32,
    send_timeout: Duration,
    /// Replaced after a timed-out send (see `send`).
    current: RwLock<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> anyhow::Result<Mailer> {
        let transport = match &config.smtp {
            Some(smtp) => Transport::Smtp(SmtpTransport::new(smtp)?),
            None => {
                std::fs::create_dir_all(&config.outbox_dir).map_err(|e| {
                    anyhow::anyhow!("cannot create the outbox folder {}: {e}", config.outbox_dir.display())
                })?;
                Transport::Outbox(AsyncFileTransport::new(&config.outbox_dir))
            }
        };
        Ok(Mailer { transport })
    }

    /// Where mail goes, for the start-up log line (no credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(smtp) => match url::Url::parse(smtp.url.expose_secret()) {
                Ok(url) => format!("SMTP {}:{}", url.host_str().unwrap_or("?"), url.port().unwrap_or(25)),
                Err(_) => "SMTP".into(),
            },
            Transport::Outbox(_) => "the outbox folder (SMTP_URL is not set)".into(),
        }
    }

    pub fn pool_size(&self) -> u32 {
        match &self.transport {
            Transport::Smtp(smtp) => smtp.pool_size,
            Transport::Outbox(_) => 4,
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await,
            Transport::Outbox(outbox) => outbox.send(message).await.map(drop).map_err(|e| SendError::Temporary {
                reason: format!("cannot write to the outbox folder: {e}"),
                unreachable: true,
            }),
        }
    }
}

impl SmtpTransport {
    fn new(config: &SmtpConfig) -> anyhow::Result<SmtpTransport> {
        let transport = build_transport(&config.url, config.pool_size, config.send_timeout)?;
        Ok(SmtpTransport {
            url: config.url.clone(),
            pool_size: config.pool_size,
            send_timeout: config.send_timeout,
            current: RwLock::new(transport),
        })
    }

    async fn send(&self, message: Message) -> Result<(), SendError> {
        let transport = self.current.read().unwrap_or_else(|p| p.into_inner()).clone();
        match tokio::time::timeout(self.send_timeout, transport.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(error)) => Err(classify(&error)),
            Err(_elapsed) => {
                // The abandoned connection goes back to `transport`'s pool,
                // where its late reply could be read as the answer to the
                // next message: new sends get a fresh pool, and the old one
                // is shut down, which closes every connection it holds.
                self.replace_pool();
                // Shutting down says QUIT to each connection, which a hung
                // server never answers: bounded, and off this send's path.
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), transport.shutdown()).await;
                });
                Err(SendError::Temporary {
                    reason: format!("no answer from the SMTP server within {:?}", self.send_timeout),
                    unreachable: true,
                })
            }
        }
    }

    fn replace_pool(&self) {
        match build_transport(&self.url, self.pool_size, self.send_timeout) {
            Ok(fresh) => *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh,
            Err(error) => tracing::error!(error = %error, "cannot rebuild the SMTP transport"),
        }
    }
}

fn build_transport(
    url: &SecretString,
    pool_size: u32,
    send_timeout: Duration,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
        .map_err(|_| anyhow::anyhow!("SMTP_URL is not a usable SMTP URL"))?;
    Ok(builder
        .pool_config(PoolConfig::new().max_size(pool_size).idle_timeout(Duration::from_secs(30)))
        // lettre applies this to connecting only; whole sends are bounded above.
        .timeout(Some(send_timeout))
        .build())
}

fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    let reason = error.to_string();
    match error.status() {
        // 421: the server is closing the connection; everything else 4xx
        // concerns this message.
        Some(code) if error.is_transient() => {
            SendError::Temporary { unreachable: code.to_string().starts_with("421"), reason }
        }
        Some(_) if error.is_permanent() => SendError::Permanent { reason },
        // Connection, TLS and protocol problems, and lettre's own "client"
        // errors (no STARTTLS, no usable AUTH): the server or its
        // configuration, not this message. Retried once fixed.
        _ => SendError::Temporary { reason, unreachable: true },
    }
}
