//! `bulletin backup PATH`: a consistent copy of a running SQLite database
//! that the other commands can use as it is; never over an existing file;
//! on Postgres, the advice to use pg_dump.

use crate::cli::{bulletin, db_vars, text};
use crate::helpers::{Backend, SECRET_KEY, TestApp, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_running_database_holds_the_same_subscribers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.confirmed_subscriber("ann@example.org").await;
    assert_eq!(app.signup("bob@example.org").await.status(), 202);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");

    let output = bulletin(&["backup", copy.to_str().unwrap()], &db_vars(&app.db), None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("backed up the database to"), "{}", text(&output.stdout));
    assert!(copy.exists());

    // Restore: point DATABASE_URL at the copy.
    let copy_url = format!("sqlite://{}", copy.display());
    let from_copy = bulletin(
        &["subscribers", "export"],
        &[("DATABASE_URL", &copy_url), ("SECRET_KEY", SECRET_KEY), ("RUST_LOG", "warn")],
        None,
    );
    assert!(from_copy.status.success(), "{}", text(&from_copy.stderr));
    let live = bulletin(&["subscribers", "export"], &db_vars(&app.db), None);
    let csv = text(&from_copy.stdout);
    assert!(csv.contains("ann@example.org,,confirmed,") && csv.contains("bob@example.org,,pending,"), "{csv}");
    assert_eq!(csv, text(&live.stdout), "the copy holds what the live database holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_never_overwrites_an_existing_file() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.confirmed_subscriber("ann@example.org").await;
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("precious.db");
    std::fs::write(&existing, "keep me").unwrap();

    let output = bulletin(&["backup", existing.to_str().unwrap()], &db_vars(&app.db), None);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_backup_says_to_use_pg_dump() {
    let db = TestDb::create(Backend::Postgres, None).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy.db");

    let output = bulletin(&["backup", target.to_str().unwrap()], &db_vars(&db), None);
    assert!(!output.status.success(), "nothing was backed up");
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!target.exists());
}
