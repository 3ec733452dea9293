use super::*;

const ED25519: &str = include_str!("../../../tests/fixtures/dkim/ed25519.pem");

fn signer() -> Signer {
    let key = Arc::new(DkimKey::from_pem(ED25519.as_bytes()).unwrap());
    Signer { key, domain: "example.org".into(), selector: "mail2025".into() }
}

fn field_of(signed: &[u8]) -> String {
    let text = String::from_utf8(signed.to_vec()).unwrap();
    let end = text.find("\r\nFrom:").unwrap();
    text[..end].to_owned()
}

const MESSAGE: &str = "From: News <news@example.org>\r\nTo: ann@example.org\r\nSubject: Hello\r\n\r\nBody\r\n";

#[test]
fn the_signature_comes_first_folded_into_short_lines() {
    let signed = signer().sign(MESSAGE.as_bytes(), 1_700_000_000).unwrap();
    assert!(signed.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org;"));
    assert!(signed.ends_with(MESSAGE.as_bytes()), "the message follows unchanged");
    let field = field_of(&signed);
    assert!(field.contains("\ts=mail2025;") || field.contains(" s=mail2025;"), "{field}");
    assert!(field.contains("t=1700000000;"), "{field}");
    for line in field.split("\r\n") {
        assert!(line.len() <= 78, "{line}");
    }
    for continuation in field.split("\r\n").skip(1) {
        assert!(continuation.starts_with('\t'), "folds continue with whitespace: {continuation}");
    }
}

#[test]
fn present_fields_are_over_signed_and_absent_ones_signed_as_absent() {
    let signed = signer().sign(MESSAGE.as_bytes(), 0).unwrap();
    let field = field_of(&signed).replace("\r\n\t", "");
    let h = field.split("h=").nth(1).unwrap().split(';').next().unwrap();
    let names: Vec<&str> = h.split(':').collect();
    assert_eq!(names.iter().filter(|n| **n == "from").count(), 2);
    assert_eq!(names.iter().filter(|n| **n == "subject").count(), 2);
    assert_eq!(names.iter().filter(|n| **n == "list-unsubscribe").count(), 1);
}

#[test]
fn the_body_hash_is_of_the_relaxed_body() {
    // SHA-256 of nothing: an empty body canonicalises to the empty string.
    let signed = signer().sign(b"From: a@example.org\r\n\r\n\r\n\r\n", 0).unwrap();
    assert!(field_of(&signed).contains("bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"));
}

#[test]
fn a_message_without_a_body_separator_is_refused() {
    assert_eq!(signer().sign(b"From: a@example.org\r\n", 0), Err(SignError::NoBody));
}

#[test]
fn the_dns_name_is_under_domainkey() {
    assert_eq!(signer().dns_name(), "mail2025._domainkey.example.org");
}
