//! Publications from outside: a JSON array of the API's objects, a CSV file
//! with the same fields, or an RSS/Atom feed; read from a file or an
//! http(s) URL. The format is recognised from the content itself.

mod feed;
mod fetch;
mod poller;
mod tabular;
#[cfg(test)]
mod tests;
mod text;

use chrono::{DateTime, Utc};

pub use fetch::fetch;
// Each format's own parser, for the fuzz targets (`crate::fuzzing`).
pub(crate) use feed::parse_feed;
pub use poller::poll_feed;
pub(crate) use tabular::{parse_csv, parse_json};

use crate::domain::{NewPublication, PublicationInput};
use crate::store::{Store, StoreResult, UpsertOutcome};

/// One item of a source, parsed or not: `at` says where it was ("line 4",
/// "item 2", "entry 7").
#[derive(Debug)]
pub struct SourceItem {
    pub at: String,
    pub input: Result<PublicationInput, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read {0}")]
    Read(String, #[source] std::io::Error),
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("the feed cannot be parsed: {0}")]
    Feed(String),
    #[error("the JSON is not an array of publications: {0}")]
    Json(String),
    #[error("the CSV cannot be read: {0}")]
    Csv(String),
}

/// Reads `source`: an `http://` or `https://` URL, or a file path.
pub async fn load(source: &str) -> Result<Vec<u8>, IngestError> {
    if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source).await
    } else {
        tokio::fs::read(source).await.map_err(|e| IngestError::Read(source.to_owned(), e))
    }
}

/// Splits a source into items, recognising JSON (`[`), feeds (`<`) and CSV.
pub fn parse(content: &[u8]) -> Result<Vec<SourceItem>, IngestError> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    match content.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => tabular::parse_json(content),
        Some(b'<') => feed::parse_feed(content),
        _ => tabular::parse_csv(content),
    }
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// One line per item that could not be imported.
    pub problems: Vec<String>,
}

/// Upserts every valid item; `mark_announced` keeps them out of digests.
pub async fn import(
    store: &dyn Store,
    items: Vec<SourceItem>,
    mark_announced: bool,
    now: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    let mut report = ImportReport::default();
    for item in items {
        let parsed = item.input.and_then(|input| {
            NewPublication::try_from(input).map_err(|errors| {
                serde_json::to_value(&errors).map(|v| v.to_string()).unwrap_or_else(|_| "invalid".into())
            })
        });
        match parsed {
            Err(problem) => report.problems.push(format!("{}: {problem}", item.at)),
            Ok(publication) => match store.upsert_publication(&publication, mark_announced, now).await?.outcome {
                UpsertOutcome::Created => report.created += 1,
                UpsertOutcome::Updated => report.updated += 1,
                UpsertOutcome::Unchanged => report.unchanged += 1,
            },
        }
    }
    Ok(report)
}
