//! bulletin: a self-hosted mailing-list subscription service.
//!
//! The crate is split by concern: `domain` holds the types that parse user
//! input, `store` the two storage backends behind one trait, `email` the
//! templates and the SMTP/outbox mailer, `worker` the durable delivery queue,
//! `routes` the HTTP handlers, and `startup` wires them into a running
//! service. `main.rs` only parses the command line.

pub mod admins;
pub mod cli;
pub mod clock;
pub mod config;
pub mod digests;
pub mod domain;
pub mod email;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ingest;
pub mod keys;
pub mod routes;
pub mod server;
pub mod signup_queue;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod tls;
pub mod worker;
