//! `bulletin doctor`: one line per check, OK / WARNING / PROBLEM, and a
//! non-zero exit code when anything is a problem. It sends no mail.

use crate::cli::{bulletin, db_vars, text};
use crate::deliverability::{ED25519, RSA};
use crate::helpers::{Backend, TestApp, TestDb};
use crate::on_both_backends;

on_both_backends!(a_healthy_setup_gets_ok_lines_and_exit_code_zero);

/// `bulletin doctor` with exactly the app's configuration plus `extra`.
fn doctor(app: &TestApp, extra: &[(&str, &str)]) -> (bool, String) {
    let mut vars: Vec<(&str, &str)> = app.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.retain(|(name, _)| !extra.iter().any(|(e, _)| e == name));
    vars.extend(extra.iter().copied());
    vars.push(("RUST_LOG", "warn"));
    let output = bulletin(&["doctor"], &vars, None);
    (output.status.success(), text(&output.stdout))
}

fn lines_with<'a>(report: &'a str, prefix: &str) -> Vec<&'a str> {
    report.lines().filter(|line| line.starts_with(prefix)).collect()
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn a_healthy_setup_gets_ok_lines_and_exit_code_zero(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("DKIM_DOMAIN", "example.org")
        .env("DKIM_SELECTOR", "mail2025")
        .env("DKIM_PRIVATE_KEY_FILE", &ED25519.private_key_file())
        .env("DKIM_PUBLIC_KEY", &ED25519.record())
        .spawn()
        .await;
    let (success, report) = doctor(&app, &[]);
    assert!(success, "{report}");
    assert!(lines_with(&report, "PROBLEM").is_empty(), "{report}");
    for check in ["configuration:", "database:", "migrations:", "SMTP:", "DKIM:", "BASE_URL:"] {
        assert!(lines_with(&report, &format!("OK       {check}")).len() == 1, "OK {check} in:\n{report}");
    }
    assert!(report.contains("greeting and EHLO"), "{report}");
    assert!(app.smtp.messages().is_empty(), "the doctor sends no mail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_nobody_listens_on_is_a_problem_and_an_unreachable_base_url_a_warning() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let smtp_url = format!("smtp://127.0.0.1:{}", unused_port());
    let base_url = format!("http://127.0.0.1:{}", unused_port());
    let (success, report) = doctor(&app, &[("SMTP_URL", &smtp_url), ("BASE_URL", &base_url)]);
    assert!(!success, "{report}");
    let problems = lines_with(&report, "PROBLEM");
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0].starts_with("PROBLEM  SMTP: cannot connect to 127.0.0.1:"), "{report}");
    assert_eq!(lines_with(&report, "WARNING  BASE_URL:").len(), 1, "{report}");
    assert_eq!(lines_with(&report, "OK       database:").len(), 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_key_that_does_not_match_the_published_one_is_a_problem() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let key_file = ED25519.private_key_file();
    let rsa_record = RSA.record();
    let dkim = [
        ("DKIM_DOMAIN", "example.org"),
        ("DKIM_SELECTOR", "mail2025"),
        ("DKIM_PRIVATE_KEY_FILE", key_file.as_str()),
        ("DKIM_PUBLIC_KEY", rsa_record.as_str()),
    ];
    let (success, report) = doctor(&app, &dkim);
    assert!(!success, "{report}");
    let problems = lines_with(&report, "PROBLEM");
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0].starts_with("PROBLEM  DKIM:") && problems[0].contains("does not match"), "{report}");
    let ed25519_record = ED25519.record();
    assert!(problems[0].contains(&ed25519_record), "it says what to publish: {report}");

    // Without DKIM_PUBLIC_KEY the key cannot be compared: a warning with the record to publish.
    let (success, report) = doctor(&app, &dkim[..3]);
    assert!(success, "{report}");
    let warning = lines_with(&report, "WARNING  DKIM:");
    assert!(warning.len() == 1 && warning[0].contains(&ed25519_record), "{report}");
}

#[test]
fn a_bad_configuration_is_reported_as_a_problem() {
    let (success, report) = {
        let output = bulletin(&["doctor"], &[("DKIM_DOMAIN", "example.org")], None);
        (output.status.success(), text(&output.stdout))
    };
    assert!(!success);
    let problems = lines_with(&report, "PROBLEM");
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0].contains("DKIM_SELECTOR"), "names the missing variable: {report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_migrations_are_a_warning_and_doctor_does_not_apply_them() {
    let db = TestDb::create(Backend::Sqlite, None).await;
    let output = bulletin(&["doctor"], &db_vars(&db), None);
    let report = text(&output.stdout);
    assert_eq!(lines_with(&report, "WARNING  migrations:").len(), 1, "{report}");
    let again = text(&bulletin(&["doctor"], &db_vars(&db), None).stdout);
    assert_eq!(lines_with(&again, "WARNING  migrations:").len(), 1, "still pending: {again}");
}
