//! `[memory]`: memory scoring, pruning and decay numbers (DOMAIN.md).

use serde::{Deserialize, Serialize};

use super::check::{check_min, check_within};
use super::ConfigError;

/// `[memory]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MemorySettings {
    /// Pruning starts above this many memories per persona.
    pub pruning_threshold: usize,
    /// Pruning never goes below this many.
    pub min_safe_count: usize,
    /// Most of a persona's memories one run may remove (0..1).
    pub max_prune_percent: f64,
    /// After a decay cycle, personas above this many memories are auto-pruned.
    pub auto_prune_threshold: usize,
    /// Auto-pruning removes unprotected memories under this importance.
    pub auto_prune_below: f64,
    /// Start the decay scheduler with the server.
    pub decay_enabled: bool,
    /// Minutes between decay cycles.
    pub decay_interval_minutes: u64,
    /// `linear`, `exponential`, `logarithmic` or `access_based`.
    pub decay_mode: String,
    /// Personas processed per decay cycle (most memories first).
    pub max_personas_per_cycle: usize,
    /// Memories put into the system prompt per chat turn.
    pub prompt_memories: usize,
    /// Largest memory content accepted, in bytes.
    pub max_content_bytes: usize,
    /// Milliseconds a chat turn's recall waits for the query's embedding; past it, the turn recalls by keywords
    /// alone (the embedding still finishes and is kept for a repeat of the message).
    pub recall_deadline_ms: u64,
    /// Most memories waiting for their vector in the background; more are embedded from the database once the
    /// queue has run dry.
    pub embed_backlog: usize,
}

impl Default for MemorySettings {
    /// The pruning numbers are the domain's own defaults (DOMAIN.md), kept in one place.
    fn default() -> Self {
        let prune = crate::domain::pruning::PruneConfig::default();
        Self {
            pruning_threshold: prune.pruning_threshold,
            min_safe_count: prune.min_safe_count,
            max_prune_percent: prune.max_prune_percent,
            auto_prune_threshold: prune.auto_prune_threshold,
            auto_prune_below: prune.auto_prune_below,
            decay_enabled: true,
            decay_interval_minutes: 60,
            decay_mode: "access_based".into(),
            max_personas_per_cycle: 5,
            prompt_memories: 5,
            max_content_bytes: 32 * 1024,
            recall_deadline_ms: 5,
            embed_backlog: 4096,
        }
    }
}

impl MemorySettings {
    /// Checks the decay mode, the pruning fractions and the positive counts; the first bad one is reported.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if crate::domain::decay::DecayMode::parse(&self.decay_mode).is_none() {
            return Err(ConfigError::new(
                "memory.decay_mode",
                &self.decay_mode,
                "linear, exponential, logarithmic or access_based",
            ));
        }
        check_within(
            "memory.max_prune_percent",
            self.max_prune_percent,
            0.0..=1.0,
            "a number from 0 to 1",
        )?;
        check_within(
            "memory.auto_prune_below",
            self.auto_prune_below,
            0.0..=1.0,
            "a number from 0 to 1",
        )?;
        check_min("memory.decay_interval_minutes", self.decay_interval_minutes as usize, 1)?;
        check_min("memory.max_personas_per_cycle", self.max_personas_per_cycle, 1)?;
        check_min("memory.max_content_bytes", self.max_content_bytes, 1)
    }
}
