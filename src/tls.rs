//! One TLS crypto provider for the whole process (rustls with ring), shared
//! by the SMTP, Postgres and HTTP clients.

use std::sync::Once;

/// Installs ring as rustls's default provider; later calls do nothing.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means another provider was installed first: fine as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
