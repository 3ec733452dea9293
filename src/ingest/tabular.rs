//! JSON arrays of the API's publication objects, and CSV files with the same
//! field names as columns (authors separated by `;`).

use serde_json::Value;

use super::{IngestError, SourceItem};
use crate::domain::PublicationInput;

pub fn parse_json(content: &[u8]) -> Result<Vec<SourceItem>, IngestError> {
    let items: Vec<Value> = serde_json::from_slice(content).map_err(|e| IngestError::Json(e.to_string()))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| SourceItem {
            at: format!("item {}", i + 1),
            input: serde_json::from_value::<PublicationInput>(item)
                .map_err(|e| format!("not a publication object: {e}")),
        })
        .collect())
}

pub fn parse_csv(content: &[u8]) -> Result<Vec<SourceItem>, IngestError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(content);
    let headers = reader.headers().map_err(|e| IngestError::Csv(e.to_string()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    if column("url").is_none() || column("title").is_none() {
        return Err(IngestError::Csv("the header row needs at least `title` and `url` columns".into()));
    }
    let columns: Vec<Option<usize>> = ["title", "url", "published_at", "summary", "authors", "category", "series"]
        .iter()
        .map(|c| column(c))
        .collect();
    Ok(reader
        .into_records()
        .enumerate()
        .map(|(i, record)| {
            let at = match &record {
                Ok(record) => format!("line {}", record.position().map_or(i as u64 + 2, csv::Position::line)),
                Err(error) => format!("line {}", error.position().map_or(i as u64 + 2, csv::Position::line)),
            };
            let input = record.map_err(|e| e.to_string()).map(|record| {
                let field =
                    |n: usize| columns[n].and_then(|c| record.get(c)).filter(|v| !v.is_empty()).map(str::to_owned);
                PublicationInput {
                    title: field(0),
                    url: field(1),
                    published_at: field(2),
                    summary: field(3),
                    authors: field(4).map(|a| a.split(';').map(|s| s.trim().to_owned()).collect()).unwrap_or_default(),
                    category: field(5),
                    series: field(6),
                }
            });
            SourceItem { at, input }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_items_are_read_and_wrong_shapes_reported() {
        let items =
            parse_json(br#"[{"title": "A", "url": "https://e.org/a", "authors": ["X", "Y"]}, {"title": 5}]"#).unwrap();
        assert_eq!(items[0].input.as_ref().unwrap().authors, vec!["X", "Y"]);
        assert!(items[1].input.is_err());
        assert!(parse_json(b"{\"title\": 1}").is_err());
    }

    #[test]
    fn csv_rows_are_read_by_column_name_with_authors_split() {
        let csv =
            "url,title,authors,category,published_at\nhttps://e.org/a,A,Ann Lee; Bo Kim,Trade,2026-11-01T00:00:00Z\n";
        let items = parse_csv(csv.as_bytes()).unwrap();
        let a = items[0].input.as_ref().unwrap();
        assert_eq!(a.authors, vec!["Ann Lee", "Bo Kim"]);
        assert_eq!(a.category.as_deref(), Some("Trade"));
        assert_eq!(items[0].at, "line 2");
        assert!(parse_csv(b"name,email\nx,y\n").is_err());
    }
}
