//! `[bots]`: Matrix bots.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::check::check_min;
use super::ConfigError;

/// `[bots]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BotSettings {
    /// Start the enabled bots when the server starts.
    pub autostart: bool,
    /// The `persona-mcp` binary bots run as (`persona-mcp bot --id …`); default: this very executable.
    pub executable: Option<PathBuf>,
    /// Most replies a bot posts in one room per minute (loop guard).
    pub max_replies_per_room_per_minute: u32,
    /// Least milliseconds between two edits of a streamed reply.
    pub edit_interval_ms: u64,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            autostart: true,
            executable: None,
            max_replies_per_room_per_minute: 10,
            edit_interval_ms: 1000,
        }
    }
}

impl BotSettings {
    /// Checks the reply limit and the least edit interval.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_min(
            "bots.max_replies_per_room_per_minute",
            self.max_replies_per_room_per_minute as usize,
            1,
        )?;
        check_min("bots.edit_interval_ms", self.edit_interval_ms as usize, 1000)
    }
}
