//! The `Mailer`: SMTP through the pool in `smtp.rs`, or `.eml` files in the
//! outbox folder when no SMTP server is configured.

use lettre::address::Envelope;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use super::smtp::SmtpPool;
use crate::config::MailConfig;

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: a 4xx reply, a timeout, a connection problem.
    /// `unreachable` is set when the server could not be talked to at all,
    /// so the worker pauses instead of failing every queued message in turn.
    #[error("temporary failure: {reason}")]
    Temporary { reason: String, unreachable: bool },
    /// The server refused the message for good (5xx); its reply is kept.
    /// `bad_address` when the reply says the address itself is unusable
    /// (a hard bounce), not this message.
    #[error("permanent failure: {reason}")]
    Permanent { reason: String, bad_address: bool },
}

pub struct Mailer {
    transport: Transport,
}

enum Transport {
    Smtp { pool: SmtpPool, size: u32 },
    Outbox { transport: AsyncFileTransport<Tokio1Executor>, dir: std::path::PathBuf },
}

impl Mailer {
    pub fn new(config: &MailConfig) -> anyhow::Result<Mailer> {
        let transport = match &config.smtp {
            Some(smtp) => Transport::Smtp {
                pool: SmtpPool::from_url(smtp.url.expose_secret(), smtp.pool_size, smtp.send_timeout)
                    .map_err(|reason| anyhow::anyhow!("SMTP_URL is not usable: {reason}"))?,
                size: smtp.pool_size,
            },
            None => {
                std::fs::create_dir_all(&config.outbox_dir).map_err(|e| {
                    anyhow::anyhow!("cannot create the outbox folder {}: {e}", config.outbox_dir.display())
                })?;
                Transport::Outbox {
                    transport: AsyncFileTransport::new(&config.outbox_dir),
                    dir: config.outbox_dir.clone(),
                }
            }
        };
        Ok(Mailer { transport })
    }

    /// Where mail goes, for the start-up log line (no credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp { pool, .. } => format!("SMTP {}", pool.describe()),
            Transport::Outbox { .. } => "the outbox folder (SMTP_URL is not set)".into(),
        }
    }

    /// How many messages to have in flight at once.
    pub fn pool_size(&self) -> u32 {
        match &self.transport {
            Transport::Smtp { size, .. } => *size,
            Transport::Outbox { .. } => 4,
        }
    }

    /// Sends a complete message (headers and body, as formatted by lettre).
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        match &self.transport {
            Transport::Smtp { pool, .. } => pool.send(envelope, message).await,
            Transport::Outbox { transport: outbox, .. } => {
                outbox.send_raw(envelope, message).await.map(drop).map_err(|e| SendError::Temporary {
                    reason: format!("cannot write to the outbox folder: {e}"),
                    unreachable: true,
                })
            }
        }
    }

    /// For `bulletin doctor`: an SMTP session up to AUTH, then QUIT (no
    /// message sent); or a file written to the outbox folder and removed.
    pub async fn check(&self) -> Result<String, String> {
        match &self.transport {
            Transport::Smtp { pool, .. } => pool.check().await,
            Transport::Outbox { dir, .. } => {
                let probe = dir.join(format!(".bulletin-doctor-{}", uuid::Uuid::new_v4().simple()));
                let written = tokio::fs::write(&probe, b"probe").await;
                let _ = tokio::fs::remove_file(&probe).await;
                written
                    .map(|()| format!("{} is writable (SMTP_URL is not set: mail is written there)", dir.display()))
                    .map_err(|e| format!("cannot write to the outbox folder {}: {e}", dir.display()))
            }
        }
    }

    /// Ends idle SMTP sessions politely (QUIT); for shutdown.
    pub async fn close(&self) {
        if let Transport::Smtp { pool, .. } = &self.transport {
            pool.close().await;
        }
    }
}
