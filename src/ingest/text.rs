//! Plain text out of the bits of HTML that feeds put in titles and summaries.

/// Feeds often carry whole articles as the summary; a digest wants a teaser.
const MAX_SUMMARY_FEED_CHARS: usize = 600;

/// Drops tags (and the contents of `script`/`style`), turns block tags into
/// paragraph breaks (inline tags such as `<b>` add no space: `<b>a</b>,`
/// stays `a,`), decodes entities and folds whitespace.
pub fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        rest = &rest[start + end + 1..];
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let closing = format!("</{name}");
            rest = find_ignoring_ascii_case(rest, &closing).map_or("", |i| &rest[i..]);
            continue;
        }
        if matches!(
            name.as_str(),
            "p" | "div" | "br" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "blockquote" | "tr"
        ) {
            text.push_str("\n\n");
        }
    }
    text.push_str(rest);
    let decoded = html_escape::decode_html_entities(&text);
    decoded
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Where `needle` (ASCII) starts in `haystack`, compared case-insensitively,
/// without lower-casing a copy of the rest of the text for every tag: that
/// made a summary of many `<script>` tags quadratic.
fn find_ignoring_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack.as_bytes().windows(needle.len()).position(|window| window.eq_ignore_ascii_case(needle))
}

/// A summary short enough for a digest: cut at a word boundary, with "…".
pub fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_SUMMARY_FEED_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_SUMMARY_FEED_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_entities_are_decoded_and_paragraphs_kept() {
        let html =
            "<p>Trade &amp; tariffs:<br/>a <b>new</b> look</p><script>alert('x')</script><p>Second&nbsp;part</p>";
        assert_eq!(html_to_text(html), "Trade & tariffs:\n\na new look\n\nSecond\u{a0}part".replace('\u{a0}', " "));
    }

    #[test]
    fn unclosed_tags_and_plain_text_are_safe() {
        assert_eq!(html_to_text("plain words"), "plain words");
        assert_eq!(html_to_text("cut <a href="), "cut");
        // A bare `<` in HTML should be `&lt;`; what follows it is taken for a tag.
        assert_eq!(html_to_text("a &lt; b and c &gt; d"), "a < b and c > d");
    }

    #[test]
    fn script_and_style_contents_go_whatever_the_case() {
        assert_eq!(html_to_text("a<SCRIPT>x</Script>b<style>p{}</STYLE >c<script>never closed"), "abc");
    }

    #[test]
    fn many_script_tags_take_linear_time() {
        let started = std::time::Instant::now();
        let html = "<script></script>x".repeat(100_000);
        assert_eq!(html_to_text(&html), "x".repeat(100_000));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }

    #[test]
    fn long_summaries_are_cut_at_a_word() {
        let long = "word ".repeat(400);
        let short = shorten(&long);
        assert!(short.ends_with('…') && short.chars().count() <= MAX_SUMMARY_FEED_CHARS + 1);
        assert!(!short.contains("wor…"));
    }
}
