//! `memory.*` and the legacy `persona.memory`: store, search (own and cross-persona), get, delete, statistics,
//! pruning and decay.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::context::Ctx;
use super::params::{non_empty, target_persona, MaybePersona, NoParams};
use super::results::memory::{
    CandidateView, CrossHitView, CrossSearchParamsView, CrossSearchResult, DecayConfigView, DecayForced, DecayStarted,
    DecayStatistics, DecayStatsResult, DecayStopped, LegacyMemories, LegacyMemory, MemoryDeleted, MemoryGot,
    PruneDetail, PruneRecommendations, PruneStats, Pruned, PrunedAll, PruningStatistics, Recommendation, SearchHit,
    SearchResult, SharedStatsResult, StatsOf, Stored,
};
use super::router::{Params, Router};
use crate::actors::decay::{GetDecayStats, RunCycleNow, StartDecay, StopDecay};
use crate::domain::decay::DecayMode;
use crate::domain::importance::{self, ImportanceInput, ImportanceWeights};
use crate::domain::memory::{CrossPersonaFilter, Memory, StoredMemory, Visibility};
use crate::domain::round3;
use crate::error::AppError;
use crate::memory::{MemoryStats, SearchQuery};

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "memory.store",
        "Store a memory for a persona (persona_id, or the connection's current persona)",
        store,
    );
    r.method(
        "memory.search",
        "Search a persona's memories (persona_id, or the connection's current persona), semantic + keyword; \
         another persona's private memories are seen only by that persona",
        search,
    );
    r.method("memory.get", "Get one memory", get);
    r.method("memory.delete", "Delete one memory", delete);
    r.method(
        "memory.stats",
        "Memory statistics for a persona (persona_id, or the connection's current persona) or, with neither, \
         all personas",
        stats,
    );
    r.method(
        "memory.prune",
        "Prune a persona's least important memories (persona_id, or the connection's current persona)",
        prune,
    );
    r.method("memory.prune_all", "Prune every persona that needs it", prune_all);
    r.method(
        "memory.prune_recommendations",
        "What pruning a persona (persona_id, or the connection's current persona) would remove (changes nothing)",
        prune_recommendations,
    );
    r.method("memory.prune_stats", "Statistics of past pruning runs", prune_stats);
    r.method("memory.decay_start", "Start background memory decay", decay_start);
    r.method("memory.decay_stop", "Stop background memory decay", decay_stop);
    r.method("memory.decay_stats", "Statistics of memory decay", decay_stats);
    r.method(
        "memory.decay_force",
        "Decay a persona's memories (persona_id, or the connection's current persona) now; with neither, run \
         one decay cycle",
        decay_force,
    );
    r.method(
        "memory.search_cross_persona",
        "Search the shared and public memories a persona (persona_id, or the connection's current persona) may see",
        search_cross_persona,
    );
    r.method(
        "memory.shared_stats",
        "Statistics of shared and public memories",
        shared_stats,
    );
    r.method(
        "persona.memory",
        "A persona's memories (persona_id, or the connection's current persona), newest or by query (legacy)",
        legacy_memory,
    );
}

fn check_range(field: &str, value: f64, lo: f64, hi: f64) -> Result<(), AppError> {
    if !(lo..=hi).contains(&value) || value.is_nan() {
        return Err(AppError::invalid(
            field,
            format!("{field} must be a number between {lo:.1} and {hi:.1}"),
        ));
    }
    Ok(())
}

/// Bytes used by the database and the vector indexes.
pub fn storage_bytes(data_dir: &Path, database: &Path) -> u64 {
    let file = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let wal = database.with_extension("db-wal");
    let vectors: u64 = std::fs::read_dir(data_dir.join("vectors"))
        .map(|dir| dir.flatten().map(|e| file(&e.path())).sum())
        .unwrap_or(0);
    file(database) + file(&wal) + vectors
}

/// Statistics of one persona's memories (or all), as `memory.stats` answers.
pub async fn memory_stats(ctx: &Ctx, persona: Option<Uuid>) -> Result<MemoryStats, AppError> {
    let settings = ctx.app.settings.current();
    let s = &settings.storage;
    let bytes = storage_bytes(&s.data_dir, &s.database_file());
    ctx.app.memory.stats(persona, bytes).await
}

