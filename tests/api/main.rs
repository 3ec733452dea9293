//! Integration tests: the real app on a random port, over HTTP, with a real
//! SMTP server, on SQLite and on Postgres. One binary, one module per area.
#![allow(clippy::unwrap_used)]

mod db;
mod helpers;
mod smtp;

mod admin_subscribers;
mod cli;
mod delivery;
mod health;
mod subscriptions;
mod subscriptions_confirm;
mod unsubscribe;
