//! The memory operations' results: what `memory.*` and `persona.memory` answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::memory::{Memory, MemorySource, Visibility};
use crate::memory::{DecayCycle, Hit, MemoryStats, SharedStats};

/// `memory.stats`.
#[derive(Serialize, JsonSchema)]
pub struct StatsOf {
    /// The statistics.
    #[serde(flatten)]
    pub stats: MemoryStats,
    /// The persona they are of; null: all personas.
    pub persona_id: Option<Uuid>,
}

/// `memory.store`.
#[derive(Serialize, JsonSchema)]
pub struct Stored {
    /// The new memory.
    pub memory_id: Uuid,
    /// Always true.
    pub stored: bool,
    /// Its importance (scored with "auto").
    pub importance: f64,
    /// Its owner.
    pub persona_id: Uuid,
}

/// `memory.import`.
#[derive(Serialize, JsonSchema)]
pub struct Imported {
    /// "success".
    pub status: &'static str,
    /// How many memories were stored (all of them).
    pub imported: usize,
    /// Their ids, in the order given.
    pub memory_ids: Vec<Uuid>,
    /// Their owner.
    pub persona_id: Uuid,
}

/// One hit of `memory.search`.
#[derive(Serialize, JsonSchema)]
pub struct SearchHit {
    /// The memory.
    pub id: Uuid,
    /// Its text.
    pub content: String,
    /// Its type.
    pub memory_type: String,
    /// 0..1.
    pub importance: f64,
    /// Cosine similarity to the query.
    pub similarity: f64,
    /// −1..1.
    pub emotional_valence: f64,
    /// Related personas.
    pub related_personas: Vec<Uuid>,
    /// Who may read it.
    pub visibility: Visibility,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Accesses, this search included.
    pub accessed_count: i64,
}

impl From<&Hit> for SearchHit {
    fn from(h: &Hit) -> Self {
        let m = &h.memory;
        Self {
            id: m.id,
            content: m.content.clone(),
            memory_type: m.memory_type.clone(),
            importance: m.importance,
            similarity: h.similarity,
            emotional_valence: m.emotional_valence,
            related_personas: m.related_personas.clone(),
            visibility: m.visibility,
            created_at: m.created_at,
            accessed_count: m.accessed_count + 1,
        }
    }
}

/// `memory.search`.
#[derive(Serialize, JsonSchema)]
pub struct SearchResult {
    /// Best first.
    pub memories: Vec<SearchHit>,
    /// The query.
    pub query: String,
    /// How many.
    pub result_count: usize,
    /// Whose memories.
    pub persona_id: Uuid,
}

/// One memory with every field.
#[derive(Serialize, JsonSchema)]
pub struct MemoryView {
    /// The memory's id again (old clients read `memory_id`).
    pub memory_id: Uuid,
    /// The memory.
    #[serde(flatten)]
    pub memory: Memory,
}

impl From<Memory> for MemoryView {
    fn from(memory: Memory) -> Self {
        Self {
            memory_id: memory.id,
            memory,
        }
    }
}

/// `memory.get`.
#[derive(Serialize, JsonSchema)]
pub struct MemoryGot {
    /// The memory.
    pub memory: MemoryView,
}

/// `memory.delete`.
#[derive(Serialize, JsonSchema)]
pub struct MemoryDeleted {
    /// Always true.
    pub deleted: bool,
    /// The memory.
    pub memory_id: Uuid,
}

/// `memory.prune`: nothing to do, or what was done.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Pruned {
    /// Under the threshold and not forced.
    NotNeeded {
        /// "no_pruning_needed".
        status: &'static str,
        /// The persona.
        persona_id: Uuid,
        /// Its memories.
        current_memory_count: usize,
        /// "Memory collection is within acceptable limits".
        message: &'static str,
    },
    /// Pruned.
    Completed {
        /// "pruning_completed".
        status: &'static str,
        /// The persona.
        persona_id: Uuid,
        /// Memories before.
        memories_before: usize,
        /// Memories after.
        memories_after: usize,
        /// Memories removed.
        memories_pruned: usize,
        /// Mean importance of the removed ones, 3 decimals.
        average_importance_pruned: f64,
        /// Mean importance of the kept ones, 3 decimals.
        average_importance_kept: f64,
        /// Seconds.
        processing_time: f64,
    },
}

