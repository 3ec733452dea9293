//! `bulletin worker` processes (F9–F11): killed mid-digest, stopped with
//! SIGTERM, and several sharing one database.

use std::collections::HashMap;
use std::process::Child;
use std::time::Duration;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;

on_both_backends!(
    a_worker_killed_mid_digest_loses_nothing_and_repeats_only_what_was_in_flight,
    sigterm_mid_digest_stops_cleanly_and_a_restart_finishes_without_duplicates,
    three_workers_sharing_one_database_send_each_of_2000_readers_exactly_one_message,
);

/// Kills the process when dropped, so a failed test leaves nothing running.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const WORKER_ENV: [(&str, &str); 3] = [("DELIVERY_LEASE", "4s"), ("SMTP_TIMEOUT", "2s"), ("SMTP_POOL_SIZE", "4")];

async fn app_with_digest(backend: Backend, readers: usize) -> (TestApp, Vec<String>) {
    let app = TestApp::builder(backend).without_worker().spawn().await;
    let emails = app.add_confirmed_subscribers(readers).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    let created = app.send_digest().await;
    assert_eq!(created["recipients"], readers);
    (app, emails)
}

/// Messages received per recipient.
pub fn received(app: &TestApp) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in app.smtp.messages() {
        for recipient in message.recipients {
            *counts.entry(recipient).or_insert(0) += 1;
        }
    }
    counts
}

pub async fn wait_until_everyone_has_it(app: &TestApp, emails: &[String]) -> HashMap<String, usize> {
    let everyone = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            let counts = received(app);
            if emails.iter().all(|e| counts.contains_key(e)) {
                return counts;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    everyone.unwrap_or_else(|_| panic!("only {} of {} readers got the digest", received(app).len(), emails.len()))
}

async fn a_worker_killed_mid_digest_loses_nothing_and_repeats_only_what_was_in_flight(backend: Backend) {
    let (app, emails) = app_with_digest(backend, 5000).await;
    app.smtp.set_data_delay(Duration::from_millis(3));
    let mut first = Worker(app.worker_process(&WORKER_ENV));
    app.smtp.wait_for_messages(1500).await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    // What the killed worker held: sent but unrecorded (possible duplicates)
    // or not yet sent (sent later by someone else).
    let in_flight = app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sending'").await;

    let _second = Worker(app.worker_process(&WORKER_ENV));
    let counts = wait_until_everyone_has_it(&app, &emails).await;
    app.wait_until_queue_is_empty().await;
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    assert!(duplicates as i64 <= in_flight, "{duplicates} duplicates, but only {in_flight} were in flight");
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sent'").await, 5000);
    assert_eq!(app.db.count("SELECT count(*) FROM digests WHERE status = 'sent'").await, 1);
}

async fn sigterm_mid_digest_stops_cleanly_and_a_restart_finishes_without_duplicates(backend: Backend) {
    let (app, emails) = app_with_digest(backend, 300).await;
    app.smtp.set_data_delay(Duration::from_millis(3));
    let mut first = Worker(app.worker_process(&WORKER_ENV));
    app.smtp.wait_for_messages(90).await;
    let terminated = std::process::Command::new("kill").args(["-TERM", &first.0.id().to_string()]).status().unwrap();
    assert!(terminated.success());
    let status = tokio::task::spawn_blocking(move || first.0.wait().unwrap()).await.unwrap();
    assert!(status.success(), "SIGTERM is a clean exit: {status:?}");
    assert_eq!(
        app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sending'").await,
        0,
        "nothing left claimed"
    );
    let sent_before_restart = app.smtp.messages().len();
    assert!(sent_before_restart < 300, "stopped mid-digest");

    let _second = Worker(app.worker_process(&WORKER_ENV));
    let counts = wait_until_everyone_has_it(&app, &emails).await;
    assert!(counts.values().all(|&n| n == 1), "a graceful stop repeats nothing");
    app.wait_until_queue_is_empty().await;
    assert_eq!(app.db.count("SELECT count(*) FROM digests WHERE status = 'sent'").await, 1);
}

/// Several workers split one queue (Postgres: `SKIP LOCKED`; SQLite: one
/// writer at a time): each reader gets exactly one message.
async fn three_workers_sharing_one_database_send_each_of_2000_readers_exactly_one_message(backend: Backend) {
    let (app, emails) = app_with_digest(backend, 2000).await;
    let _workers: Vec<Worker> = (0..3).map(|_| Worker(app.worker_process(&WORKER_ENV))).collect();
    let counts = wait_until_everyone_has_it(&app, &emails).await;
    app.wait_until_queue_is_empty().await;
    assert_eq!(counts.len(), 2000);
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "sent more than once: {repeated:?}");
    assert_eq!(app.smtp.messages().len(), 2000);
    assert_eq!(app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sent'").await, 2000);
}
