use std::collections::HashMap;
use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;

fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn defaults_give_a_working_sqlite_service_on_localhost() {
    let config = config_from(&[]).unwrap();
    assert_eq!(config.database.url.expose_secret(), "sqlite://bulletin.db");
    assert_eq!(config.http.bind_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.http.base_url.as_str(), "http://127.0.0.1:8080/");
    assert!(config.mail.smtp.is_none());
    assert_eq!(config.mail.from.email.to_string(), "bulletin@localhost");
    assert_eq!(config.mail.list_id, "bulletin.localhost");
    assert_eq!(config.http.signup_rate_per_ip, Some(Rate { count: 10, period: Duration::from_secs(60) }));
    assert_eq!(config.http.admin_failures_per_ip, Some(Rate { count: 10, period: Duration::from_secs(60) }));
    assert_eq!(config.http.form_min_fill, Duration::from_secs(2));
    assert_eq!(config.signup.confirmation_ttl, Duration::from_secs(48 * 3600));
    assert_eq!(config.signup.resend_interval, Duration::from_secs(300));
    assert!(config.admin_token.is_none());
    assert!(config.delivery.send_rate_per_sec.is_none());
    assert_eq!(config.delivery.max_attempts, 8);
    assert!(config.publications.feed_url.is_none());
    assert_eq!(config.publications.feed_poll_interval, Duration::from_secs(15 * 60));
    assert_eq!(config.publications.digest_max_age, Duration::from_secs(14 * 24 * 3600));
}

#[test]
fn base_url_defaults_to_bind_addr() {
    let config = config_from(&[("BIND_ADDR", "0.0.0.0:9000")]).unwrap();
    assert_eq!(config.http.base_url.as_str(), "http://0.0.0.0:9000/");
}

