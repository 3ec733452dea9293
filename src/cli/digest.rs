//! `bulletin digest send [--dry-run]`.

use std::process::ExitCode;

use crate::clock;
use crate::digests;
use crate::startup::Services;

pub async fn send(services: &Services, dry_run: bool) -> anyhow::Result<ExitCode> {
    let config = &services.config.publications;
    if dry_run {
        return preview(services).await;
    }
    match digests::create(services.store.as_ref(), config, clock::now()).await? {
        Some(digest) => {
            println!(
                "digest {} queued: {} publication(s), {} recipient(s); `bulletin serve` or `bulletin worker` delivers it",
                digest.id, digest.publications, digest.recipients
            );
            Ok(ExitCode::SUCCESS)
        }
        None => anyhow::bail!(
            "nothing new to send: every publication is already announced, embargoed, or older than DIGEST_MAX_AGE"
        ),
    }
}

async fn preview(services: &Services) -> anyhow::Result<ExitCode> {
    let composer = services.composer();
    let preview =
        digests::preview(services.store.as_ref(), &composer, &services.config.publications, None, clock::now()).await?;
    if preview.publications.is_empty() {
        anyhow::bail!("nothing new to send: a digest now would be empty (dry run, nothing queued)");
    }
    println!("dry run: nothing is queued\n");
    println!("{} publication(s):", preview.publications.len());
    for publication in &preview.publications {
        println!(
            "  {}  [{}]  {}\n      {}",
            publication.published_at.format("%Y-%m-%d"),
            publication.category.as_deref().unwrap_or("no category"),
            publication.title,
            publication.url
        );
    }
    println!("\nrecipients: {}", preview.recipients);
    if let Some(email) = preview.email {
        println!("\nthe email for a reader who wants everything:\n\nSubject: {}\n\n{}", email.subject, email.text);
    }
    Ok(ExitCode::SUCCESS)
}
