//! `bulletin admin add EMAIL` and `bulletin admin remove EMAIL`: dashboard
//! accounts. The password comes from the terminal (asked twice, no echo) or,
//! when stdin is not a terminal, from its first line; never from argv,
//! where other users could read it in the process list.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;

use crate::admins::{AdminPassword, hash_password};
use crate::clock;
use crate::domain::SubscriberEmail;
use crate::store::Store;

pub async fn add(store: &dyn Store, email: &str) -> anyhow::Result<ExitCode> {
    let email = SubscriberEmail::parse(email).map_err(|e| anyhow::anyhow!("invalid address {email:?}: {e}"))?;
    let password = tokio::task::spawn_blocking(read_password).await.context("cannot read the password")??;
    let password = AdminPassword::parse(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = hash_password(password).await?;
    if store.add_admin(email.as_str(), &hash, clock::now()).await? {
        println!("admin {} added; log in at /admin/login", email.as_str());
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("an admin with the address {} exists already", email.as_str())
    }
}

pub async fn remove(store: &dyn Store, email: &str) -> anyhow::Result<ExitCode> {
    if store.remove_admin(email.trim()).await? {
        println!("admin {} removed, and their sessions ended", email.trim());
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("there is no admin with the address {}", email.trim())
    }
}

fn read_password() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    let first =
        rpassword::prompt_password("Password (at least 12 characters): ").context("cannot read the password")?;
    let second = rpassword::prompt_password("Password again: ").context("cannot read the password")?;
    if first != second {
        anyhow::bail!("the two passwords differ");
    }
    Ok(first)
}
