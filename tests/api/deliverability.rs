//! Deliverability: confirmations and digests as received over SMTP carry a
//! DKIM signature that an independent verifier (dkimpy, see
//! `tests/fixtures/dkim/`) accepts, with Ed25519 and RSA keys, and that a
//! changed message fails; confirmations may come from their own address.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::publications::publication;
use crate::smtp::ReceivedEmail;

on_both_backends!(
    ed25519_signatures_verify_and_break_when_the_message_changes,
    rsa_signatures_verify,
    confirmations_come_from_the_transactional_address_and_digests_from_mail_from,
);

const SELECTOR: &str = "mail2025";
const DNS_NAME: &str = "mail2025._domainkey.example.org";

/// A test key in `tests/fixtures/dkim/`: `NAME.pem` and its DNS record `NAME.txt`.
#[derive(Debug, Clone, Copy)]
pub struct TestKey(&'static str);

pub const ED25519: TestKey = TestKey("ed25519");
pub const RSA: TestKey = TestKey("rsa");

impl TestKey {
    pub fn private_key_file(self) -> String {
        format!("{}/tests/fixtures/dkim/{}.pem", env!("CARGO_MANIFEST_DIR"), self.0)
    }

    fn record_file(self) -> String {
        format!("{}/tests/fixtures/dkim/{}.txt", env!("CARGO_MANIFEST_DIR"), self.0)
    }

    /// The published record, as `DKIM_PUBLIC_KEY` takes it.
    pub fn record(self) -> String {
        std::fs::read_to_string(self.record_file()).unwrap().trim().to_owned()
    }
}

/// dkimpy's verdict on `raw`: `Err` with its reasons when it does not verify.
fn verify(raw: &[u8], key: TestKey) -> Result<(), String> {
    let installed = Command::new("python3").args(["-c", "import dkim, nacl"]).output();
    assert!(
        installed.is_ok_and(|output| output.status.success()),
        "the DKIM tests check signatures with dkimpy, an independent implementation; \
         install it with: pip install dkimpy pynacl"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dkim/verify.py");
    let mut child = Command::new("python3")
        .args([script, DNS_NAME, &key.record_file()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) }
}

async fn app_signing_with(backend: Backend, key: TestKey) -> TestApp {
    TestApp::builder(backend)
        .env("DKIM_DOMAIN", "example.org")
        .env("DKIM_SELECTOR", SELECTOR)
        .env("DKIM_PRIVATE_KEY_FILE", &key.private_key_file())
        .spawn()
        .await
}

/// The names in the `h=` tag of the message's (first) DKIM-Signature.
fn signed_fields(email: &ReceivedEmail) -> Vec<String> {
    let signature = email.header("DKIM-Signature").expect("a DKIM-Signature field");
    let tags: String = signature.chars().filter(|c| !c.is_whitespace()).collect();
    let h = tags.split(';').find_map(|tag| tag.strip_prefix("h=")).expect("an h= tag");
    h.split(':').map(str::to_owned).collect()
}

/// A confirmation and a digest, both as the SMTP server received them.
async fn confirmation_and_digest(app: &TestApp) -> (ReceivedEmail, ReceivedEmail) {
    app.confirmed_subscriber("ann@example.org").await;
    app.publish(publication("https://example.org/trade", "Tariffs rise", Some("Trade"))).await;
    app.send_digest().await;
    let messages = app.smtp.wait_for_messages(2).await;
    let (digests, confirmations): (Vec<_>, Vec<_>) =
        messages.into_iter().partition(|m| m.header("List-Unsubscribe").is_some());
    (confirmations[0].clone(), digests[0].clone())
}

async fn ed25519_signatures_verify_and_break_when_the_message_changes(backend: Backend) {
    let app = app_signing_with(backend, ED25519).await;
    let (confirmation, digest) = confirmation_and_digest(&app).await;

    for email in [&confirmation, &digest] {
        assert!(email.raw.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256;"), "the signature comes first");
        verify(&email.raw, ED25519).unwrap_or_else(|reasons| panic!("the signature does not verify:\n{reasons}"));
        let signed = signed_fields(email);
        for field in ["from", "to", "subject", "date", "message-id", "list-id"] {
            assert!(signed.iter().any(|f| f == field), "{field} is signed: {signed:?}");
        }
    }
    let signed = signed_fields(&digest);
    for field in ["list-unsubscribe", "list-unsubscribe-post"] {
        assert!(signed.iter().any(|f| f == field), "{field} is signed: {signed:?}");
    }

    let raw = String::from_utf8(digest.raw.clone()).unwrap();
    let subject_field = regex::Regex::new(r"\r\nSubject:[^\r]*(\r\n[ \t][^\r]*)*").unwrap();
    let new_subject = subject_field.replace(&raw, "\r\nSubject: Urgent: verify your account");
    assert_ne!(new_subject, raw);
    assert!(verify(new_subject.as_bytes(), ED25519).is_err(), "a changed subject breaks the signature");
    let new_body = raw.replace("Summary of Tariffs rise.", "Summary of Tariffs fall.");
    assert_ne!(new_body, raw);
    assert!(verify(new_body.as_bytes(), ED25519).is_err(), "a changed body breaks the signature");
    let extra_header = raw.replacen("\r\nSubject:", "\r\nList-Unsubscribe: <https://attacker.example>\r\nSubject:", 1);
    assert!(verify(extra_header.as_bytes(), ED25519).is_err(), "an added List-Unsubscribe breaks the signature");
    assert!(verify(&digest.raw, RSA).is_err(), "another key does not verify it");
}

async fn rsa_signatures_verify(backend: Backend) {
    let app = app_signing_with(backend, RSA).await;
    let (confirmation, digest) = confirmation_and_digest(&app).await;
    for email in [&confirmation, &digest] {
        assert!(email.raw.starts_with(b"DKIM-Signature: v=1; a=rsa-sha256;"), "the signature comes first");
        verify(&email.raw, RSA).unwrap_or_else(|reasons| panic!("the signature does not verify:\n{reasons}"));
    }
    let raw = String::from_utf8(confirmation.raw.clone()).unwrap();
    let changed = raw.replacen("\r\nTo: ann@example.org", "\r\nTo: bob@example.org", 1);
    assert_ne!(changed, raw);
    assert!(verify(changed.as_bytes(), RSA).is_err(), "a changed recipient breaks the signature");
}

async fn confirmations_come_from_the_transactional_address_and_digests_from_mail_from(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("MAIL_FROM_TRANSACTIONAL", "Policy Briefs Accounts <accounts@mail.example.org>")
        .spawn()
        .await;
    let (confirmation, digest) = confirmation_and_digest(&app).await;

    assert_eq!(confirmation.mail_from, "accounts@mail.example.org");
    let from = confirmation.header("From").unwrap();
    assert!(from.contains("Policy Briefs Accounts") && from.ends_with("<accounts@mail.example.org>"), "{from}");
    assert!(confirmation.header("Message-ID").unwrap().ends_with("@mail.example.org>"));

    assert_eq!(digest.mail_from, "briefs@example.org");
    assert_eq!(digest.header("From").as_deref(), Some(r#""Policy Briefs" <briefs@example.org>"#));
    assert!(digest.header("Message-ID").unwrap().ends_with("@example.org>"));
}