/// `memory.prune_all`.
#[derive(Serialize, JsonSchema)]
pub struct PrunedAll {
    /// "global_pruning_completed".
    pub status: &'static str,
    /// Personas looked at.
    pub personas_processed: usize,
    /// Memories before.
    pub total_memories_before: usize,
    /// Memories after.
    pub total_memories_after: usize,
    /// Memories removed.
    pub total_memories_pruned: usize,
    /// Seconds.
    pub processing_time: f64,
    /// Personas whose pruning failed.
    pub errors_encountered: usize,
}

/// Whether pruning is needed.
#[derive(Serialize, JsonSchema)]
pub struct Recommendation {
    /// Over the threshold.
    pub needs_pruning: bool,
    /// Memories now.
    pub current_count: usize,
    /// Memories after pruning.
    pub target_count: usize,
    /// "No pruning needed" or "Would prune N memories with average importance X.XXX".
    pub recommendation: String,
}

/// A memory pruning would remove.
#[derive(Serialize, JsonSchema)]
pub struct CandidateView {
    /// The memory.
    pub id: Uuid,
    /// Its importance.
    pub importance: f64,
    /// Why it goes.
    pub reason: String,
}

/// What pruning would remove, when it is needed.
#[derive(Serialize, JsonSchema)]
pub struct PruneDetail {
    /// How many.
    pub would_prune: usize,
    /// Their mean importance, 3 decimals.
    pub average_importance_to_prune: f64,
    /// Their lowest and highest importance.
    pub importance_range_to_prune: Option<[f64; 2]>,
    /// Them.
    pub candidates: Vec<CandidateView>,
}

/// `memory.prune_recommendations`.
#[derive(Serialize, JsonSchema)]
pub struct PruneRecommendations {
    /// The persona.
    pub persona_id: Uuid,
    /// The verdict.
    pub recommendations: Recommendation,
    /// When pruning is needed: what it would remove.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub detail: Option<PruneDetail>,
}

/// Statistics of past pruning runs.
#[derive(Serialize, JsonSchema)]
pub struct PruningStatistics {
    /// Runs.
    pub total_pruning_operations: usize,
    /// Memories removed in all.
    pub total_memories_pruned: i64,
    /// Personas ever pruned.
    pub total_personas_processed: usize,
    /// Mean seconds per run.
    pub average_processing_time: f64,
    /// The last run.
    pub last_global_prune: Option<DateTime<Utc>>,
    /// Persona id → its last run.
    pub personas_last_pruned: BTreeMap<String, DateTime<Utc>>,
}

/// `memory.prune_stats`.
#[derive(Serialize, JsonSchema)]
pub struct PruneStats {
    /// The statistics.
    pub pruning_statistics: PruningStatistics,
    /// "No pruning operations performed yet" before any run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
}

/// `memory.decay_start`.
#[derive(Serialize, JsonSchema)]
pub struct DecayStarted {
    /// "background_decay_started".
    pub status: &'static str,
    /// It was running before.
    pub already_running: bool,
    /// Hours between cycles.
    pub interval_hours: f64,
    /// Minutes between cycles.
    pub interval_minutes: u64,
    /// The decay mode.
    pub mode: String,
    /// Always true.
    pub auto_pruning: bool,
}

/// `memory.decay_stop`.
#[derive(Serialize, JsonSchema)]
pub struct DecayStopped {
    /// "background_decay_stopped".
    pub status: &'static str,
    /// It was running.
    pub was_running: bool,
}

/// The decay settings in force.
#[derive(Serialize, JsonSchema)]
pub struct DecayConfigView {
    /// The decay mode.
    pub mode: String,
    /// Hours between cycles.
    pub interval_hours: f64,
    /// Age at which decay reaches its full factor.
    pub max_decay_days: u32,
    /// Always true.
    pub auto_pruning: bool,
    /// Memories above which a cycle prunes a persona.
    pub auto_prune_threshold: usize,
}

