//! `[persona]`: persona defaults (energy regeneration, actor lifetimes).

use serde::{Deserialize, Serialize};

use super::check::check_min;
use super::ConfigError;

/// `[persona]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonaSettings {
    /// Seconds between regeneration ticks.
    pub regen_tick_secs: u64,
    /// Social energy regained per tick.
    pub energy_per_tick: f64,
    /// Seconds an idle chat conversation actor stays in memory.
    pub conversation_idle_secs: u64,
    /// Seed Aria and Kira when the database has no personas.
    pub seed_defaults: bool,
}

impl Default for PersonaSettings {
    fn default() -> Self {
        Self {
            regen_tick_secs: 30,
            energy_per_tick: 2.0,
            conversation_idle_secs: 600,
            seed_defaults: true,
        }
    }
}

impl PersonaSettings {
    /// Checks that the regeneration tick and the idle lifetime are positive.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_min("persona.regen_tick_secs", self.regen_tick_secs as usize, 1)?;
        check_min(
            "persona.conversation_idle_secs",
            self.conversation_idle_secs as usize,
            1,
        )
    }
}
