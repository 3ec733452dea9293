//! `TestApp`: the real application on a random port, with its own database
//! and its own SMTP server, driven over HTTP.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bulletin::config::Config;
use bulletin::keys::Keys;
use bulletin::startup::Application;
use bulletin::store::Store;
use reqwest::header::CONTENT_TYPE;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::db::{Backend, TestDb};
use crate::smtp::SmtpServer;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const SECRET_KEY: &str = "test-secret-key-0123456789-0123456789";

/// Runs each listed test once on SQLite and once on Postgres:
/// `subscriptions::sqlite::name` and `subscriptions::postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
        let config = bulletin::config::LogConfig { filter, json: false };
        bulletin::telemetry::init(&config).unwrap();
    }
});

pub struct TestApp {
    pub address: String,
    /// The environment the app was configured from (for extra workers).
    pub vars: HashMap<String, String>,
    pub client: reqwest::Client,
    pub smtp: SmtpServer,
    pub db: TestDb,
    pub store: Arc<dyn Store>,
    pub keys: Keys,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub struct TestAppBuilder {
    backend: Backend,
    vars: HashMap<String, String>,
    smtp_down: bool,
    run_worker: bool,
    database_port: Option<u16>,
    sqlite_parent: Option<std::path::PathBuf>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::builder(backend).spawn().await
    }