#[test]
fn each_bad_value_names_its_variable() {
    let cases = [
        ("DATABASE_URL", "mysql://x"),
        ("BIND_ADDR", "localhost"),
        ("BASE_URL", "ftp://example.org"),
        ("BASE_URL", "not a url"),
        ("SMTP_URL", "http://mail.example.org"),
        ("MAIL_FROM", "not an address"),
        ("SMTP_POOL_SIZE", "0"),
        ("SIGNUP_RATE_PER_IP", "ten per minute"),
        ("ADMIN_AUTH_FAILURES_PER_IP", "10 a minute"),
        ("FORM_MIN_FILL_SECONDS", "-1"),
        ("CONFIRMATION_TTL", "forever"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, nonsense"),
        ("ADMIN_TOKEN", "short"),
        ("SEND_RATE_PER_SEC", "-3"),
        ("LOG_FORMAT", "xml"),
        ("DELIVERY_LEASE", "40s"),
        ("FEED_URL", "file:///etc/passwd"),
        ("DIGEST_MAX_AGE", "two weeks"),
        ("MAX_ATTEMPTS", "0"),
        ("CONFIRMATIONS_PER_HOUR", "many"),
        ("HTTP_HEADER_TIMEOUT", "soon"),
        ("HTTP_MAX_CONNECTIONS", "0"),
        ("HARD_BOUNCE_LIMIT", "-1"),
        ("ADMIN_SESSION_IDLE", "10s"),
        ("ADMIN_SESSION_IDLE", "all day"),
    ];
    for (variable, value) in cases {
        let error = config_from(&[("SMTP_URL", "smtp://127.0.0.1:2525"), (variable, value)])
            .expect_err(&format!("{variable}={value} should be refused"));
        assert_eq!(error.variable, variable, "{variable}={value}");
        assert!(error.to_string().contains(variable));
    }
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    let error = config_from(&[("SMTP_URL", "ftp://user:hunter2-secret@mail.example.org")]).unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");

    let config = config_from(&[
        ("SMTP_URL", "smtp://user:hunter2-secret@mail.example.org:587?tls=required"),
        ("DATABASE_URL", "postgres://app:db-password-secret@db.internal/bulletin"),
        ("ADMIN_TOKEN", "admin-token-secret-0123456789"),
    ])
    .unwrap();
    let debug = format!("{config:?}");
    for secret in ["hunter2", "db-password-secret", "admin-token-secret"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
    assert!(!config.database.redacted_url().contains("db-password-secret"));
    assert!(config.database.redacted_url().contains("db.internal"));
}

#[test]
fn signup_rate_accepts_each_unit_and_zero_turns_it_off() {
    let rate = |v: &str| config_from(&[("SIGNUP_RATE_PER_IP", v)]).unwrap().http.signup_rate_per_ip;
    assert_eq!(rate("5/second"), Some(Rate { count: 5, period: Duration::from_secs(1) }));
    assert_eq!(rate("100/hour"), Some(Rate { count: 100, period: Duration::from_secs(3600) }));
    assert_eq!(rate("0"), None);
}

#[test]
fn trusted_proxies_accept_addresses_and_networks() {
    let config = config_from(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ,::1")]).unwrap();
    assert_eq!(config.http.trusted_proxies.len(), 3);
}

#[test]
fn list_id_is_derived_from_list_name_and_sender_domain() {
    let config = config_from(&[("LIST_NAME", "Policy Briefs"), ("MAIL_FROM", "News <news@example.org>")]).unwrap();
    assert_eq!(config.mail.list_id, "policy-briefs.example.org");
}

#[test]
fn confirmations_come_from_mail_from_unless_a_transactional_address_is_set() {
    let config = config_from(&[("MAIL_FROM", "News <news@example.org>")]).unwrap();
    assert_eq!(config.mail.from_transactional.email.to_string(), "news@example.org");
    let config =
        config_from(&[("MAIL_FROM", "News <news@example.org>"), ("MAIL_FROM_TRANSACTIONAL", "accounts@example.org")])
            .unwrap();
    assert_eq!(config.mail.from.email.to_string(), "news@example.org");
    assert_eq!(config.mail.from_transactional.email.to_string(), "accounts@example.org");
    let error = config_from(&[("MAIL_FROM_TRANSACTIONAL", "not an address")]).unwrap_err();
    assert_eq!(error.variable, "MAIL_FROM_TRANSACTIONAL");
}

const DKIM_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dkim/ed25519.pem");

#[test]
fn dkim_is_on_with_all_three_variables_and_off_with_none() {
    assert!(config_from(&[]).unwrap().mail.dkim.is_none());
    let config = config_from(&[
        ("DKIM_DOMAIN", "Example.org"),
        ("DKIM_SELECTOR", "mail2025"),
        ("DKIM_PRIVATE_KEY_FILE", DKIM_KEY),
    ])
    .unwrap();
    let dkim = config.mail.dkim.as_ref().unwrap();
    assert_eq!((dkim.domain.as_str(), dkim.selector.as_str()), ("example.org", "mail2025"));
    assert_eq!(dkim.key.key_type(), "ed25519");
    let debug = format!("{config:?}");
    let pem = std::fs::read_to_string(DKIM_KEY).unwrap();
    let key_body = pem.lines().nth(1).unwrap();
    assert!(!debug.contains(key_body), "no key material in {debug}");
}

#[test]
fn a_partial_or_unusable_dkim_setup_names_the_variable() {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("DKIM_DOMAIN", "example.org")], "DKIM_SELECTOR"),
        (&[("DKIM_SELECTOR", "s"), ("DKIM_PRIVATE_KEY_FILE", DKIM_KEY)], "DKIM_DOMAIN"),
        (&[("DKIM_DOMAIN", "example.org"), ("DKIM_SELECTOR", "s")], "DKIM_PRIVATE_KEY_FILE"),
        (
            &[
                ("DKIM_DOMAIN", "example.org"),
                ("DKIM_SELECTOR", "s"),
                ("DKIM_PRIVATE_KEY_FILE", "/nonexistent/dkim.pem"),
            ],
            "DKIM_PRIVATE_KEY_FILE",
        ),
        (
            &[("DKIM_DOMAIN", "example.org"), ("DKIM_SELECTOR", "s"), ("DKIM_PRIVATE_KEY_FILE", "Cargo.toml")],
            "DKIM_PRIVATE_KEY_FILE",
        ),
        (&[("DKIM_PUBLIC_KEY", "v=DKIM1; k=rsa; p=AAAA")], "DKIM_PUBLIC_KEY"),
    ];
    for (vars, variable) in cases {
        let error = config_from(vars).expect_err(&format!("{vars:?} should be refused"));
        assert_eq!(error.variable, variable, "{vars:?}: {error}");
    }
    let bad_domain =
        config_from(&[("DKIM_DOMAIN", "not a domain"), ("DKIM_SELECTOR", "s"), ("DKIM_PRIVATE_KEY_FILE", DKIM_KEY)]);
    assert_eq!(bad_domain.unwrap_err().variable, "DKIM_DOMAIN");
}
