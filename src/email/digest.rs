//! What one reader's digest shows: their publications, grouped by category.

use serde::Serialize;

use crate::domain::Topics;
use crate::store::Publication;

/// A category's publications, newest first. `category` is `None` for
/// publications without one ("Other publications", listed last).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Group {
    pub category: Option<String>,
    pub publications: Vec<Item>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Item {
    pub title: String,
    pub url: String,
    /// "Ann Lee, Bo Kim"; empty when there are none.
    pub authors: String,
    /// "29 November 2026".
    pub date: String,
    pub summary: Option<String>,
    /// The summary's paragraphs, for HTML (`summary` keeps them apart with blank lines).
    pub paragraphs: Vec<String>,
    pub series: Option<String>,
    /// "Ann Lee, Bo Kim · 29 November 2026 · Briefs": authors, date and series
    /// on one line, for templates that want them together.
    pub meta: String,
}

/// The publications of a digest that `topics` asks for, grouped by category
/// (alphabetically, case-insensitively), each publication once.
pub fn groups_for(topics: &Topics, publications: &[Publication]) -> Vec<Group> {
    let mut wanted: Vec<&Publication> = publications.iter().filter(|p| topics.wants(p.category.as_deref())).collect();
    wanted.sort_by(|a, b| {
        let key = |p: &Publication| (p.category.is_none(), p.category.as_deref().map(str::to_lowercase));
        key(a).cmp(&key(b)).then(b.published_at.cmp(&a.published_at)).then(a.id.cmp(&b.id))
    });
    wanted.dedup_by_key(|p| p.id);

    let mut groups: Vec<Group> = Vec::new();
    for publication in wanted {
        let same_group = groups.last().is_some_and(|g| {
            g.category.as_deref().map(str::to_lowercase) == publication.category.as_deref().map(str::to_lowercase)
        });
        if !same_group {
            groups.push(Group { category: publication.category.clone(), publications: Vec::new() });
        }
        if let Some(group) = groups.last_mut() {
            let authors = publication.authors.join(", ");
            let date = publication.published_at.format("%-d %B %Y").to_string();
            let meta = [authors.as_str(), date.as_str(), publication.series.as_deref().unwrap_or("")]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            group.publications.push(Item {
                title: publication.title.clone(),
                url: publication.url.clone(),
                authors,
                date,
                summary: publication.summary.clone(),
                paragraphs: publication.summary.iter().flat_map(|s| s.split("\n\n")).map(str::to_owned).collect(),
                series: publication.series.clone(),
                meta,
            });
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;

    fn publication(id: i64, category: Option<&str>, days_ago: i64) -> Publication {
        let now = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        Publication {
            id,
            title: format!("Publication {id}"),
            url: format!("https://example.org/{id}"),
            published_at: now - TimeDelta::days(days_ago),
            summary: None,
            authors: vec!["Ann Lee".into(), "Bo Kim".into()],
            category: category.map(str::to_owned),
            series: None,
            created_at: now,
            updated_at: now,
            announced_at: None,
            digest_id: None,
        }
    }

    #[test]
    fn groups_follow_the_readers_topics_alphabetically_with_uncategorised_last() {
        let publications = vec![
            publication(1, Some("Trade"), 3),
            publication(2, None, 1),
            publication(3, Some("Energy"), 2),
            publication(4, Some("trade"), 1),
            publication(5, Some("North Korea"), 1),
        ];
        let topics = Topics::parse(&["TRADE", "Energy"]).unwrap();
        let groups = groups_for(&topics, &publications);
        let shape: Vec<(Option<&str>, Vec<&str>)> = groups
            .iter()
            .map(|g| (g.category.as_deref(), g.publications.iter().map(|p| p.title.as_str()).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Some("Energy"), vec!["Publication 3"]),
                (Some("trade"), vec!["Publication 4", "Publication 1"]),
                (None, vec!["Publication 2"]),
            ]
        );
        assert_eq!(groups[0].publications[0].authors, "Ann Lee, Bo Kim");
    }

    #[test]
    fn summaries_keep_their_paragraphs_for_html() {
        let mut with_summary = publication(1, None, 1);
        with_summary.summary = Some("First.\n\nSecond.".into());
        let groups = groups_for(&Topics::default(), &[with_summary]);
        assert_eq!(groups[0].publications[0].paragraphs, vec!["First.", "Second."]);
    }

    #[test]
    fn a_reader_without_topics_gets_everything_and_each_publication_once() {
        let mut publications = vec![publication(1, Some("Trade"), 1), publication(2, Some("Energy"), 1)];
        publications.push(publication(1, Some("Trade"), 1));
        let groups = groups_for(&Topics::default(), &publications);
        assert_eq!(groups.iter().map(|g| g.publications.len()).sum::<usize>(), 2);
    }
}
