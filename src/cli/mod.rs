//! The command line: `serve`, `worker`, `migrate`, `subscribers …`.

mod subscribers;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::{Application, Services, shutdown_token};
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
    /// Deliver queued mail only (for scale-out: any number against one Postgres).
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Export or import subscribers as CSV.
    Subscribers {
        #[command(subcommand)]
        command: SubscribersCommand,
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
    let config = Config::from_env()?;
    telemetry::init(&config.log)?;
    match cli.command {
        Command::Serve { no_worker } => {
            let app = Application::build(config, !no_worker).await?;
            app.run_until_stopped(shutdown_token()).await?;
        }
        Command::Worker => {
            let services = Services::start(config).await?;
            let worker = services.worker(Default::default())?;
            worker.run(shutdown_token()).await;
            services.store.close().await;
        }
        Command::Migrate => {
            let store = store::connect(&config.database)
                .await
                .with_context(|| format!("cannot open the database {}", config.database.redacted_url()))?;
            let applied = store.migrate().await.context("cannot migrate the database")?;
            println!("applied {applied} migration(s); the database is up to date");
            store.close().await;
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
    }
    Ok(ExitCode::SUCCESS)
}
