//! Structured logs to stderr (stdout belongs to command output such as
//! CSV exports): human-readable by default, JSON with `LOG_FORMAT=json`.

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogConfig};

/// Installs the global subscriber. A second call is a no-op, so tests may
/// call it freely.
pub fn init(config: &LogConfig) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(&config.filter)
        .map_err(|_| ConfigError::new("RUST_LOG", "expected a filter such as info or bulletin=debug,info"))?;
    // Colours only for a person at a terminal, not in log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _already_set = if config.json { builder.json().try_init() } else { builder.compact().try_init() };
    Ok(())
}
