//! SMTP sending over lettre's client connections, pooled here.
//!
//! lettre's own pooled transport is not used, for three measured reasons:
//! - its sockets leave Nagle's algorithm on, and lettre writes a message's
//!   body and its final `.` separately, so every message waits for a delayed
//!   ACK (about 40 ms: 90 messages/s over 4 connections, against 6,600 for
//!   Postfix's smtp-source on the same machine);
//! - a send abandoned by our timeout hands its connection back to the pool
//!   with a reply still on the way, to be read as the next message's answer;
//! - it sends a NOOP on every checkout, one more round trip per message.
//!
//! Connections here set `TCP_NODELAY`, are checked with NOOP only after
//! sitting idle, and are dropped (never reused) after any error or timeout.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use url::Url;

use super::SendError;

/// An idle connection is tested (NOOP) before use after this long…
const TEST_AFTER_IDLE: Duration = Duration::from_secs(5);
/// …and replaced after this long (servers close idle sessions).
const MAX_IDLE: Duration = Duration::from_secs(50);

pub struct SmtpPool {
    server: Server,
    hello: ClientId,
    send_timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// No `Debug`: it holds the SMTP password.
#[derive(Clone)]
struct Server {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    /// STARTTLS; `required` refuses a server that does not offer it.
    StartTls {
        required: bool,
    },
    /// TLS from the first byte (`smtps://`).
    Tls,
}

impl SmtpPool {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` or `smtps://…`.
    pub fn from_url(raw: &str, pool_size: u32, send_timeout: Duration) -> Result<SmtpPool, String> {
        let url = Url::parse(raw).map_err(|_| "not a URL".to_owned())?;
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => Security::Tls,
            ("smtp", None) => Security::Plain,
            ("smtp", Some("required")) => Security::StartTls { required: true },
            ("smtp", Some("opportunistic")) => Security::StartTls { required: false },
            ("smtp", Some(_)) => return Err("tls= must be `required` or `opportunistic`".into()),
            _ => return Err("the scheme must be smtp:// or smtps://".into()),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("a host is required")?.to_owned();
        let port = url.port().unwrap_or(if security == Security::Tls { 465 } else { 25 });
        let decode = |s: &str| percent_decode(s);
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some(Credentials::new(decode(user), decode(password.unwrap_or("")))),
        };
        let hello =
            hostname::get().ok().and_then(|h| h.into_string().ok()).map_or_else(ClientId::default, ClientId::Domain);
        Ok(SmtpPool {
            server: Server { host, port, security, credentials },
            hello,
            send_timeout,
            max_idle: usize::try_from(pool_size).unwrap_or(4),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// `host:port`, for logs.
    pub fn describe(&self) -> String {
        format!("{}:{}", self.server.host, self.server.port)
    }

    /// Sends one message; the whole SMTP conversation, connecting included,
    /// is bounded by the send timeout.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let attempt = async {
            let mut connection = self.checkout().await?;
            let result = connection.send(envelope, message).await;
            Ok::<_, ConnectError>((connection, result))
        };
        match tokio::time::timeout(self.send_timeout, attempt).await {
            Err(_elapsed) => Err(SendError::Temporary {
                reason: format!("no answer from the SMTP server within {:?}", self.send_timeout),
                unreachable: true,
            }),
            Ok(Err(ConnectError::Smtp(error))) => Err(classify(&error)),
            Ok(Err(ConnectError::Io(reason))) => Err(SendError::Temporary { reason, unreachable: true }),
            Ok(Ok((connection, Ok(_response)))) => {
                self.checkin(connection);
                Ok(())
            }
            // lettre closes the session on any error; the connection is dropped.
            Ok(Ok((_connection, Err(error)))) => Err(classify(&error)),
        }
    }

