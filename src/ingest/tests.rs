//! Property tests across the importers: no input makes them panic, and
//! valid publications written as CSV, JSON or Atom read back unchanged.

use proptest::prelude::*;
use serde_json::json;

use super::{parse, parse_csv, parse_feed, parse_json};
use crate::domain::NewPublication;
use crate::domain::strategies::{feed_publication, hostile_text, publication};
use crate::fuzzing;

fn read_back(items: Vec<super::SourceItem>) -> Vec<NewPublication> {
    items
        .into_iter()
        .map(|item| {
            let input = item.input.unwrap_or_else(|e| panic!("{}: {e}", item.at));
            NewPublication::try_from(input).unwrap_or_else(|e| panic!("{}: {e:?}", item.at))
        })
        .collect()
}

fn to_csv(publications: &[NewPublication]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["title", "url", "published_at", "summary", "authors", "category", "series"]).unwrap();
    for p in publications {
        let category = p.category.as_ref().map_or("", |c| c.as_str());
        let published_at = p.published_at.to_rfc3339();
        let summary = p.summary.as_deref().unwrap_or("");
        let authors = p.authors.join("; ");
        let series = p.series.as_deref().unwrap_or("");
        writer.write_record([&p.title, &p.url, &published_at, summary, &authors, category, series]).unwrap();
    }
    writer.into_inner().unwrap()
}

fn to_json(publications: &[NewPublication]) -> Vec<u8> {
    let items: Vec<_> = publications
        .iter()
        .map(|p| {
            json!({
                "title": p.title, "url": p.url, "published_at": p.published_at.to_rfc3339(), "summary": p.summary,
                "authors": p.authors, "category": p.category.as_ref().map(|c| c.as_str()), "series": p.series,
            })
        })
        .collect();
    serde_json::to_vec(&items).unwrap()
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// An Atom feed with the summary as HTML paragraphs, as a CMS writes it.
fn to_atom(publications: &[NewPublication]) -> Vec<u8> {
    let mut feed = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:feed</id><updated>2026-01-01T00:00:00Z</updated>"#,
    );
    for (i, p) in publications.iter().enumerate() {
        let date = p.published_at.to_rfc3339();
        feed += &format!(r#"<entry><id>urn:entry:{i}</id><title type="text">{}</title>"#, xml(&p.title));
        feed += &format!(
            r#"<link rel="alternate" href="{}"/><published>{date}</published><updated>{date}</updated>"#,
            xml(&p.url)
        );
        for author in &p.authors {
            feed += &format!("<author><name>{}</name></author>", xml(author));
        }
        if let Some(category) = &p.category {
            feed += &format!(r#"<category term="{}"/>"#, xml(category.as_str()));
        }
        if let Some(summary) = &p.summary {
            let html: String = summary.split("\n\n").map(|para| format!("<p>{}</p>", xml(para))).collect();
            feed += &format!(r#"<summary type="html">{}</summary>"#, xml(&html));
        }
        feed += "</entry>";
    }
    feed += "</feed>";
    feed.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn csv_written_publications_read_back_unchanged(publications in prop::collection::vec(publication(), 1..5)) {
        prop_assert_eq!(read_back(parse_csv(&to_csv(&publications)).unwrap()), publications.clone());
        prop_assert_eq!(read_back(parse(&to_csv(&publications)).unwrap()), publications);
    }

    #[test]
    fn json_written_publications_read_back_unchanged(publications in prop::collection::vec(publication(), 0..5)) {
        prop_assert_eq!(read_back(parse_json(&to_json(&publications)).unwrap()), publications.clone());
        prop_assert_eq!(read_back(parse(&to_json(&publications)).unwrap()), publications);
    }

    #[test]
    fn atom_written_publications_read_back_unchanged(publications in prop::collection::vec(feed_publication(), 1..5)) {
        prop_assert_eq!(read_back(parse_feed(&to_atom(&publications)).unwrap()), publications.clone());
        prop_assert_eq!(read_back(parse(&to_atom(&publications)).unwrap()), publications);
    }

    #[test]
    fn arbitrary_bytes_are_an_error_or_items_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&bytes);
        fuzzing::import_csv(&bytes);
        fuzzing::import_json(&bytes);
        fuzzing::import_feed(&bytes);
    }

    #[test]
    fn hostile_csv_rows_never_panic(rows in prop::collection::vec(hostile_text(80), 0..6)) {
        let csv = format!("title,url,published_at,summary,authors,category\n{}", rows.join("\n"));
        fuzzing::import_csv(csv.as_bytes());
    }

    #[test]
    fn hostile_json_fields_never_panic(title in hostile_text(80), url in hostile_text(40), date in hostile_text(30), summary in hostile_text(80)) {
        let item = json!([{"title": title, "url": url, "published_at": date, "summary": summary, "authors": [title], "category": summary}]);
        fuzzing::import_json(item.to_string().as_bytes());
    }

    #[test]
    fn hostile_feed_fields_never_panic(title in hostile_text(80), url in hostile_text(40), summary in hostile_text(120)) {
        let feed = format!(
            r#"<rss version="2.0"><channel><title>t</title><item><title>{}</title><link>{}</link><description>{}</description><pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate><author>{}</author></item></channel></rss>"#,
            xml(&title), xml(&url), xml(&summary), xml(&title)
        );
        fuzzing::import_feed(feed.as_bytes());
        // The raw text too: unescaped markup is how broken feeds really look.
        fuzzing::import_feed(format!("<rss><channel><item><description>{summary}</description></item></channel></rss>").as_bytes());
    }
}
