//! The `bulletin` binary itself: `migrate`, `subscribers export|import`,
//! start-up errors, and `serve` with no configuration at all.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, SECRET_KEY, TestApp, TestDb};
use crate::on_both_backends;

on_both_backends!(
    migrate_applies_the_schema_once,
    import_keeps_good_rows_reports_bad_ones_by_line_and_fails,
    import_leaves_known_addresses_alone_and_skips_erased_ones,
    an_address_that_unsubscribed_is_never_re_added_by_an_import_even_after_erasure,
    export_writes_every_subscriber_as_csv_that_import_reads_back,
);

/// Runs `bulletin ARGS` in an empty directory with only `vars` set.
pub fn bulletin(args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulletin"));
    command.args(args).current_dir(dir.path()).env_clear().envs(vars.iter().copied());
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn db_vars(db: &TestDb) -> Vec<(&str, &str)> {
    vec![("DATABASE_URL", db.url.as_str()), ("SECRET_KEY", SECRET_KEY), ("RUST_LOG", "warn")]
}

async fn migrate_applies_the_schema_once(backend: Backend) {
    let db = TestDb::create(backend, None).await;
    let first = bulletin(&["migrate"], &db_vars(&db), None);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
    assert!(text(&first.stdout).contains(&format!("applied {migrations} migration(s)")), "{}", text(&first.stdout));
    let second = bulletin(&["migrate"], &db_vars(&db), None);
    assert!(second.status.success());
    assert!(text(&second.stdout).contains("applied 0 migration(s)"));
    assert_eq!(db.count("SELECT count(*) FROM subscribers").await, 0);
}

async fn import_keeps_good_rows_reports_bad_ones_by_line_and_fails(backend: Backend) {
    let db = TestDb::create(backend, None).await;
    let csv = "email,name,status,topics\n\
               ann@example.org,Ann,,Trade;Energy\n\
               not an address,Bob,,\n\
               carol@example.org,,pending,\n\
               dave@example.org,,unsubscribed,\n\
               erin@example.org,,subscribed,\n";
    let output = bulletin(&["subscribers", "import", "-"], &db_vars(&db), Some(csv));
    assert!(!output.status.success(), "bad rows make the exit code non-zero");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("line 3: email:"), "{stderr}");
    assert!(stderr.contains("line 6: status:"), "{stderr}");
    assert!(text(&output.stdout).contains("imported 3, already known 0, suppressed 0, bad rows 2"));

    assert_eq!(db.count("SELECT count(*) FROM subscribers").await, 3);
    let confirmed = "SELECT count(*) FROM subscribers WHERE status = 'confirmed' AND consent_source = 'import' \
                     AND confirmed_via = 'import' AND confirmed_at IS NOT NULL";
    assert_eq!(db.count(confirmed).await, 1);
    assert_eq!(
        db.text("SELECT topics FROM subscribers WHERE email = 'ann@example.org'").await.as_deref(),
        Some(r#"["Trade","Energy"]"#)
    );
    // The imported pending reader still has to opt in: a confirmation is queued.
    assert_eq!(db.count("SELECT count(*) FROM deliveries WHERE kind = 'confirmation'").await, 1);
    assert_eq!(db.count("SELECT count(*) FROM subscribers WHERE status = 'unsubscribed'").await, 1);
}

async fn import_leaves_known_addresses_alone_and_skips_erased_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_json("/subscriptions", &json!({ "email": "ann@example.org", "name": "Original" })).await;
    app.confirmed_subscriber("erased@example.org").await;
    let page: serde_json::Value = app.admin_get("/api/v1/subscribers?status=confirmed").await.json().await.unwrap();
    let erased_id = page["items"][0]["id"].as_i64().unwrap();
    assert_eq!(app.admin_delete(&format!("/api/v1/subscribers/{erased_id}")).await.status(), 204);

    let csv = "email,name\nANN@example.org,Imported\nErased@Example.org,Back again\nnew@example.org,New\n";
    let output = bulletin(&["subscribers", "import", "-"], &db_vars(&app.db), Some(csv));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("imported 1, already known 1, suppressed 1, bad rows 0"));
    assert_eq!(
        app.db.text("SELECT name FROM subscribers WHERE email = 'ann@example.org'").await.as_deref(),
        Some("Original")
    );
    assert_eq!(
        app.db.text("SELECT status FROM subscribers WHERE email = 'ann@example.org'").await.as_deref(),
        Some("pending")
    );
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers WHERE lower(email) = 'erased@example.org'").await, 0);
}

