//! Browser tests' harness: real headless Chromium driven over WebDriver
//! (fantoccini + chromedriver). Each test gets its own chromedriver and
//! browser profile; at most [`MAX_SESSIONS`] run at once (the machine has
//! two cores, and a browser wants one). Every page a test looks at is
//! screenshotted at both widths, checked for horizontal overflow on a phone,
//! and checked for accessibility with axe-core.

mod admin;
mod axe;
mod csrf;
mod driver;
mod reader;

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

pub use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use driver::{Binaries, Driver};

pub const MAX_SESSIONS: usize = 2;
static SESSIONS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(MAX_SESSIONS)));

/// (width, height): a laptop and a phone (iPhone X/11 Pro viewport).
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (375, 812);

pub struct Browser {
    pub client: fantoccini::Client,
    test: String,
    // Dropped after the client: the driver ends the browser, then the
    // profile folder goes, then another test may start a browser.
    _driver: Driver,
    _profile: tempfile::TempDir,
    _permit: OwnedSemaphorePermit,
}

impl Browser {
    /// A browser with JavaScript on; `test` names its screenshots.
    pub async fn start(test: &str) -> Browser {
        Browser::launch(test, true).await
    }

    /// A browser with JavaScript off, as some readers and admins have it.
    pub async fn without_javascript(test: &str) -> Browser {
        Browser::launch(test, false).await
    }

    async fn launch(test: &str, javascript: bool) -> Browser {
        let binaries = Binaries::find();
        let permit = SESSIONS.clone().acquire_owned().await.expect("the semaphore is never closed");
        let profile = tempfile::tempdir().expect("a profile folder");
        let driver = Driver::start(&binaries.chromedriver).await;
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": binaries.chromium, "args": args },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object") };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|error| panic!("cannot start Chromium through chromedriver: {error}"));
        let browser = Browser { client, test: test.to_owned(), _driver: driver, _profile: profile, _permit: permit };
        if !javascript {
            browser.goto("data:text/html,<title>off</title><script>document.title = 'on'</script>").await;
            assert_eq!(browser.client.title().await.unwrap(), "off", "JavaScript should be off");
        }
        browser
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|error| panic!("no element {css}: {error}"))
    }

    /// Waits (up to 10 s) for an element to appear, e.g. after a form posts.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css} never appeared: {error}"))
    }

    /// Replaces the text of an input.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
    }

    /// The visible text of the whole page.
    pub async fn page_text(&self) -> String {
        self.find("body").await.text().await.unwrap()
    }

    /// Clicks a submit button or a link and waits for the next page to load.
    pub async fn submit(&self, css: &str) {
        let old_body = self.find("body").await;
        self.click(css).await;
        let loaded = tokio::time::timeout(Duration::from_secs(10), async {
            // The old page's body goes stale once the new page replaced it.
            while old_body.tag_name().await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(loaded.is_ok(), "pressing {css} loaded no new page");
        self.wait_for("body").await;
    }

    /// The HTTP status the current page was served with.
    pub async fn status(&self) -> u64 {
        let script = "return performance.getEntriesByType('navigation')[0].responseStatus;";
        let status = self.client.execute(script, vec![]).await.unwrap();
        status.as_u64().unwrap_or_else(|| panic!("no status for this page: {status}"))
    }

    /// Looks at the current page as a person would at both widths: saves
    /// `target/screenshots/<test>-<page>-<width>.png`, checks that nothing
    /// sticks out sideways on a phone, and runs axe-core. Ends at desktop width.
    pub async fn check_page(&self, page: &str) {
        let mut problems = Vec::new();
        for (width, height) in [PHONE, DESKTOP] {
            self.resize(width, height).await;
            let png = self.client.screenshot().await.expect("a screenshot");
            let path = screenshot_dir().join(format!("{}-{page}-{width}.png", self.test));
            std::fs::write(&path, png).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
            let fits: Value = self
                .client
                .execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![])
                .await
                .unwrap();
            if fits != Value::Bool(true) {
                problems.push(format!("the page is wider than the window at {width} px"));
            }
            problems.extend(axe::serious_violations(&self.client).await);
        }
        assert!(problems.is_empty(), "page {page} of {}:\n{}", self.test, problems.join("\n"));
    }

    /// Sets the viewport (not only the window) to `width` × `height`.
    async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
        let inner: Value =
            self.client.execute("return [window.innerWidth, window.innerHeight];", vec![]).await.unwrap();
        let (inner_width, inner_height) = (inner[0].as_u64().unwrap_or(0), inner[1].as_u64().unwrap_or(0));
        let grow = |want: u32, got: u64| want + want.saturating_sub(u32::try_from(got).unwrap_or(want));
        if (inner_width, inner_height) != (u64::from(width), u64::from(height)) {
            self.client.set_window_size(grow(width, inner_width), grow(height, inner_height)).await.unwrap();
        }
    }

    /// Ends the session cleanly (dropping the browser kills it anyway).
    pub async fn close(self) {
        let Browser { client, .. } = self;
        let _ = client.close().await;
    }
}

/// `target/screenshots` (under `CARGO_TARGET_DIR` when set), created on first use.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from);
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
    dir
}
