//! `[admin]`: the admin listener (REST API and web page).

use serde::{Deserialize, Serialize};

use super::check::{check_host, check_min};
use super::ConfigError;

/// `[admin]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminSettings {
    /// Interface the admin listener binds (loopback by default).
    pub host: String,
    /// Port of the admin listener; 0 picks a free one.
    pub port: u16,
    /// Bearer token for `/admin/api/v1`; when unset, one is generated into `<data_dir>/admin.token`.
    pub token: Option<String>,
    /// Lines of recent log kept in memory for `GET /admin/api/v1/logs`.
    pub log_lines: usize,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            token: None,
            log_lines: 2000,
        }
    }
}

impl AdminSettings {
    /// Checks the admin listener's values; the first bad one is reported with its key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_host("admin.host", &self.host)?;
        if self.token.as_ref().is_some_and(|t| t.trim().len() < 16) {
            return Err(ConfigError::new("admin.token", "<redacted>", "at least 16 characters"));
        }
        check_min("admin.log_lines", self.log_lines, 1)
    }
}
