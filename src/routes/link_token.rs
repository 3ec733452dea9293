//! The `token` query parameter of confirmation and unsubscribe links.

use crate::domain::Token;

pub enum LinkToken {
    /// No `token` parameter at all.
    Missing,
    /// Present but not something we could have issued.
    Malformed,
    Valid(Token),
}

impl LinkToken {
    pub fn from_query(raw_query: Option<&str>) -> LinkToken {
        let value = raw_query
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(key, _)| key == "token").map(|(_, v)| v));
        match value {
            None => LinkToken::Missing,
            Some(value) => Token::parse(value.trim()).map_or(LinkToken::Malformed, LinkToken::Valid),
        }
    }
}
