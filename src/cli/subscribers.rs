//! `bulletin subscribers export` and `bulletin subscribers import FILE.csv`.
//!
//! Import moves an existing list in: columns `email,name,status,topics`
//! (topics separated by `;`, blank status = confirmed, other columns
//! ignored, so an export can be imported elsewhere). Known addresses are left
//! alone, suppressed (erased) ones skipped; bad rows are reported with their
//! line numbers while good rows are kept.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::TimeDelta;

use crate::clock;
use crate::domain::{SubscriberEmail, SubscriberName, SubscriptionStatus, Token, Topics};
use crate::keys::Keys;
use crate::startup::Services;
use crate::store::{ImportCounts, ImportedSubscriber, Store, Subscriber};

pub(crate) const EXPORT_COLUMNS: [&str; 8] =
    ["email", "name", "status", "topics", "created_at", "confirmed_at", "unsubscribed_at", "consent_source"];
const BATCH: usize = 500;

pub async fn export(services: &Services) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(stdout.lock()));
    writer.write_record(EXPORT_COLUMNS)?;
    let mut after = 0;
    loop {
        let subscribers = services.store.subscribers_after(after, 1000).await?;
        let Some(last) = subscribers.last() else { break };
        after = last.id;
        for s in &subscribers {
            writer.write_record(export_record(s))?;
        }
    }
    writer.flush().context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// One subscriber as an export row, in the order of `EXPORT_COLUMNS`
/// (shared with the dashboard's CSV download).
pub(crate) fn export_record(s: &Subscriber) -> [String; 8] {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    [
        s.email.clone(),
        s.name.clone().unwrap_or_default(),
        s.status.as_str().to_owned(),
        s.topics.join(";"),
        s.created_at.to_rfc3339(),
        time(s.confirmed_at),
        time(s.unsubscribed_at),
        s.consent.source.clone(),
    ]
}

pub async fn import(services: &Services, file: &Path) -> anyhow::Result<ExitCode> {
    let input: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?)
    };
    let ttl = TimeDelta::from_std(services.config.signup.confirmation_ttl).unwrap_or(TimeDelta::hours(48));
    let rows = parse_csv(input, &services.keys, ttl)?;
    let (counts, bad) = import_rows(services.store.as_ref(), rows, |problem| eprintln!("{problem}")).await?;
    println!(
        "imported {}, already known {}, suppressed {}, bad rows {bad}",
        counts.imported, counts.already_known, counts.suppressed
    );
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Stores the good rows in batches and reports each bad one to `on_bad`;
/// returns the counts and how many rows were bad. Shared with the dashboard.
pub(crate) async fn import_rows(
    store: &dyn Store,
    rows: impl Iterator<Item = Result<ImportedSubscriber, String>>,
    mut on_bad: impl FnMut(String),
) -> anyhow::Result<(ImportCounts, usize)> {
    let mut counts = ImportCounts::default();
    let mut bad = 0usize;
    let mut batch = Vec::with_capacity(BATCH);
    for row in rows {
        match row {
            Ok(subscriber) => batch.push(subscriber),
            Err(problem) => {
                bad += 1;
                on_bad(problem);
            }
        }
        if batch.len() == BATCH {
            counts += store.import_subscribers(&batch, clock::now()).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        counts += store.import_subscribers(&batch, clock::now()).await?;
    }
    Ok((counts, bad))
}

/// Each data row parsed, or a one-line description of what is wrong with it.
pub(crate) fn parse_csv(
    input: impl Read,
    keys: &Keys,
    ttl: TimeDelta,
) -> anyhow::Result<impl Iterator<Item = Result<ImportedSubscriber, String>>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let headers = reader.headers().context("cannot read the CSV header row")?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let email_column = column("email").context("the CSV header row has no `email` column")?;
    let columns =
        Columns { email: email_column, name: column("name"), status: column("status"), topics: column("topics") };
    let keys = keys.clone();
    Ok(reader.into_records().map(move |record| {
        let record = record.map_err(|e| match e.position() {
            Some(position) => format!("line {}: {}", position.line(), e),
            None => format!("unreadable row: {e}"),
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        parse_row(&record, &columns, &keys, ttl).map_err(|problem| format!("line {line}: {problem}"))
    }))
}

struct Columns {
    email: usize,
    name: Option<usize>,
    status: Option<usize>,
    topics: Option<usize>,
}

fn parse_row(
    record: &csv::StringRecord,
    columns: &Columns,
    keys: &Keys,
    ttl: TimeDelta,
) -> Result<ImportedSubscriber, String> {
    let field = |index: Option<usize>| index.and_then(|i| record.get(i)).unwrap_or("");
    let email = SubscriberEmail::parse(field(Some(columns.email))).map_err(|e| format!("email: {e}"))?;
    let name = SubscriberName::parse(field(columns.name)).map_err(|e| format!("name: {e}"))?;
    let status = match field(columns.status) {
        "" => SubscriptionStatus::Confirmed,
        other => other.parse().map_err(|e| format!("status: {e}"))?,
    };
    let topics: Vec<&str> = field(columns.topics).split(';').collect();
    let topics = Topics::parse(&topics).map_err(|e| format!("topics: {e}"))?;
    Ok(ImportedSubscriber {
        email,
        name,
        status,
        topics,
        unsubscribe_key: keys.new_unsubscribe_key(),
        confirmation_token: Token::generate(),
        confirmation_expires_at: clock::now() + ttl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(csv: &str) -> Vec<Result<ImportedSubscriber, String>> {
        let keys = Keys::from_secret(b"a test key that is long enough");
        parse_csv(csv.as_bytes(), &keys, TimeDelta::hours(48)).unwrap().collect()
    }

    #[test]
    fn rows_are_parsed_with_defaults_and_bad_rows_name_their_line() {
        let rows = parse(
            "email,name,status,topics\n\
             a@example.org,Ann,,Trade;North Korea\n\
             not-an-address,Bob,confirmed,\n\
             c@example.org,,pending,\n\
             d@example.org,,active,\n",
        );
        assert_eq!(rows.len(), 4);
        let ann = rows[0].as_ref().unwrap();
        assert_eq!(ann.status, SubscriptionStatus::Confirmed);
        assert_eq!(ann.topics.names(), vec!["Trade", "North Korea"]);
        assert!(rows[1].as_ref().unwrap_err().starts_with("line 3: email:"), "{:?}", rows[1].as_ref().err());
        assert_eq!(rows[2].as_ref().unwrap().status, SubscriptionStatus::Pending);
        assert!(rows[3].as_ref().unwrap_err().starts_with("line 5: status:"));
    }

    #[test]
    fn columns_are_found_by_name_and_extra_columns_ignored() {
        let rows = parse("created_at,STATUS,Email\n2024-01-01,unsubscribed,x@example.org\n");
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.email.as_str(), "x@example.org");
        assert_eq!(row.status, SubscriptionStatus::Unsubscribed);
    }

    #[test]
    fn a_file_without_an_email_column_is_refused() {
        let keys = Keys::from_secret(b"a test key that is long enough");
        let error = parse_csv("name,status\nAnn,\n".as_bytes(), &keys, TimeDelta::hours(1)).err().unwrap();
        assert!(error.to_string().contains("email"));
    }
}