/// `memory.store` params.
#[derive(Deserialize, JsonSchema)]
pub struct StoreParams {
    /// Owner (id or name); default: the current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// What to remember (at most 32 KiB).
    pub content: String,
    /// conversation, user_input, event, relationship, observation, reflection…
    #[serde(default = "user_input")]
    pub memory_type: String,
    /// 0..1, or "auto" to score it.
    #[serde(default)]
    pub importance: Option<Value>,
    /// −1..1.
    #[serde(default)]
    pub emotional_valence: f64,
    /// Personas (ids or names) the memory relates to.
    #[serde(default)]
    pub related_personas: Vec<String>,
    /// private, shared or public.
    #[serde(default = "private")]
    pub visibility: String,
    /// Free JSON.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

fn user_input() -> String {
    "user_input".into()
}

fn private() -> String {
    "private".into()
}

/// How the importance of a new memory is set.
enum ImportanceSpec {
    Given(f64),
    Auto,
}

impl StoreParams {
    fn importance(&self) -> Result<ImportanceSpec, AppError> {
        let bad = || {
            AppError::invalid(
                "importance",
                "importance must be a number between 0.0 and 1.0 or \"auto\"",
            )
        };
        match &self.importance {
            None => Ok(ImportanceSpec::Given(0.5)),
            Some(Value::String(s)) if s == "auto" => Ok(ImportanceSpec::Auto),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if (0.0..=1.0).contains(&v) => Ok(ImportanceSpec::Given(v)),
                _ => Err(bad()),
            },
            Some(_) => Err(bad()),
        }
    }
}

impl Params for StoreParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("content", &self.content)?;
        non_empty("memory_type", &self.memory_type)?;
        if self.memory_type.len() > 64 {
            return Err(AppError::invalid(
                "memory_type",
                "memory_type must be at most 64 characters",
            ));
        }
        self.importance()?;
        check_range("emotional_valence", self.emotional_valence, -1.0, 1.0)?;
        if Visibility::parse(&self.visibility).is_none() {
            return Err(AppError::invalid(
                "visibility",
                "visibility must be private, shared or public",
            ));
        }
        Ok(())
    }
}

async fn store(ctx: Ctx, p: StoreParams) -> Result<Stored, AppError> {
    let max = ctx.app.memory.settings().max_content_bytes;
    if p.content.len() > max {
        return Err(AppError::invalid(
            "content",
            format!("content must be at most {max} bytes"),
        ));
    }
    let owner = target_persona(&ctx, p.persona_id.as_deref()).await?;
    let mut related = Vec::with_capacity(p.related_personas.len());
    for r in &p.related_personas {
        related.push(ctx.app.resolve_persona(r).await?.id);
    }
    let importance = match p.importance()? {
        ImportanceSpec::Given(v) => v,
        ImportanceSpec::Auto => {
            let strength = related_strength(&ctx, owner.id, &related).await?;
            importance::score(
                &ImportanceInput {
                    speaker: Some(&owner),
                    relationship_strength: strength,
                    ..ImportanceInput::new(&p.content)
                },
                &ImportanceWeights::default(),
            )
            .total
        }
    };
    let mut memory = Memory::new(owner.id, p.content, p.memory_type, importance, Utc::now());
    memory.emotional_valence = p.emotional_valence;
    memory.related_personas = related;
    memory.visibility = Visibility::parse(&p.visibility).unwrap_or_default();
    memory.metadata = Value::Object(p.metadata);
    let stored = ctx.app.memory.store(vec![memory], true).await?;
    let m = &stored[0].memory;
    Ok(Stored {
        memory_id: m.id,
        stored: true,
        importance: m.importance,
        persona_id: m.persona_id,
    })
}

/// Strongest relationship between the owner and the related personas (0 when none).
async fn related_strength(ctx: &Ctx, owner: Uuid, related: &[Uuid]) -> Result<f64, AppError> {
    let found = ctx.app.store.relationships().between(owner, related.to_vec()).await?;
    Ok(found.iter().map(|r| r.strength().abs()).fold(0.0, f64::max))
}

/// `memory.search` params.
#[derive(Deserialize, JsonSchema)]
pub struct SearchParams {
    /// Whose memories (id or name); default: the current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// What to look for.
    #[serde(default)]
    pub query: String,
    /// Hits wanted, 1..100 (default 5).
    #[serde(default)]
    pub n_results: Option<i64>,
    /// Alias of `n_results`.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Lowest importance.
    #[serde(default)]
    pub min_importance: f64,
    /// Only this type.
    #[serde(default)]
    pub memory_type: Option<String>,
}

