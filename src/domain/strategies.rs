//! proptest strategies shared by the domain's and the importers' property
//! tests: hostile text, and valid publications to write out and read back.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::{NewPublication, PublicationInput};

/// Text as an attacker or a broken file sends it: any characters, with
/// control characters, line breaks, bidi overrides and `@` made likely.
pub fn hostile_text(max_chars: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        regex(&format!("\\PC{{0,{max_chars}}}")),
        regex(&format!("(?s:.{{0,{max_chars}}})")),
        regex(&format!(
            "[\\x00-\\x20a-zA-Z@.;,\"'<>&\\u{{7f}}\\u{{85}}\\u{{a0}}\\u{{202e}}\\u{{2028}}\\u{{feff}}]{{0,{max_chars}}}"
        )),
    ]
}

/// A control character or invisible line break, anything a header must never hold.
pub fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('\r'),
        Just('\n'),
        Just('\0'),
        Just('\u{7f}'),
        Just('\u{85}'),
        "[\\x00-\\x1f]".prop_map(|s: String| s.chars().next().unwrap_or('\0'))
    ]
}

/// Visible text without whitespace; `exclude` lists characters to leave out.
fn word(exclude: &str, max_chars: usize) -> impl Strategy<Value = String> {
    regex(&format!("[^\\s\\p{{C}}{exclude}]{{1,{max_chars}}}"))
}

fn regex(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(pattern).unwrap()
}

fn words(exclude: &str, max_chars: usize, max_words: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(word(exclude, max_chars), 1..=max_words).prop_map(|words| words.join(" "))
}

fn http_url() -> impl Strategy<Value = String> {
    ("https?", "[a-zA-Z0-9]{1,10}\\.(org|example|com)", "(/[a-zA-Z0-9._~-]{1,10}){0,3}", "(\\?[a-z]{1,3}=[0-9]{1,3})?")
        .prop_map(|(scheme, host, path, query)| format!("{scheme}://{host}{path}{query}"))
}

fn whole_second() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_102_444_800).prop_map(|secs| Utc.timestamp_opt(secs, 0).single().unwrap_or_default())
}

/// A valid publication of the kind a feed can carry: no series, a summary
/// short enough not to be cut, author names without `@` or parentheses
/// (a feed's author field reads those as an address), none with `;` (the
/// CSV separator of authors).
pub fn feed_publication() -> impl Strategy<Value = NewPublication> {
    (
        words("", 12, 8),
        http_url(),
        whole_second(),
        prop::option::of(prop::collection::vec(words("", 12, 8), 1..4)),
        prop::collection::vec(words("@();", 12, 3), 0..4),
        prop::option::of(words("", 10, 3)),
    )
        .prop_filter_map("a valid publication", |(title, url, published_at, paragraphs, authors, category)| {
            let input = PublicationInput {
                title: Some(title),
                url: Some(url),
                published_at: Some(published_at.to_rfc3339()),
                summary: paragraphs.map(|p| p.join("\n\n")),
                authors,
                category,
                series: None,
            };
            NewPublication::try_from(input).ok()
        })
}

/// Any valid publication an export can carry: a feed's, plus a series.
pub fn publication() -> impl Strategy<Value = NewPublication> {
    (feed_publication(), prop::option::of(words("", 12, 4)))
        .prop_map(|(publication, series)| NewPublication { series, ..publication })
}
