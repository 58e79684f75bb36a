//! Results of `memory.*` and `persona.memory`.

use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::memory::MemoryStats;

/// `memory.stats`.
#[derive(Serialize, JsonSchema)]
pub struct StatsOf {
    /// The statistics.
    #[serde(flatten)]
    pub stats: MemoryStats,
    /// The persona they are of; null: all personas.
    pub persona_id: Option<Uuid>,
}
