//! The command line: `serve`, `worker`, `migrate`, `subscribers …`,
//! `backup`, `doctor`, `admin …`.

mod admin;
mod backup;
mod digest;
mod doctor;
mod publications;
pub(crate) mod subscribers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::{Application, Services, shutdown_token};
use crate::store::Store;
use crate::{store, telemetry};

#[derive(Debug, Parser)]
#[command(name = "bulletin", version, about = "A self-hosted mailing-list subscription service.")]
#[command(after_help = "Configuration comes from the environment (and a .env file); see .env.example.")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP and deliver mail (applies pending migrations first).
    Serve {
        /// Serve HTTP only; run `bulletin worker` elsewhere to deliver mail.
        #[arg(long)]
        no_worker: bool,
    },
    /// Deliver queued mail, and poll FEED_URL if set (for scale-out: any number against one Postgres).
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Export or import subscribers as CSV.
    Subscribers {
        #[command(subcommand)]
        command: SubscribersCommand,
    },
    /// Import publications.
    Publications {
        #[command(subcommand)]
        command: PublicationsCommand,
    },
    /// Create and queue digests.
    Digest {
        #[command(subcommand)]
        command: DigestCommand,
    },
    /// Copy the SQLite database, consistently, while the service runs (Postgres: use pg_dump).
    Backup {
        /// Where the copy goes; must not exist yet.
        path: PathBuf,
    },
    /// Check the configuration end to end: database, migrations, SMTP, DKIM, BASE_URL.
    Doctor,
    /// Manage dashboard accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add an admin; the password is asked twice on the terminal, or read from the first line of stdin.
    Add {
        /// The admin's email address (their login).
        email: String,
    },
    /// Remove an admin and end their sessions.
    Remove { email: String },
}

#[derive(Debug, Subcommand)]
enum PublicationsCommand {
    /// Import from a JSON array, a CSV file or an RSS/Atom feed (file or http(s) URL); idempotent by URL.
    Import {
        /// A file path or an http(s) URL.
        source: String,
        /// Mark the imported publications as already announced, so that no
        /// digest sends them (for a back catalogue).
        #[arg(long)]
        announced: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DigestCommand {
    /// Queue a digest of every publication no earlier digest announced.
    Send {
        /// Show what would be sent, and queue nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SubscribersCommand {
    /// Write every subscriber as CSV to stdout.
    Export,
    /// Import subscribers from a CSV file with columns email,name,status,topics.
    Import {
        /// The CSV file (`-` for stdin).
        file: PathBuf,
    },
}

/// Runs a command; errors are printed by `main` on one line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // A missing .env is normal; a broken one is not.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        return Err(error).context("cannot read .env");
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        // `doctor` reports a bad configuration as one of its findings.
        Err(error) if matches!(cli.command, Command::Doctor) => return Ok(doctor::run(Err(error)).await),
        Err(error) => return Err(error.into()),
    };
    telemetry::init(&config.log)?;
    crate::tls::install_crypto_provider();
    match cli.command {
        Command::Serve { no_worker } => {
            let app = Application::build(config, !no_worker).await?;
            app.run_until_stopped(shutdown_token()).await?;
        }
        Command::Worker => {
            let services = Services::start(config).await?;
            let shutdown = shutdown_token();
            for task in services.spawn_background(Default::default(), &shutdown)? {
                task.await.context("a background task panicked")?;
            }
            services.store.close().await;
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            let applied = store.migrate().await.context("cannot migrate the database")?;
            println!("applied {applied} migration(s); the database is up to date");
            store.close().await;
        }
        Command::Publications { command: PublicationsCommand::Import { source, announced } } => {
            let services = Services::start(config).await?;
            let code = publications::import(&services, &source, announced).await?;
            services.store.close().await;
            return Ok(code);
        }
        Command::Digest { command: DigestCommand::Send { dry_run } } => {
            let services = Services::start(config).await?;
            let code = digest::send(&services, dry_run).await;
            services.store.close().await;
            return code;
        }
        Command::Subscribers { command } => {
            let services = Services::start(config).await?;
            let code = match command {
                SubscribersCommand::Export => subscribers::export(&services).await?,
                SubscribersCommand::Import { file } => subscribers::import(&services, &file).await?,
            };
            services.store.close().await;
            return Ok(code);
        }
        Command::Backup { path } => {
            let store = open_store(&config).await?;
            let code = backup::backup(store.as_ref(), &path).await;
            store.close().await;
            return code;
        }
        Command::Doctor => return Ok(doctor::run(Ok(config)).await),
        Command::Admin { command } => {
            let store = open_store(&config).await?;
            store.migrate().await.context("cannot migrate the database")?;
            let code = match command {
                AdminCommand::Add { email } => admin::add(store.as_ref(), &email).await,
                AdminCommand::Remove { email } => admin::remove(store.as_ref(), &email).await,
            };
            store.close().await;
            return code;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The database alone, not migrated.
async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    store::connect(&config.database)
        .await
        .with_context(|| format!("cannot open the database {}", config.database.redacted_url()))
}
