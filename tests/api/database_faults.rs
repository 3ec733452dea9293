//! Database faults (F14, F15): Postgres restarting mid-digest, a SQLite
//! write lock held past the busy timeout, SQLite on a full disk. Requests
//! get 503 (never 500), nothing acknowledged is lost, nothing refused is
//! half-written, and everything resumes when the database is back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sqlx::Connection;

use crate::db::postgres_address;
use crate::helpers::{Backend, TestApp};
use crate::proxy::TcpProxy;
use crate::publications::publication;
use crate::workers::wait_until_everyone_has_it;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_mid_digest_gets_503_and_the_digest_still_reaches_everyone() {
    let proxy = TcpProxy::start(&postgres_address()).await;
    let app = TestApp::builder(Backend::Postgres).database_port(proxy.port()).spawn().await;
    let readers = app.add_confirmed_subscribers(2000).await;
    app.publish(publication("https://example.org/a", "A", None)).await;
    app.smtp.set_data_delay(Duration::from_millis(2));
    app.send_digest().await;
    app.smtp.wait_for_messages(400).await;

    proxy.cut();
    let in_flight = app.db.count("SELECT count(*) FROM deliveries WHERE status = 'sending'").await;
    let response = app.signup("during@example.org").await;
    assert_eq!(response.status(), 503, "{}", response.text().await.unwrap());
    assert_eq!(app.get("/ready").await.status(), 503);
    assert!(app.smtp.messages().len() < 2000, "the outage began mid-digest");

    proxy.restore().await;
    let counts = wait_until_everyone_has_it(&app, &readers).await;
    app.wait_until_queue_is_empty().await;
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    assert!(duplicates as i64 <= in_flight, "{duplicates} duplicates, {in_flight} in flight");
    assert_eq!(app.db.count("SELECT count(*) FROM digests WHERE status = 'sent'").await, 1);
    // The refused signup left nothing behind; the next one works.
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE email = 'during@example.org'").await, 0);
    assert_eq!(app.signup("after@example.org").await.status(), 202);
    app.smtp.wait_for_message_to("after@example.org").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_write_lock_held_past_the_busy_timeout_gets_503_then_recovers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.signup("before@example.org").await.status(), 202);

    // Another connection (as another process would) takes the write lock and keeps it.
    let mut other = sqlx::SqliteConnection::connect(&format!("{}?mode=rw", app.db.url)).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    sqlx::query("UPDATE rate_buckets SET tokens = tokens").execute(&mut other).await.unwrap();
    let response = app.signup("locked@example.org").await;
    assert_eq!(response.status(), 503, "{}", response.text().await.unwrap());
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();

    assert_eq!(app.signup("after@example.org").await.status(), 202);
    app.smtp.wait_for_message_to("after@example.org").await;
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE email = 'locked@example.org'").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_gets_503_stays_intact_and_recovers_when_space_returns() {
    let disk = SmallDisk::mount("16m");
    let app = TestApp::builder(Backend::Sqlite).sqlite_parent(disk.path()).spawn().await;
    assert_eq!(app.signup("first@example.org").await.status(), 202);
    app.smtp.wait_for_message_to("first@example.org").await;

    let filler = disk.fill();
    let mut accepted = vec!["first@example.org".to_owned()];
    let mut refused = None;
    for i in 0..2000 {
        let email = format!("full{i}@example.org");
        let response = app.signup(&email).await;
        match response.status().as_u16() {
            202 => accepted.push(email),
            503 => {
                refused = Some(email);
                break;
            }
            status => panic!("signup on a full disk got {status}: {}", response.text().await.unwrap()),
        }
    }
    let refused = refused.expect("a full disk must refuse a signup with 503 within 2,000 tries");

    std::fs::remove_file(filler).unwrap();
    assert_eq!(app.db.text("PRAGMA integrity_check").await.as_deref(), Some("ok"));
    assert_eq!(app.signup("after@example.org").await.status(), 202);
    app.smtp.wait_for_message_to("after@example.org").await;
    accepted.push("after@example.org".to_owned());
    // Every acknowledged signup was kept; the refused one left nothing.
    for email in &accepted {
        assert_eq!(stored(&app, email).await, 1, "{email} was acknowledged and lost");
    }
    assert_eq!(stored(&app, &refused).await, 0);
}

async fn stored(app: &TestApp, email: &str) -> usize {
    let salt = app.db.bytes("SELECT unsubscribe_salt FROM subscribers WHERE email = $1", email).await;
    usize::from(salt.is_some())
}

/// A tmpfs of a few MiB, unmounted when dropped. Mounting needs root (CI
/// and these machines run tests as root); without it the test fails and says so.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .unwrap_or_else(|error| panic!("cannot run mount: {error}"));
        assert!(mounted.success(), "mounting a tmpfs for the full-disk test needs root (run the tests as root)");
        SmallDisk { path, _dir: dir }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.write_all(&[0u8; 512]);
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
