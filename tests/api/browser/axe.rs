//! Accessibility checks with axe-core, run inside the page: any violation of
//! impact "serious" or "critical" (missing labels or names, low contrast, …)
//! fails the test with a readable list.

use std::path::PathBuf;
use std::sync::LazyLock;

use serde_json::Value;

/// `AXE_CORE_JS`, else `~/.cache/bulletin-test/axe.min.js` (where .ci/run
/// unpacks `npm pack axe-core@4`).
static AXE_SOURCE: LazyLock<String> = LazyLock::new(|| {
    let path = std::env::var_os("AXE_CORE_JS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        home.join(".cache/bulletin-test/axe.min.js")
    });
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read axe-core from {} ({error}). Fetch it with: mkdir -p ~/.cache/bulletin-test && cd \
             ~/.cache/bulletin-test && npm pack axe-core@4 && tar -xzf axe-core-*.tgz --strip-components=1 \
             package/axe.min.js (as .ci/run does), or set AXE_CORE_JS",
            path.display()
        )
    })
});

/// Runs axe on the current page; the serious and critical violations, one
/// line per rule with the offending elements.
pub async fn serious_violations(client: &fantoccini::Client) -> Vec<String> {
    client.execute(&AXE_SOURCE, vec![]).await.expect("axe-core loads into the page");
    const RUN: &str = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ["violations"] })
            .then(results => done(results.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map(n => n.target.join(" ")).join(", ")}`)))
            .catch(error => done([`axe failed: ${error}`]));
    "#;
    let result = client.execute_async(RUN, vec![]).await.expect("axe-core runs");
    match result {
        Value::Array(lines) => lines.into_iter().map(|line| line.as_str().unwrap_or_default().to_owned()).collect(),
        other => vec![format!("unexpected axe result: {other}")],
    }
}
