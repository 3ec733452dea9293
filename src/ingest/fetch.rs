//! Fetching a source over http(s), bounded in time and size.

use std::time::Duration;

use super::IngestError;

/// Larger responses are refused: a feed or an export is far smaller.
const MAX_BYTES: usize = 20 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn fetch(url: &str) -> Result<Vec<u8>, IngestError> {
    let failed = |reason: String| IngestError::Fetch { url: url.to_owned(), reason };
    crate::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("bulletin/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let mut response = client.get(url).send().await.map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("the server answered {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(failed("the response is larger than 20 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
