//! `[state]`: state files (`state.save`).

use serde::{Deserialize, Serialize};

use super::check::check_min;
use super::ConfigError;

/// `[state]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StateSettings {
    /// How many state files `state.save` keeps in `<data_dir>/state/` (older ones are deleted).
    pub keep: usize,
}

impl Default for StateSettings {
    fn default() -> Self {
        Self { keep: 5 }
    }
}

impl StateSettings {
    /// Checks that at least one state file is kept.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_min("state.keep", self.keep, 1)
    }
}
