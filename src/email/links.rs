//! Links in emails and pages, all under `BASE_URL`.

use url::Url;

/// `BASE_URL` + `path` + `?name=value`, keeping any path prefix of the base
/// (`https://example.org/news` + `unsubscribe` = `https://example.org/news/unsubscribe`).
pub fn public_url(base: &Url, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}/{}", path.trim_start_matches('/')));
    if query.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(query);
    }
    url.to_string()
}

/// The path part of `BASE_URL` without a trailing slash: the prefix for
/// links within pages (empty when the service is at the root).
pub fn base_path(base: &Url) -> String {
    base.path().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_base_path_and_encode_the_query() {
        let root = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            public_url(&root, "unsubscribe", &[("token", "a-b_c")]),
            "http://127.0.0.1:8080/unsubscribe?token=a-b_c"
        );
        let nested = Url::parse("https://example.org/news/").unwrap();
        assert_eq!(
            public_url(&nested, "/subscriptions/confirm", &[]),
            "https://example.org/news/subscriptions/confirm"
        );
        assert_eq!(base_path(&nested), "/news");
        assert_eq!(base_path(&root), "");
    }
}
