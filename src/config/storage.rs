//! `[storage]`: where data lives (the data directory, the SQLite file or a PostgreSQL URL, the pool).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::check::check_min;
use super::ConfigError;

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// Data directory: database, vector indexes, models, state files.
    pub data_dir: PathBuf,
    /// SQLite file; default `<data_dir>/persona-mcp.db`.
    pub database_path: Option<PathBuf>,
    /// `postgres://…`: PostgreSQL instead of the SQLite file, shared by every instance given the same URL.
    pub database_url: Option<String>,
    /// Connections in the pool.
    pub pool_size: u32,
    /// Milliseconds SQLite waits on a locked database.
    pub busy_timeout_ms: u32,
    /// Seconds a request waits for a PostgreSQL connection (the server unreachable, every connection busy)
    /// before it fails with -32010 "Database unavailable" instead of hanging.
    pub pool_timeout_secs: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database_path: None,
            database_url: None,
            pool_size: 8,
            busy_timeout_ms: 5_000,
            pool_timeout_secs: 10,
        }
    }
}

impl StorageSettings {
    /// The SQLite file to open.
    pub fn database_file(&self) -> PathBuf {
        self.database_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("persona-mcp.db"))
    }

    /// Checks that the pool has connections and a positive wait.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_min("storage.pool_size", self.pool_size as usize, 1)?;
        check_min("storage.pool_timeout_secs", self.pool_timeout_secs as usize, 1)
    }
}
