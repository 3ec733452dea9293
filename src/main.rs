//! `bulletin`: see `bulletin --help`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = bulletin::cli::Cli::parse();
    match bulletin::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            // One line: the error and its causes, joined by ": ".
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