fn count_param(field: &str, value: i64, max: i64) -> Result<usize, AppError> {
    if !(1..=max).contains(&value) {
        return Err(AppError::invalid(field, format!("{field} must be between 1 and {max}")));
    }
    Ok(value as usize)
}

impl Params for SearchParams {
    fn validate(&self) -> Result<(), AppError> {
        if self.query.trim().is_empty() {
            return Err(AppError::invalid("query", "Query is required"));
        }
        match (self.n_results, self.limit) {
            (Some(n), _) => count_param("n_results", n, 100)?,
            (None, Some(l)) => count_param("limit", l, 100)?,
            _ => 5,
        };
        check_range("min_importance", self.min_importance, 0.0, 1.0)
    }
}

async fn search(ctx: Ctx, p: SearchParams) -> Result<SearchResult, AppError> {
    let persona = target_persona(&ctx, p.persona_id.as_deref()).await?;
    let n = p.n_results.or(p.limit).unwrap_or(5) as usize;
    let hits = ctx
        .app
        .memory
        .search(SearchQuery {
            persona: persona.id,
            reader: ctx.conn.current_persona(),
            query: p.query.clone(),
            n_results: n,
            min_importance: p.min_importance,
            memory_type: p.memory_type.clone(),
            touch: true,
            deadline: None,
        })
        .await?;
    let memories: Vec<SearchHit> = hits.iter().map(SearchHit::from).collect();
    Ok(SearchResult {
        result_count: memories.len(),
        memories,
        query: p.query,
        persona_id: persona.id,
    })
}

/// A memory named by id. The reader is the connection's current persona (see [`visible_memory`]).
#[derive(Deserialize, JsonSchema)]
pub struct MemoryRef {
    /// The memory's id.
    pub memory_id: String,
}

impl Params for MemoryRef {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("memory_id", &self.memory_id)?;
        Uuid::parse_str(self.memory_id.trim())
            .map(|_| ())
            .map_err(|_| AppError::invalid("memory_id", "memory_id must be a UUID"))
    }
}

/// The memory, if the connection's current persona may see it (with none: if it is public); else -32008 as if
/// it did not exist. Also answers the reader.
async fn visible_memory(ctx: &Ctx, p: &MemoryRef) -> Result<(StoredMemory, Option<Uuid>), AppError> {
    let id =
        Uuid::parse_str(p.memory_id.trim()).map_err(|_| AppError::invalid("memory_id", "memory_id must be a UUID"))?;
    let reader = ctx.conn.current_persona();
    let not_found = || AppError::MemoryNotFound(p.memory_id.clone());
    let stored = ctx.app.memory.get(id).await?.ok_or_else(not_found)?;
    let related = ctx.app.memory.related(reader, stored.memory.persona_id).await?;
    if !stored.memory.is_readable_by(reader, related) {
        return Err(not_found());
    }
    Ok((stored, reader))
}

async fn get(ctx: Ctx, p: MemoryRef) -> Result<MemoryGot, AppError> {
    let (stored, _) = visible_memory(&ctx, &p).await?;
    Ok(MemoryGot {
        memory: stored.memory.into(),
    })
}

/// Only the owner deletes: the connection's current persona must own the memory.
async fn delete(ctx: Ctx, p: MemoryRef) -> Result<MemoryDeleted, AppError> {
    let (stored, reader) = visible_memory(&ctx, &p).await?;
    if reader != Some(stored.memory.persona_id) {
        return Err(AppError::MemoryNotFound(p.memory_id));
    }
    let id = stored.memory.id;
    // Concurrent deletes of one memory all find it; only the one whose delete removed the row reports it.
    if ctx.app.memory.remove(&[stored]).await? == 0 {
        return Err(AppError::MemoryNotFound(p.memory_id));
    }
    Ok(MemoryDeleted {
        deleted: true,
        memory_id: id,
    })
}

async fn stats(ctx: Ctx, p: MaybePersona) -> Result<StatsOf, AppError> {
    let persona = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(ctx.app.resolve_persona(key).await?.id),
        None => ctx.conn.current_persona(),
    };
    Ok(StatsOf {
        stats: memory_stats(&ctx, persona).await?,
        persona_id: persona,
    })
}

/// `memory.prune` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct PruneParams {
    /// Persona (id or name); default: the current one.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Prune even when under the threshold.
    #[serde(default)]
    pub force: bool,
}
impl Params for PruneParams {}

