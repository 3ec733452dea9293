//! Creating and previewing digests: what the API, the CLI and the dashboard
//! share.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::config::PublicationsConfig;
use crate::domain::{SubscriberEmail, Topics};
use crate::email::{ComposeError, Composer, RenderedDigest};
use crate::store::{Audience, DigestCreated, DigestWindow, Publication, Reader, Store, StoreError};

/// The publications a digest made at `now` may take: not embargoed, not
/// older than `DIGEST_MAX_AGE`.
pub fn window(config: &PublicationsConfig, now: DateTime<Utc>) -> DigestWindow {
    let max_age = TimeDelta::from_std(config.digest_max_age).unwrap_or(TimeDelta::days(14));
    DigestWindow { now, oldest: now - max_age }
}

/// Creates the digest of everything new, or `None` if there is nothing new.
pub async fn create(
    store: &dyn Store,
    config: &PublicationsConfig,
    now: DateTime<Utc>,
) -> Result<Option<DigestCreated>, StoreError> {
    let created = store.create_digest(&window(config, now)).await?;
    if let Some(digest) = &created {
        tracing::info!(
            digest_id = digest.id,
            publications = digest.publications,
            recipients = digest.recipients,
            "digest queued"
        );
    }
    Ok(created)
}

/// What the next digest would be, without creating it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub publications: Vec<Publication>,
    pub recipients: i64,
    /// The email one reader would get; `None` when nothing is for them.
    #[schema(required)]
    pub email: Option<RenderedDigest>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("no subscriber with this address")]
    UnknownReader,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

/// Previews the next digest as `reader` would get it, or as a reader
/// without topics (who gets everything) when `reader` is `None`.
pub async fn preview(
    store: &dyn Store,
    composer: &Composer,
    config: &PublicationsConfig,
    reader: Option<&SubscriberEmail>,
    now: DateTime<Utc>,
) -> Result<Preview, PreviewError> {
    let reader = match reader {
        Some(email) => store.reader_by_email(email).await?.ok_or(PreviewError::UnknownReader)?,
        None => sample_reader(Topics::default()),
    };
    preview_for(store, composer, config, &reader, now).await
}

/// Previews the next digest as `reader` would get it.
pub async fn preview_for(
    store: &dyn Store,
    composer: &Composer,
    config: &PublicationsConfig,
    reader: &Reader,
    now: DateTime<Utc>,
) -> Result<Preview, PreviewError> {
    let publications = store.digest_candidates(&window(config, now)).await?;
    let recipients =
        if publications.is_empty() { 0 } else { store.count_recipients(&Audience::of(&publications)).await? };
    let email = composer.render_digest(reader, &publications)?;
    Ok(Preview { publications, recipients, email })
}

/// A reader with these topics (none: everything); their unsubscribe link
/// matches nobody.
pub fn sample_reader(topics: Topics) -> Reader {
    Reader {
        email: SubscriberEmail::from_trusted("reader@example.org".into()),
        name: None,
        topics,
        unsubscribe_salt: vec![0; 16],
    }
}
