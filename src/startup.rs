//! Wiring: the services every process needs, the HTTP application, and
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::email::dkim::Signer;
use crate::email::{Composer, Mailer, links_base_path};
use crate::ingest;
use crate::keys::Keys;
use crate::routes::{self, pages::Pages};
use crate::server::{self, ServerLimits};
use crate::state::AppState;
use crate::store::{self, Store};
use crate::templates::Templates;
use crate::worker::{Worker, WorkerSettings};

/// Connected storage, keys, templates and the mailer: shared by `serve`,
/// `worker` and the CLI commands.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub keys: Keys,
    pub templates: Arc<Templates>,
}

impl Services {
    /// Opens the database (applying pending migrations), loads the key and
    /// compiles the templates.
    pub async fn start(config: Config) -> anyhow::Result<Services> {
        let store = store::connect(&config.database)
            .await
            .with_context(|| format!("cannot open the database {}", config.database.redacted_url()))?;
        let applied = store.migrate().await.context("cannot migrate the database")?;
        if applied > 0 {
            tracing::info!(applied, "database migrated");
        }
        let keys = Keys::load(&config, store.as_ref()).await.context("cannot load the server key")?;
        let templates = Templates::load(config.mail.templates_dir.as_deref()).context("cannot load the templates")?;
        Ok(Services { config: Arc::new(config), store, keys, templates: Arc::new(templates) })
    }

    /// The delivery worker, woken by `wake` when this process queues mail.
    pub fn worker(&self, wake: Arc<Notify>) -> anyhow::Result<Worker> {
        let mailer = Mailer::new(&self.config.mail)?;
        tracing::info!(mail = %mailer.describe(), "mail delivery configured");
        let signer = self.config.mail.dkim.as_ref().map(Signer::new);
        if let Some(signer) = &signer {
            tracing::info!(key = %signer.dns_name(), "DKIM signing is on");
        }
        let settings = WorkerSettings::new(&self.config.delivery, mailer.pool_size());
        Ok(Worker::new(self.store.clone(), Arc::new(mailer), self.composer(), signer, settings, wake))
    }

    pub fn composer(&self) -> Arc<Composer> {
        Arc::new(Composer::new(&self.config, self.templates.clone(), self.keys.clone()))
    }

    /// The delivery worker, and the feed poller when `FEED_URL` is set.
    pub fn spawn_background(
        &self,
        wake: Arc<Notify>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let mut tasks = vec![tokio::spawn(self.worker(wake)?.run(shutdown.clone()))];
        if let Some(feed_url) = &self.config.publications.feed_url {
            let poll = ingest::poll_feed(
                self.store.clone(),
                feed_url.clone(),
                self.config.publications.feed_poll_interval,
                shutdown.clone(),
            );
            tasks.push(tokio::spawn(poll));
        }
        Ok(tasks)
    }
}

/// The HTTP server, and the delivery worker unless `serve --no-worker`.
pub struct Application {
    listener: TcpListener,
    services: Services,
    run_worker: bool,
}

impl Application {
    pub async fn build(config: Config, run_worker: bool) -> anyhow::Result<Application> {
        let bind_addr = config.http.bind_addr;
        let listener =
            TcpListener::bind(bind_addr).await.with_context(|| format!("cannot listen on {bind_addr} (BIND_ADDR)"))?;
        Self::with_listener(config, listener, run_worker).await
    }

    /// For tests: serve on a listener bound beforehand (e.g. port 0).
    pub async fn with_listener(config: Config, listener: TcpListener, run_worker: bool) -> anyhow::Result<Application> {
        let services = Services::start(config).await?;
        Ok(Application { listener, services, run_worker })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.services.store.clone()
    }

    /// Serves until `shutdown` is cancelled, then drains HTTP requests and
    /// lets the worker finish what it holds.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { listener, services, run_worker } = self;
        let config = services.config.clone();
        if config.admin_token.is_none() {
            tracing::warn!("ADMIN_TOKEN is not set: the admin API answers 401 to every request");
        }
        let wake = Arc::new(Notify::new());
        let background = if run_worker { services.spawn_background(wake.clone(), &shutdown)? } else { Vec::new() };
        let pages =
            Pages::new(services.templates.clone(), &config.mail.list_name, &links_base_path(&config.http.base_url));
        let state = AppState::new(
            services.store.clone(),
            config.clone(),
            services.keys.clone(),
            pages,
            services.composer(),
            wake,
        );
        let limits = ServerLimits {
            header_read_timeout: config.http.header_read_timeout,
            max_connections: config.http.max_connections,
            shutdown_grace: config.http.request_timeout,
        }
        .fitted_to_this_process();

        tracing::info!(address = %listener.local_addr()?, base_url = %config.http.base_url, database = %config.database.redacted_url(), max_connections = limits.max_connections, "bulletin is serving");
        server::serve(listener, routes::router(state), limits, shutdown.clone()).await;
        shutdown.cancel();
        for task in background {
            task.await.context("a background task panicked")?;
        }
        services.store.close().await;
        tracing::info!("bulletin stopped");
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}

/// A token cancelled by Ctrl-C or SIGTERM.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        trigger.cancel();
    });
    token
}