async fn prune(ctx: Ctx, p: PruneParams) -> Result<Pruned, AppError> {
    let persona = target_persona(&ctx, p.persona_id.as_deref()).await?;
    match ctx.app.memory.prune(persona.id, p.force).await? {
        None => {
            let plan = ctx.app.memory.prune_plan(persona.id, false).await?;
            Ok(Pruned::NotNeeded {
                status: "no_pruning_needed",
                persona_id: persona.id,
                current_memory_count: plan.current_count,
                message: "Memory collection is within acceptable limits",
            })
        }
        Some(o) => Ok(Pruned::Completed {
            status: "pruning_completed",
            persona_id: persona.id,
            memories_before: o.plan.current_count,
            memories_after: o.plan.current_count - o.removed,
            memories_pruned: o.removed,
            average_importance_pruned: round3(o.plan.average_importance_removed),
            average_importance_kept: round3(o.plan.average_importance_kept),
            processing_time: o.processing_time,
        }),
    }
}

async fn prune_all(ctx: Ctx, _: NoParams) -> Result<PrunedAll, AppError> {
    let started = std::time::Instant::now();
    let all = ctx.app.store.personas().list().await?;
    let (mut before, mut after, mut errors) = (0usize, 0usize, 0usize);
    for persona in &all {
        match ctx.app.memory.prune(persona.id, false).await {
            Ok(Some(o)) => {
                before += o.plan.current_count;
                after += o.plan.current_count - o.removed;
            }
            Ok(None) => {
                let n = ctx.app.memory.prune_plan(persona.id, false).await?.current_count;
                before += n;
                after += n;
            }
            Err(e) => {
                tracing::warn!(persona = %persona.id, error = %e, "pruning failed");
                errors += 1;
            }
        }
    }
    Ok(PrunedAll {
        status: "global_pruning_completed",
        personas_processed: all.len(),
        total_memories_before: before,
        total_memories_after: after,
        total_memories_pruned: before - after,
        processing_time: started.elapsed().as_secs_f64(),
        errors_encountered: errors,
    })
}

async fn prune_recommendations(ctx: Ctx, p: MaybePersona) -> Result<PruneRecommendations, AppError> {
    let persona = target_persona(&ctx, p.persona_id.as_deref()).await?;
    let plan = ctx.app.memory.prune_plan(persona.id, false).await?;
    let n = plan.to_remove.len();
    let recommendation = if plan.needs_pruning && n > 0 {
        format!(
            "Would prune {n} memories with average importance {:.3}",
            plan.average_importance_removed
        )
    } else {
        "No pruning needed".to_string()
    };
    let detail = plan.needs_pruning.then(|| PruneDetail {
        would_prune: n,
        average_importance_to_prune: round3(plan.average_importance_removed),
        importance_range_to_prune: plan.importance_range.map(|(a, b)| [round3(a), round3(b)]),
        candidates: plan
            .to_remove
            .iter()
            .map(|v| CandidateView {
                id: v.id,
                importance: v.importance,
                reason: v.reason.clone(),
            })
            .collect(),
    });
    Ok(PruneRecommendations {
        persona_id: persona.id,
        recommendations: Recommendation {
            needs_pruning: plan.needs_pruning,
            current_count: plan.current_count,
            target_count: plan.target_count,
            recommendation,
        },
        detail,
    })
}

async fn prune_stats(ctx: Ctx, _: NoParams) -> Result<PruneStats, AppError> {
    let runs = ctx.app.memory.prune_runs().await?;
    let mut last_by_persona = BTreeMap::new();
    for r in &runs {
        last_by_persona.insert(r.persona_id.clone(), r.ran_at);
    }
    let total_pruned: i64 = runs.iter().map(|r| r.memories_before - r.memories_after).sum();
    let avg_time = if runs.is_empty() {
        0.0
    } else {
        runs.iter().map(|r| r.processing_time).sum::<f64>() / runs.len() as f64
    };
    Ok(PruneStats {
        pruning_statistics: PruningStatistics {
            total_pruning_operations: runs.len(),
            total_memories_pruned: total_pruned,
            total_personas_processed: last_by_persona.len(),
            average_processing_time: avg_time,
            last_global_prune: runs.last().map(|r| r.ran_at),
            personas_last_pruned: last_by_persona,
        },
        message: runs.is_empty().then_some("No pruning operations performed yet"),
    })
}

