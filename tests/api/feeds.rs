//! Feeds for import tests, and a tiny HTTP server that serves one.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const RSS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Institute</title><link>https://example.org</link><description>All publications</description>
<item><title>Trade &amp; tariffs</title><link>https://example.org/rss/trade</link>
<description>&lt;p&gt;Tariffs rise again.&lt;/p&gt;</description>
<pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate><category>Trade</category></item>
<item><title>Energy outlook</title><link>https://example.org/rss/energy</link><description>Prices.</description>
<pubDate>Wed, 25 Nov 2026 09:00:00 GMT</pubDate><category>Energy</category></item>
</channel></rss>"#;

pub const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Institute</title><id>urn:institute</id><updated>2026-11-26T10:00:00Z</updated>
<entry><title type="html">Korea &lt;em&gt;update&lt;/em&gt;</title><id>urn:1</id>
<link rel="alternate" href="https://example.org/atom/korea"/><published>2026-11-25T10:00:00Z</published>
<updated>2026-11-26T10:00:00Z</updated><author><name>Kim Bo</name></author>
<category term="north-korea" label="North Korea"/><summary>Short.</summary></entry>
<entry><title>Untitled series</title><id>urn:2</id><link href="https://example.org/atom/series"/>
<updated>2026-11-26T10:00:00Z</updated><summary>Only an updated date.</summary></entry>
</feed>"#;

/// Serves `body` to every request on a random port; returns its URL.
pub async fn serve_once_per_request(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}