    pub fn builder(backend: Backend) -> TestAppBuilder {
        let vars = [
            ("SIGNUP_RATE_PER_IP", "0"),
            ("FORM_MIN_FILL_SECONDS", "0"),
            ("ADMIN_TOKEN", ADMIN_TOKEN),
            ("SECRET_KEY", SECRET_KEY),
            ("LIST_NAME", "Policy Briefs"),
            ("MAIL_FROM", "Policy Briefs <briefs@example.org>"),
            ("RETRY_BASE_DELAY", "50ms"),
            ("RETRY_MAX_DELAY", "400ms"),
            ("WORKER_POLL_INTERVAL", "50ms"),
            ("SMTP_TIMEOUT", "5s"),
            ("DELIVERY_LEASE", "30s"),
        ];
        let vars = vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        TestAppBuilder { backend, vars, smtp_down: false, run_worker: true, database_port: None, sqlite_parent: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    /// A form post, body already url-encoded (`email=a%40b.org&name=Ann`).
    pub async fn post_form(&self, path: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str) -> reqwest::Response {
        self.post_json("/subscriptions", &serde_json::json!({ "email": email })).await
    }

    /// Signs `email` up and follows the confirmation link.
    pub async fn confirmed_subscriber(&self, email: &str) -> String {
        assert_eq!(self.signup(email).await.status(), 202);
        let link = self.smtp.wait_for_message_to(email).await.confirmation_link();
        let response = self.client.post(&link).send().await.unwrap();
        assert_eq!(response.status(), 200);
        link
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(ADMIN_TOKEN).send().await.unwrap()
    }

    pub async fn admin_delete(&self, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).bearer_auth(ADMIN_TOKEN).send().await.unwrap()
    }

    /// The unsubscribe link of the subscriber with `email`, derived as the
    /// app derives it for digests.
    pub async fn unsubscribe_link(&self, email: &str) -> String {
        let salt = self
            .db
            .bytes("SELECT unsubscribe_salt FROM subscribers WHERE lower(email) = lower($1)", email)
            .await
            .unwrap_or_else(|| panic!("no subscriber {email}"));
        let token = self.keys.unsubscribe_token(&salt);
        self.url(&format!("/unsubscribe?token={}", token.as_str()))
    }

    /// Waits until nothing is queued or being sent (retries due later count as queued).
    pub async fn wait_until_queue_is_empty(&self) {
        let drained = tokio::time::timeout(Duration::from_secs(20), async {
            while self.db.count("SELECT count(*) FROM deliveries WHERE status IN ('queued', 'sending')").await > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(drained.is_ok(), "the delivery queue did not drain");
    }

    pub async fn admin_post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(ADMIN_TOKEN).json(body).send().await.unwrap()
    }

    /// Adds a publication through the admin API.
    pub async fn publish(&self, publication: serde_json::Value) -> serde_json::Value {
        let response = self.admin_post("/api/v1/publications", &publication).await;
        assert!(response.status().is_success(), "{}: {}", response.status(), response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// `POST /api/v1/digests`, expecting it to queue a digest.
    pub async fn send_digest(&self) -> serde_json::Value {
        let response = self.admin_post("/api/v1/digests", &serde_json::json!({})).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// Adds `count` confirmed subscribers straight to the store (as an import
    /// would), `reader{i}@example.org`, and returns their addresses.
    pub async fn add_confirmed_subscribers(&self, count: usize) -> Vec<String> {
        use bulletin::domain::{SubscriberEmail, SubscriptionStatus, Token, Topics};
        use bulletin::store::ImportedSubscriber;
        let now = bulletin::clock::now();
        let emails: Vec<String> = (0..count).map(|i| format!("reader{i}@example.org")).collect();
        for chunk in emails.chunks(500) {
            let batch: Vec<ImportedSubscriber> = chunk
                .iter()
                .map(|email| ImportedSubscriber {
                    email: SubscriberEmail::parse(email).unwrap(),
                    name: None,
                    status: SubscriptionStatus::Confirmed,
                    topics: Topics::default(),
                    unsubscribe_key: self.keys.new_unsubscribe_key(),
                    confirmation_token: Token::generate(),
                    confirmation_expires_at: now,
                })
                .collect();
            self.store.import_subscribers(&batch, now).await.unwrap();
        }
        emails
    }

    /// A delivery worker in this process, configured like the app.
    pub async fn spawn_worker(&self) -> WorkerHandle {
        let config = Config::from_lookup(|name| self.vars.get(name).cloned()).unwrap();
        let services = bulletin::startup::Services::start(config).await.unwrap();
        let shutdown = CancellationToken::new();
        let tasks = services.spawn_background(Default::default(), &shutdown).unwrap();
        WorkerHandle { shutdown, tasks }
    }

    /// `bulletin worker` as a separate process, configured like the app
    /// plus `extra` variables.
    pub fn worker_process(&self, extra: &[(&str, &str)]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_bulletin"))
            .arg("worker")
            .env_clear()
            .envs(&self.vars)
            .envs(extra.iter().copied())
            .env("RUST_LOG", std::env::var("WORKER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Stops the server and its worker, as SIGTERM would.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl TestAppBuilder {
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Serve HTTP only (`serve --no-worker`); start workers with
    /// [`TestApp::spawn_worker`] or [`TestApp::worker_process`].
    pub fn without_worker(mut self) -> Self {
        self.run_worker = false;
        self
    }

    /// Start with the SMTP server down (connections refused).
    pub fn smtp_down(mut self) -> Self {
        self.smtp_down = true;
        self
    }

    /// The app reaches Postgres through `127.0.0.1:port` (a [`crate::proxy::TcpProxy`]);
    /// the test's own assertions connect directly.
    pub fn database_port(mut self, port: u16) -> Self {
        self.database_port = Some(port);
        self
    }

    /// The SQLite file lives under this folder (e.g. a small tmpfs).
    pub fn sqlite_parent(mut self, parent: &std::path::Path) -> Self {
        self.sqlite_parent = Some(parent.to_owned());
        self
    }

    pub async fn spawn(self) -> TestApp {
        LazyLock::force(&TRACING);
        bulletin::tls::install_crypto_provider();
        let db = TestDb::create(self.backend, self.sqlite_parent.as_deref()).await;
        let smtp = SmtpServer::start().await;
        if self.smtp_down {
            smtp.stop();
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());

        let mut vars = self.vars;
        let database_url = match self.database_port {
            Some(port) => {
                let mut through_proxy = url::Url::parse(&db.url).unwrap();
                through_proxy.set_host(Some("127.0.0.1")).unwrap();
                through_proxy.set_port(Some(port)).unwrap();
                through_proxy.to_string()
            }
            None => db.url.clone(),
        };
        vars.insert("DATABASE_URL".into(), database_url);
        vars.insert("BASE_URL".into(), address.clone());
        vars.entry("SMTP_URL".into()).or_insert_with(|| smtp.url());
        let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("a valid test configuration");
        let keys = Keys::from_secret(SECRET_KEY.as_bytes());

        let app = Application::with_listener(config, listener, self.run_worker).await.expect("the app starts");
        let store = app.store();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { address, vars, client, smtp, db, store, keys, shutdown, server: Some(server) }
    }
}

pub struct WorkerHandle {
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl WorkerHandle {
    /// Graceful stop, as on SIGTERM.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for task in std::mem::take(&mut self.tasks) {
            task.await.unwrap();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
