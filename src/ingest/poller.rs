//! `FEED_URL`: the worker polls the publisher's feed and upserts what it
//! finds. A feed that fails to load or parse is logged and tried again at the
//! next poll; it never stops the worker.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use crate::clock;
use crate::store::Store;

pub async fn poll_feed(store: Arc<dyn Store>, url: Url, interval: Duration, shutdown: CancellationToken) {
    tracing::info!(feed = %url, every = ?interval, "polling the publications feed");
    loop {
        match poll_once(store.as_ref(), &url).await {
            Ok(report) => tracing::info!(
                feed = %url,
                created = report.created,
                updated = report.updated,
                unchanged = report.unchanged,
                skipped = report.problems.len(),
                "feed polled"
            ),
            Err(error) => {
                tracing::warn!(feed = %url, error = %error, error.cause_chain = ?error, "cannot poll the feed; trying again later")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn poll_once(store: &dyn Store, url: &Url) -> anyhow::Result<super::ImportReport> {
    let content = super::fetch(url.as_str()).await?;
    let items = super::parse(&content)?;
    let report = super::import(store, items, false, clock::now()).await?;
    for problem in &report.problems {
        tracing::debug!(feed = %url, problem, "feed entry skipped");
    }
    Ok(report)
}