async fn an_address_that_unsubscribed_is_never_re_added_by_an_import_even_after_erasure(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.confirmed_subscriber("left@example.org").await;
    let unsubscribe = app.unsubscribe_link("left@example.org").await;
    assert_eq!(app.client.post(&unsubscribe).send().await.unwrap().status(), 200);
    let csv = "email,status\nLeft@Example.org,confirmed\n";
    let output = bulletin(&["subscribers", "import", "-"], &db_vars(&app.db), Some(csv));
    assert!(text(&output.stdout).contains("imported 0, already known 0, suppressed 1"), "{}", text(&output.stdout));

    // Erased afterwards (the row is gone): the suppression list still remembers, by hash only.
    let page: serde_json::Value = app.admin_get("/api/v1/subscribers").await.json().await.unwrap();
    let id = page["items"][0]["id"].as_i64().unwrap();
    assert_eq!(app.admin_delete(&format!("/api/v1/subscribers/{id}")).await.status(), 204);
    let output = bulletin(&["subscribers", "import", "-"], &db_vars(&app.db), Some(csv));
    assert!(text(&output.stdout).contains("imported 0, already known 0, suppressed 1"), "{}", text(&output.stdout));
    assert_eq!(app.db.count("SELECT count(*) FROM subscribers").await, 0);
    assert_eq!(app.db.count("SELECT count(*) FROM suppressions WHERE email_hash LIKE '%left%'").await, 0);
}

async fn export_writes_every_subscriber_as_csv_that_import_reads_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_json(
        "/subscriptions",
        &json!({ "email": "ann@example.org", "name": "Ann, \"the\" reader", "topics": ["Trade", "North Korea"] }),
    )
    .await;
    app.confirmed_subscriber("bob@example.org").await;
    let output = bulletin(&["subscribers", "export"], &db_vars(&app.db), None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csv = text(&output.stdout);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("email,name,status,topics,created_at,confirmed_at,unsubscribed_at,consent_source"));
    assert!(csv.contains(r#"ann@example.org,"Ann, ""the"" reader",pending,Trade;North Korea,"#), "{csv}");
    assert!(csv.contains("bob@example.org,,confirmed,,"));
    assert_eq!(csv.lines().count(), 3);

    let fresh = TestDb::create(backend, None).await;
    let output = bulletin(&["subscribers", "import", "-"], &db_vars(&fresh), Some(&csv));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(fresh.count("SELECT count(*) FROM subscribers").await, 2);
    assert_eq!(
        fresh.text("SELECT name FROM subscribers WHERE email = 'ann@example.org'").await.as_deref(),
        Some("Ann, \"the\" reader")
    );
}

#[test]
fn a_bad_value_stops_start_up_with_one_line_naming_the_variable() {
    let cases = [
        ("BIND_ADDR", "not-an-address"),
        ("SMTP_URL", "ftp://user:secret-password@mail.example.org"),
        ("SIGNUP_RATE_PER_IP", "lots"),
        ("DATABASE_URL", "mysql://localhost/db"),
    ];
    for (variable, value) in cases {
        let output = bulletin(&["serve"], &[(variable, value)], None);
        assert!(!output.status.success(), "{variable}={value} must stop start-up");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(variable), "{stderr}");
        assert!(!stderr.contains("secret-password"), "{stderr}");
    }
}

#[test]
fn an_unreachable_database_is_a_one_line_error_without_the_password() {
    let output = bulletin(&["migrate"], &[("DATABASE_URL", "postgres://app:db-secret@127.0.0.1:1/bulletin")], None);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot open the database") && !stderr.contains("db-secret"), "{stderr}");
}

/// `serve` with no configuration: SQLite file and `.eml` files in `outbox/`
/// in the working directory; SIGTERM stops it cleanly.
#[test]
fn serve_with_no_configuration_runs_on_sqlite_and_writes_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_bulletin"))
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("BIND_ADDR", &bind)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait for the log line that says it listens.
    let mut log = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("bulletin is serving") {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "serve exited before listening");
    }
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));

    bulletin::tls::install_crypto_provider();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("http://{bind}/subscriptions"))
            .json(&json!({ "email": "ann@example.org" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    });
    let eml = wait_for_file(&dir.path().join("outbox"));
    assert!(dir.path().join("bulletin.db").exists());
    let email =
        crate::smtp::ReceivedEmail { mail_from: String::new(), recipients: vec![], raw: std::fs::read(eml).unwrap() };
    assert!(email.confirmation_link().starts_with(&format!("http://{bind}/subscriptions/confirm?token=")));

    let killed = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "SIGTERM is a clean shutdown: {status:?}");
}

/// Kills the process if the test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_file(dir: &Path) -> std::path::PathBuf {
    for _ in 0..500 {
        if let Some(entry) = std::fs::read_dir(dir).ok().and_then(|mut entries| entries.next()) {
            return entry.unwrap().path();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no email appeared in {}", dir.display());
}
