//! RSS 2.0 and Atom feeds, through feed-rs.

use feed_rs::model::{Entry, Text};

use super::text::{html_to_text, shorten};
use super::{IngestError, SourceItem};
use crate::domain::PublicationInput;

pub fn parse_feed(content: &[u8]) -> Result<Vec<SourceItem>, IngestError> {
    let feed = feed_rs::parser::parse(content).map_err(|e| IngestError::Feed(e.to_string()))?;
    Ok(feed
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| SourceItem { at: format!("entry {}", i + 1), input: publication(entry) })
        .collect())
}

/// A feed entry as a publication: its link, title, date (published, else
/// updated), summary (else content) as plain text, authors and first category.
fn publication(entry: Entry) -> Result<PublicationInput, String> {
    let url = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.clone())
        .or_else(|| (entry.id.starts_with("http://") || entry.id.starts_with("https://")).then(|| entry.id.clone()))
        .ok_or("the entry has no link")?;
    let published_at = entry.published.or(entry.updated).ok_or("the entry has no date")?;
    let summary = entry
        .summary
        .as_ref()
        .map(plain)
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()).map(html_to_text))
        .filter(|s| !s.is_empty())
        .map(|s| shorten(&s));
    let category = entry.categories.first().map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()));
    Ok(PublicationInput {
        title: entry.title.as_ref().map(plain),
        url: Some(url),
        published_at: Some(published_at.to_rfc3339()),
        summary,
        authors: entry.authors.into_iter().filter_map(|p| p.name.as_deref().and_then(author_name)).collect(),
        category,
        series: None,
    })
}

/// The name in an author field. RSS writes `ann@example.org (Ann Lee)`; an
/// address without a name is left out (it is not ours to publish).
fn author_name(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let name = match (raw.find('('), raw.rfind(')')) {
        (Some(open), Some(close)) if open < close => &raw[open + 1..close],
        _ if raw.contains('@') => return None,
        _ => raw,
    };
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then_some(name)
}

fn plain(text: &Text) -> String {
    if text.content_type.subty() == "html" || text.content_type.subty() == "xhtml" {
        html_to_text(&text.content)
    } else {
        text.content.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Institute</title><link>https://example.org</link><description>d</description>
<item><title>Trade &amp; tariffs</title><link>https://example.org/trade</link>
<description>&lt;p&gt;Tariffs &lt;b&gt;rise&lt;/b&gt;.&lt;/p&gt;</description>
<pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate><category>Trade</category><author>ann@example.org (Ann Lee)</author></item>
<item><title>No date</title><link>https://example.org/undated</link></item>
</channel></rss>"#;

    const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Institute</title><id>urn:x</id><updated>2026-11-25T10:00:00Z</updated>
<entry><title type="html">Korea &lt;em&gt;update&lt;/em&gt;</title><id>urn:1</id><link rel="alternate" href="https://example.org/korea"/>
<published>2026-11-25T10:00:00Z</published><updated>2026-11-26T10:00:00Z</updated>
<author><name>Kim Bo</name></author><category term="north-korea" label="North Korea"/><summary>Short.</summary></entry>
</feed>"#;

    #[test]
    fn rss_items_become_publications_and_bad_items_are_reported() {
        let items = parse_feed(RSS.as_bytes()).unwrap();
        let first = items[0].input.as_ref().unwrap();
        assert_eq!(first.title.as_deref(), Some("Trade & tariffs"));
        assert_eq!(first.url.as_deref(), Some("https://example.org/trade"));
        assert_eq!(first.summary.as_deref(), Some("Tariffs rise."));
        assert_eq!(first.authors, vec!["Ann Lee"]);
        assert_eq!(first.category.as_deref(), Some("Trade"));
        assert_eq!(first.published_at.as_deref(), Some("2026-11-24T09:00:00+00:00"));
        assert_eq!(items[1].input.as_ref().unwrap_err(), "the entry has no date");
        assert_eq!(items[1].at, "entry 2");
    }

    #[test]
    fn atom_entries_use_the_label_and_the_published_date() {
        let items = parse_feed(ATOM.as_bytes()).unwrap();
        let entry = items[0].input.as_ref().unwrap();
        assert_eq!(entry.title.as_deref(), Some("Korea update"));
        assert_eq!(entry.category.as_deref(), Some("North Korea"));
        assert_eq!(entry.authors, vec!["Kim Bo"]);
        assert_eq!(entry.published_at.as_deref(), Some("2026-11-25T10:00:00+00:00"));
    }

    #[test]
    fn author_fields_yield_names_only() {
        assert_eq!(author_name("ann@example.org (Ann Lee)").as_deref(), Some("Ann Lee"));
        assert_eq!(author_name("Ann Lee").as_deref(), Some("Ann Lee"));
        assert_eq!(author_name("(Ann  Lee)").as_deref(), Some("Ann Lee"));
        assert_eq!(author_name("ann@example.org"), None);
        assert_eq!(author_name("  "), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_feed(b"<html><body>not a feed").is_err());
    }
}