/// `memory.decay_start` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct DecayStartParams {
    /// Minutes between cycles.
    #[serde(default)]
    pub interval_minutes: Option<u64>,
    /// linear, exponential, logarithmic or access_based.
    #[serde(default)]
    pub mode: Option<String>,
}
impl Params for DecayStartParams {
    fn validate(&self) -> Result<(), AppError> {
        if self.interval_minutes == Some(0) {
            return Err(AppError::invalid(
                "interval_minutes",
                "interval_minutes must be at least 1",
            ));
        }
        if self.mode.as_deref().is_some_and(|m| DecayMode::parse(m).is_none()) {
            return Err(AppError::invalid(
                "mode",
                "mode must be linear, exponential, logarithmic or access_based",
            ));
        }
        Ok(())
    }
}

async fn decay_start(ctx: Ctx, p: DecayStartParams) -> Result<DecayStarted, AppError> {
    let o = ctx
        .app
        .decay
        .send(StartDecay {
            interval_minutes: p.interval_minutes,
            mode: p.mode.as_deref().and_then(DecayMode::parse),
        })
        .await?;
    Ok(DecayStarted {
        status: "background_decay_started",
        already_running: o.already_running,
        interval_hours: o.stats.interval_minutes as f64 / 60.0,
        interval_minutes: o.stats.interval_minutes,
        mode: o.stats.mode,
        auto_pruning: true,
    })
}

async fn decay_stop(ctx: Ctx, _: NoParams) -> Result<DecayStopped, AppError> {
    let was_running = ctx.app.decay.send(StopDecay).await?;
    Ok(DecayStopped {
        status: "background_decay_stopped",
        was_running,
    })
}

async fn decay_stats(ctx: Ctx, _: NoParams) -> Result<DecayStatsResult, AppError> {
    let s = ctx.app.decay.send(GetDecayStats).await?;
    let m = ctx.app.memory.settings();
    Ok(DecayStatsResult {
        decay_statistics: DecayStatistics {
            background_running: s.background_running,
            config: DecayConfigView {
                mode: s.mode.clone(),
                interval_hours: s.interval_minutes as f64 / 60.0,
                max_decay_days: 90,
                auto_pruning: true,
                auto_prune_threshold: m.auto_prune_threshold,
            },
            mode: s.mode,
            last_run: s.last_run,
            total_decay_cycles: s.total_decay_cycles,
            total_memories_decayed: s.total_memories_decayed,
            total_auto_prunes_triggered: s.total_auto_prunes_triggered,
            recent_cycle: s.recent_cycle,
            message: (s.total_decay_cycles == 0).then_some("No decay cycles have run yet"),
        },
    })
}

/// `memory.decay_force` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct DecayForceParams {
    /// Persona (id or name); default: the current one; none: one cycle over all personas.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// 0..1.
    #[serde(default = "tenth")]
    pub decay_factor: f64,
}

fn tenth() -> f64 {
    0.1
}

impl Params for DecayForceParams {
    fn validate(&self) -> Result<(), AppError> {
        check_range("decay_factor", self.decay_factor, 0.0, 1.0)
    }
}

async fn decay_force(ctx: Ctx, p: DecayForceParams) -> Result<DecayForced, AppError> {
    let persona = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(ctx.app.resolve_persona(key).await?.id),
        None => ctx.conn.current_persona(),
    };
    match persona {
        Some(id) => {
            let d = ctx.app.memory.force_decay(id, p.decay_factor).await?;
            Ok(DecayForced::Persona {
                status: "persona_decay_completed",
                persona_id: id,
                decay_factor: p.decay_factor,
                memories_processed: d.memories_processed,
                memories_decayed: d.memories_decayed,
            })
        }
        None => {
            let c = ctx.app.decay.send(RunCycleNow).await??;
            Ok(DecayForced::Global {
                status: "global_decay_cycle_completed",
                personas_processed: c.personas_processed,
                memories_decayed: c.memories_decayed,
                auto_prunes_triggered: c.auto_prunes_triggered,
                processing_time: c.processing_time,
            })
        }
    }
}

/// `memory.search_cross_persona` params.
#[derive(Deserialize, JsonSchema)]
pub struct CrossSearchParams {
    /// What to look for.
    #[serde(default)]
    pub query: String,
    /// The requesting persona (id or name); default: the current one.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Hits wanted, 1..50.
    #[serde(default = "ten")]
    pub n_results: i64,
    /// Lowest importance of any hit.
    #[serde(default = "point_six")]
    pub min_importance: f64,
    /// Include shared memories.
    #[serde(default = "yes")]
    pub include_shared: bool,
    /// Include public memories.
    #[serde(default = "yes")]
    pub include_public: bool,
}

