//! `[logging]`: log level and format.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[logging]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggingSettings {
    /// A `tracing` filter: `info`, `debug`, `persona_mcp=debug,actix_web=info`…
    pub level: String,
    /// JSON lines instead of human-readable logs.
    pub json: bool,
    /// One `info` line per JSON-RPC call, MCP request and HTTP request (target `persona_mcp::access`).
    pub access: bool,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
            access: true,
        }
    }
}

impl LoggingSettings {
    /// Checks that `level` is a filter `tracing` understands.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if tracing_subscriber::EnvFilter::try_new(&self.level).is_err() {
            return Err(ConfigError::new(
                "logging.level",
                &self.level,
                "error, warn, info, debug, trace or a tracing filter",
            ));
        }
        Ok(())
    }
}