    /// For `bulletin doctor`: connects as a send would (TLS, greeting, EHLO,
    /// STARTTLS, AUTH) and says QUIT; no message is sent. What passed, or
    /// what failed and what had passed before it.
    pub async fn check(&self) -> Result<String, String> {
        let mut passed = Vec::new();
        let outcome = tokio::time::timeout(self.send_timeout, self.connect_through(&mut passed)).await;
        let before = if passed.is_empty() { String::new() } else { format!(" (passed: {})", passed.join(", ")) };
        match outcome {
            Err(_elapsed) => Err(format!("{}: no answer within {:?}{before}", self.describe(), self.send_timeout)),
            Ok(Err(ConnectError::Io(reason))) => Err(format!("{reason}{before}")),
            Ok(Err(ConnectError::Smtp(error))) => Err(format!("{}: {error}{before}", self.describe())),
            Ok(Ok(mut connection)) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), connection.quit()).await;
                Ok(format!("{}: {}", self.describe(), passed.join(", ")))
            }
        }
    }

    /// Says QUIT to the idle connections (shutdown), bounded in time.
    pub async fn close(&self) {
        let idle: Vec<_> = self.lock().drain(..).collect();
        for (mut connection, _) in idle {
            let _ = tokio::time::timeout(Duration::from_secs(2), connection.quit()).await;
        }
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        loop {
            let Some((mut connection, since)) = self.lock().pop() else { break };
            let idle_for = since.elapsed();
            if connection.has_broken() || idle_for > MAX_IDLE {
                continue;
            }
            if idle_for < TEST_AFTER_IDLE || connection.test_connected().await {
                return Ok(connection);
            }
        }
        self.connect().await
    }

    fn checkin(&self, connection: AsyncSmtpConnection) {
        let mut idle = self.lock();
        if !connection.has_broken() && idle.len() < self.max_idle {
            idle.push((connection, Instant::now()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, Instant)>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        self.connect_through(&mut Vec::new()).await
    }

    /// Opens a session ready for a message, noting each step in `passed`.
    async fn connect_through(&self, passed: &mut Vec<&'static str>) -> Result<AsyncSmtpConnection, ConnectError> {
        let server = &self.server;
        let io = |e: std::io::Error| ConnectError::Io(format!("cannot connect to {}: {e}", self.describe()));
        let tcp = TcpStream::connect((server.host.as_str(), server.port)).await.map_err(io)?;
        tcp.set_nodelay(true).map_err(io)?;
        passed.push("connected");
        let stream: Box<dyn AsyncTokioStream> = match server.security {
            Security::Tls => {
                let stream = tls::connect(tcp, &server.host).await?;
                passed.push("TLS");
                Box::new(stream)
            }
            _ => Box::new(tcp),
        };
        let mut connection = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        passed.push("greeting and EHLO");
        if let Security::StartTls { required } = server.security {
            if connection.can_starttls() {
                connection.starttls(TlsParameters::new(server.host.clone())?, &self.hello).await?;
                passed.push("STARTTLS");
            } else if required {
                return Err(ConnectError::Io("the server does not offer STARTTLS, which SMTP_URL requires".into()));
            } else {
                passed.push("no STARTTLS offered (tls=opportunistic: plain text)");
            }
        }
        if let Some(credentials) = &server.credentials {
            connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await?;
            passed.push("AUTH");
        }
        Ok(connection)
    }
}

/// What can go wrong before a message is handed over.
enum ConnectError {
    Smtp(lettre::transport::smtp::Error),
    /// TCP or TLS, before any SMTP reply.
    Io(String),
}

impl From<lettre::transport::smtp::Error> for ConnectError {
    fn from(error: lettre::transport::smtp::Error) -> Self {
        ConnectError::Smtp(error)
    }
}

/// Sorts lettre's errors into temporary (retry) and permanent (give up).
pub fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    let reason = error.to_string();
    match error.status() {
        // 421: the server is closing the connection; other 4xx concern this message.
        Some(code) if error.is_transient() => {
            SendError::Temporary { unreachable: code.to_string().starts_with("421"), reason }
        }
        Some(code) if error.is_permanent() => {
            let basic = code.to_string().parse().unwrap_or(0);
            SendError::Permanent { bad_address: super::bounce::names_a_bad_address(basic, &reason), reason }
        }
        // Connection, TLS and protocol problems, and lettre's "client" errors
        // (no STARTTLS, no usable AUTH): the server or its configuration, not
        // this message. Retried once fixed.
        _ => SendError::Temporary { reason, unreachable: true },
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Implicit TLS (`smtps://`) over a socket we opened (so that it has
/// `TCP_NODELAY`), verified against the platform's certificate store.
mod tls {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use rustls_platform_verifier::ConfigVerifierExt;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream;

    use super::*;

    #[derive(Debug)]
    pub struct Stream(TlsStream<TcpStream>);

    pub async fn connect(tcp: TcpStream, host: &str) -> Result<Stream, ConnectError> {
        crate::tls::install_crypto_provider();
        let failed = |e: String| ConnectError::Io(format!("TLS with {host} failed: {e}"));
        let config = rustls::ClientConfig::with_platform_verifier().map_err(|e| failed(e.to_string()))?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| failed(e.to_string()))?;
        let stream =
            TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| failed(e.to_string()))?;
        Ok(Stream(stream))
    }

    impl AsyncTokioStream for Stream {
        fn peer_addr(&self) -> std::io::Result<SocketAddr> {
            self.0.get_ref().0.peer_addr()
        }
    }

    impl AsyncRead for Stream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Stream {
        fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_lettres_syntax() {
        let pool = SmtpPool::from_url("smtp://127.0.0.1:2525", 4, Duration::from_secs(1)).unwrap();
        assert_eq!((pool.server.port, pool.server.security), (2525, Security::Plain));
        let pool =
            SmtpPool::from_url("smtp://user%40x:p%2Bss@mail.example.org:587?tls=required", 4, Duration::from_secs(1))
                .unwrap();
        assert_eq!(pool.server.security, Security::StartTls { required: true });
        assert!(pool.server.credentials.is_some());
        let pool = SmtpPool::from_url("smtps://mail.example.org", 4, Duration::from_secs(1)).unwrap();
        assert_eq!((pool.server.port, pool.server.security), (465, Security::Tls));
        assert!(SmtpPool::from_url("http://mail.example.org", 4, Duration::from_secs(1)).is_err());
        assert!(SmtpPool::from_url("smtp://mail.example.org?tls=maybe", 4, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn percent_encoded_credentials_are_decoded() {
        assert_eq!(percent_decode("p%2Bss%40word+x"), "p+ss@word+x");
    }
}