fn ten() -> i64 {
    10
}
fn point_six() -> f64 {
    0.6
}
fn yes() -> bool {
    true
}

impl Params for CrossSearchParams {
    fn validate(&self) -> Result<(), AppError> {
        if self.query.trim().is_empty() {
            return Err(AppError::invalid("query", "Query is required"));
        }
        count_param("n_results", self.n_results, 50)?;
        check_range("min_importance", self.min_importance, 0.0, 1.0)
    }
}

async fn search_cross_persona(ctx: Ctx, p: CrossSearchParams) -> Result<CrossSearchResult, AppError> {
    let requester = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => ctx.app.resolve_persona(key).await?,
        None => {
            let id = ctx.conn.current_persona().ok_or(AppError::NoPersonaSelected(
                "No active persona. Please switch to a persona first.",
            ))?;
            ctx.app.persona_by_id(id).await?
        }
    };
    let all = ctx.app.store.personas().list().await?;
    let names: BTreeMap<Uuid, String> = all.iter().map(|p| (p.id, p.name.clone())).collect();
    let ids: Vec<Uuid> = all.iter().map(|p| p.id).collect();
    let filter = CrossPersonaFilter {
        min_importance: p.min_importance,
        include_shared: p.include_shared,
        include_public: p.include_public,
    };
    let hits = ctx
        .app
        .memory
        .search_cross_persona(
            requester.id,
            ctx.conn.current_persona(),
            &ids,
            &p.query,
            p.n_results as usize,
            filter,
        )
        .await?;
    let memories: Vec<CrossHitView> = hits
        .iter()
        .map(|h| {
            let m = &h.hit.memory;
            CrossHitView {
                memory_id: m.id,
                content: m.content.clone(),
                similarity: h.hit.similarity,
                importance: m.importance,
                memory_type: m.memory_type.clone(),
                created_at: m.created_at,
                visibility: m.visibility,
                source: h.source,
                source_persona: m.persona_id,
                source_persona_name: names.get(&m.persona_id).cloned(),
            }
        })
        .collect();
    Ok(CrossSearchResult {
        requesting_persona: requester.id,
        query: p.query,
        total_results: memories.len(),
        memories,
        search_params: CrossSearchParamsView {
            min_importance: p.min_importance,
            include_shared: p.include_shared,
            include_public: p.include_public,
        },
    })
}

async fn shared_stats(ctx: Ctx, _: NoParams) -> Result<SharedStatsResult, AppError> {
    let all = ctx.app.store.personas().list().await?;
    let named: Vec<(Uuid, String)> = all.into_iter().map(|p| (p.id, p.name)).collect();
    let stats = ctx.app.memory.shared_stats(&named).await?;
    Ok(SharedStatsResult {
        shared_memory_statistics: stats,
        timestamp: Utc::now(),
    })
}

/// `persona.memory` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct LegacyMemoryParams {
    /// Whose memories (id or name); default: the connection's current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// What to look for; empty: the most recent memories.
    #[serde(default)]
    pub query: String,
    /// How many.
    #[serde(default = "five")]
    pub limit: i64,
}

fn five() -> i64 {
    5
}

impl Params for LegacyMemoryParams {
    fn validate(&self) -> Result<(), AppError> {
        count_param("limit", self.limit, 100).map(|_| ())
    }
}

async fn legacy_memory(ctx: Ctx, p: LegacyMemoryParams) -> Result<LegacyMemories, AppError> {
    let persona = target_persona(&ctx, p.persona_id.as_deref()).await?.id;
    let reader = ctx.conn.current_persona();
    let limit = p.limit as usize;
    let memories: Vec<Memory> = if p.query.trim().is_empty() {
        ctx.app.memory.newest_readable(persona, reader, limit).await?.0
    } else {
        ctx.app
            .memory
            .search(SearchQuery {
                persona,
                reader,
                query: p.query.clone(),
                n_results: limit,
                min_importance: 0.0,
                memory_type: None,
                touch: true,
                deadline: None,
            })
            .await?
            .into_iter()
            .map(|h| h.memory)
            .collect()
    };
    let rows: Vec<LegacyMemory> = memories
        .into_iter()
        .map(|m| LegacyMemory {
            content: m.content,
            importance: m.importance,
            memory_type: m.memory_type,
            created_at: m.created_at,
        })
        .collect();
    Ok(LegacyMemories {
        total_found: rows.len(),
        memories: rows,
        query: p.query,
    })
}
