//! Outgoing email: composing messages from templates, and the `Mailer` that
//! hands them to an SMTP relay or writes them to the outbox folder.

mod compose;
mod digest;
mod links;
mod mailer;

pub use compose::{ComposeError, Composed, Composer, RenderedDigest};
pub use links::{base_path as links_base_path, public_url};
pub use mailer::{Mailer, SendError};
