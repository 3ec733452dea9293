//! `bulletin publications import PATH_OR_URL [--announced]`.

use std::process::ExitCode;

use anyhow::Context;

use crate::clock;
use crate::ingest;
use crate::startup::Services;

pub async fn import(services: &Services, source: &str, announced: bool) -> anyhow::Result<ExitCode> {
    let content = ingest::load(source).await?;
    let items = ingest::parse(&content)?;
    let report = ingest::import(services.store.as_ref(), items, announced, clock::now())
        .await
        .context("cannot store the publications")?;
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    println!(
        "created {}, updated {}, unchanged {}, bad items {}{}",
        report.created,
        report.updated,
        report.unchanged,
        report.problems.len(),
        if announced { " (marked as announced: no digest will send them)" } else { "" }
    );
    Ok(if report.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
