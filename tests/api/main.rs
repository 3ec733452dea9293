//! Integration tests: the real app on a random port, over HTTP, with a real
//! SMTP server, on SQLite and on Postgres. One binary, one module per area.
#![allow(clippy::unwrap_used)]

mod db;
mod feeds;
mod helpers;
mod process;
mod proxy;
mod smtp;
mod smtp_faults;

mod abuse;
mod admin_dashboard;
mod admin_subscribers;
mod backup;
mod bounces;
mod browser;
mod cli;
mod connections;
mod database_faults;
mod deliverability;
mod delivery;
mod digests;
mod doctor;
mod health;
mod hostile_input;
mod openapi;
mod preferences;
mod publications;
mod subscriptions;
mod subscriptions_confirm;
mod unsubscribe;
mod workers;