/// Statistics of memory decay.
#[derive(Serialize, JsonSchema)]
pub struct DecayStatistics {
    /// The scheduler runs.
    pub background_running: bool,
    /// The decay mode.
    pub mode: String,
    /// The last cycle.
    pub last_run: Option<DateTime<Utc>>,
    /// Cycles run.
    pub total_decay_cycles: u64,
    /// Memories decayed in all.
    pub total_memories_decayed: u64,
    /// Auto-prunes in all.
    pub total_auto_prunes_triggered: u64,
    /// The last cycle's numbers.
    pub recent_cycle: Option<DecayCycle>,
    /// The settings.
    pub config: DecayConfigView,
    /// "No decay cycles have run yet" before the first cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
}

/// `memory.decay_stats`.
#[derive(Serialize, JsonSchema)]
pub struct DecayStatsResult {
    /// The statistics.
    pub decay_statistics: DecayStatistics,
}

/// `memory.decay_force`: one persona's memories, or one cycle over all personas.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DecayForced {
    /// One persona.
    Persona {
        /// "persona_decay_completed".
        status: &'static str,
        /// The persona.
        persona_id: Uuid,
        /// The factor applied.
        decay_factor: f64,
        /// Memories looked at.
        memories_processed: usize,
        /// Memories lowered.
        memories_decayed: usize,
    },
    /// One cycle.
    Global {
        /// "global_decay_cycle_completed".
        status: &'static str,
        /// Personas looked at.
        personas_processed: usize,
        /// Memories lowered.
        memories_decayed: usize,
        /// Personas pruned.
        auto_prunes_triggered: usize,
        /// Seconds.
        processing_time: f64,
    },
}

/// One hit of `memory.search_cross_persona`.
#[derive(Serialize, JsonSchema)]
pub struct CrossHitView {
    /// The memory.
    pub memory_id: Uuid,
    /// Its text.
    pub content: String,
    /// Cosine similarity to the query.
    pub similarity: f64,
    /// 0..1.
    pub importance: f64,
    /// Its type.
    pub memory_type: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// shared or public.
    pub visibility: Visibility,
    /// The requester's own, or another persona's.
    pub source: MemorySource,
    /// The owner.
    pub source_persona: Uuid,
    /// The owner's name.
    pub source_persona_name: Option<String>,
}

/// The options a cross-persona search ran with.
#[derive(Serialize, JsonSchema)]
pub struct CrossSearchParamsView {
    /// Lowest importance.
    pub min_importance: f64,
    /// Shared memories included.
    pub include_shared: bool,
    /// Public memories included.
    pub include_public: bool,
}

/// `memory.search_cross_persona`.
#[derive(Serialize, JsonSchema)]
pub struct CrossSearchResult {
    /// The requester.
    pub requesting_persona: Uuid,
    /// The query.
    pub query: String,
    /// How many.
    pub total_results: usize,
    /// Best first.
    pub memories: Vec<CrossHitView>,
    /// The options.
    pub search_params: CrossSearchParamsView,
}

/// `memory.shared_stats`.
#[derive(Serialize, JsonSchema)]
pub struct SharedStatsResult {
    /// The statistics.
    pub shared_memory_statistics: SharedStats,
    /// Now.
    pub timestamp: DateTime<Utc>,
}

/// One memory as `persona.memory` shows it.
#[derive(Serialize, JsonSchema)]
pub struct LegacyMemory {
    /// Its text.
    pub content: String,
    /// 0..1.
    pub importance: f64,
    /// Its type.
    pub memory_type: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// `persona.memory`.
#[derive(Serialize, JsonSchema)]
pub struct LegacyMemories {
    /// Newest first, or best first with a query.
    pub memories: Vec<LegacyMemory>,
    /// The query.
    pub query: String,
    /// How many.
    pub total_found: usize,
}

/// A bulk delete of memories by id (the admin's `POST /memories/bulk_delete`).
#[derive(Serialize, JsonSchema)]
pub struct BulkDeleted {
    /// How many were deleted.
    pub deleted: usize,
    /// The ids that named no memory.
    pub not_found: Vec<String>,
}

/// A row of the admin's memory list: the memory as the memory methods answer it, and its similarity to the text
/// looked for when the list is a search within one persona.
#[derive(Serialize, JsonSchema)]
pub struct MemoryRow {
    /// The memory.
    #[serde(flatten)]
    pub memory: MemoryView,
    /// Similarity to the text looked for (search within a persona only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
}
