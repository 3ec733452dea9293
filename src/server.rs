//! The HTTP/1.1 listener. `axum::serve` has neither a header-read timeout
//! nor a connection cap, and a public signup form needs both: a client that
//! trickles its headers (slow loris) or opens thousands of idle sockets must
//! not hold the server's file descriptors or memory.
//!
//! HTTP/1.1 only: bulletin serves small pages and forms, usually behind a
//! reverse proxy, and detecting HTTP/2 first would let an idle socket wait
//! before hyper's header timer even starts.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// File descriptors kept back from the connection cap for the database,
/// SMTP connections, templates and logs.
const RESERVED_FILE_DESCRIPTORS: u64 = 256;

/// Most bytes of request line and headers; beyond it `431`.
const MAX_HEADER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Longest time a client may take to send a request's headers, and
    /// longest an idle keep-alive connection is kept.
    pub header_read_timeout: Duration,
    /// Most open client connections; further clients wait in the kernel's
    /// accept backlog until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for requests in progress.
    pub shutdown_grace: Duration,
}

impl ServerLimits {
    /// The configured cap, lowered to what the process's file-descriptor
    /// limit allows (raised to its hard limit first, as Go and nginx do).
    pub fn fitted_to_this_process(mut self) -> ServerLimits {
        let available = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => limit.saturating_sub(RESERVED_FILE_DESCRIPTORS).max(1),
            Err(error) => {
                tracing::warn!(%error, "cannot read the open-files limit; keeping HTTP_MAX_CONNECTIONS as set");
                u64::MAX
            }
        };
        let fitted = usize::try_from(available).unwrap_or(usize::MAX).min(self.max_connections);
        if fitted < self.max_connections {
            tracing::warn!(
                configured = self.max_connections,
                allowed = fitted,
                "HTTP_MAX_CONNECTIONS lowered to fit the open-files limit (ulimit -n)"
            );
        }
        self.max_connections = fitted;
        self
    }
}

/// Serves `app` until `shutdown` is cancelled, then stops accepting, lets
/// requests in progress finish (up to the grace period) and returns.
pub async fn serve(listener: TcpListener, app: Router, limits: ServerLimits, shutdown: CancellationToken) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEADER_BYTES)
        .keep_alive(true);

    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(error).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let (http, watcher, shutdown) = (http.clone(), graceful.watcher(), shutdown.clone());
        tokio::spawn(async move {
            // Until its first byte an idle socket costs a few hundred bytes;
            // hyper allocates its buffers when it starts reading.
            // (`readable()` may wake spuriously; `peek` waits for a byte.)
            let mut first_byte = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout(limits.header_read_timeout, stream.peek(&mut first_byte)) => {
                    if !matches!(peeked, Ok(Ok(1..))) {
                        return;
                    }
                }
                () = shutdown.cancelled() => return,
            }
            // Boxed, so that a waiting task does not reserve a serving one's size.
            let connection =
                Box::pin(watcher.watch(http.serve_connection(TokioIo::new(stream_with_nodelay(stream)), service)));
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "HTTP connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace = ?limits.shutdown_grace, "requests still running at shutdown were cut off");
        }
    }
}

fn stream_with_nodelay(stream: TcpStream) -> TcpStream {
    // Responses are one small write; Nagle would only add latency.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    stream
}

/// A client that gave up before `accept` is nothing; running out of file
/// descriptors is serious but passes as connections close, so wait a little
/// instead of spinning.
async fn pause_after_accept_error(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept HTTP connections");
    tokio::time::sleep(Duration::from_millis(250)).await;
}
