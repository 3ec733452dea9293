//! `bulletin backup PATH`: a consistent copy of a SQLite database, taken
//! while the service runs. It never overwrites a file; Postgres is backed up
//! with its own tool.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::{BackupOutcome, Store};

pub async fn backup(store: &dyn Store, path: &Path) -> anyhow::Result<ExitCode> {
    let outcome = store.backup_to(path).await.with_context(|| format!("cannot back up to {}", path.display()))?;
    match outcome {
        BackupOutcome::Copied => {
            println!(
                "backed up the database to {}; to use it, set DATABASE_URL=sqlite://{}",
                path.display(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        BackupOutcome::TargetExists => {
            anyhow::bail!("{} already exists; a backup never overwrites a file, choose another name", path.display())
        }
        BackupOutcome::UsePgDump => anyhow::bail!(
            "bulletin backup copies SQLite databases; back up Postgres with pg_dump, \
             e.g. pg_dump --format=custom --file=bulletin.dump \"$DATABASE_URL\""
        ),
    }
}
