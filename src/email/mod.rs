//! Outgoing email: composing messages from templates, signing them (DKIM),
//! and the `Mailer` that hands them to an SMTP relay or writes them to the
//! outbox folder.

mod bounce;
mod compose;
mod digest;
pub mod dkim;
mod links;
mod mailer;
mod prepared;
mod smtp;

pub use compose::{ComposeError, Composer, RenderedDigest};
pub use links::{base_path as links_base_path, public_url};
pub use mailer::{Mailer, SendError};
pub use prepared::PreparedEmail;

/// Checks an `SMTP_URL` the way the mailer will read it; the error never
/// contains the URL (it may hold a password).
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    smtp::SmtpPool::from_url(url, 1, std::time::Duration::from_secs(1)).map(drop)
}
