//! `memory.*` and the legacy `persona.memory`: each method decodes its params, names who acts (the persona the
//! call names, else the connection's current persona) and calls its memory operation ([`crate::ops::memory`]).

pub use crate::ops::memory::decay::{DecayForceParams, DecayStartParams};
pub use crate::ops::memory::import::{ImportParams, MAX_IMPORT};
pub use crate::ops::memory::items::{NewMemory, StoreParams};
pub use crate::ops::memory::pruning::PruneParams;

use super::context::Ctx;
use super::params::{acting, MaybePersona, NoParams};
use super::router::Router;
use crate::error::AppError;
use crate::ops::memory::items::{MemoryRef, SearchParams};
use crate::ops::memory::legacy::LegacyMemoryParams;
use crate::ops::memory::shared::CrossSearchParams;
use crate::ops::memory::{decay, import, items, legacy, pruning, shared};
use crate::ops::results::memory::{
    CrossSearchResult, DecayForced, DecayStarted, DecayStatsResult, DecayStopped, Imported, LegacyMemories,
    MemoryDeleted, MemoryGot, PruneRecommendations, PruneStats, Pruned, PrunedAll, SearchResult, SharedStatsResult,
    StatsOf, Stored,
};

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "memory.store",
        "Store a memory for a persona (persona_id, or the connection's current persona)",
        store,
    );
    r.method(
        "memory.import",
        "Store many memories of a persona (persona_id, or the connection's current persona) at once, all or \
         nothing: memories is a list of memory.store's fields, at most 1000; answers once all are searchable",
        import,
    );
    r.method(
        "memory.search",
        "Search a persona's memories (persona_id, or the connection's current persona) as that persona, private \
         ones included, semantic + keyword",
        search,
    );
    r.method(
        "memory.get",
        "Get one memory, read as persona_id or the connection's current persona (another persona's only where \
         visibility grants it); with neither, the operator's call",
        get,
    );
    r.method(
        "memory.delete",
        "Delete one memory: as persona_id or the connection's current persona only its own; with neither, the \
         operator's call",
        delete,
    );
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

async fn store(ctx: Ctx, p: StoreParams) -> Result<Stored, AppError> {
    items::store(&ctx.app, acting(&ctx, p.persona_id.as_deref()), p.memory).await
}

async fn import(ctx: Ctx, p: ImportParams) -> Result<Imported, AppError> {
    import::import(&ctx.app, acting(&ctx, p.persona_id.as_deref()), p.memories).await
}

async fn search(ctx: Ctx, p: SearchParams) -> Result<SearchResult, AppError> {
    items::search(&ctx.app, acting(&ctx, p.persona_id.as_deref()), &p).await
}

async fn get(ctx: Ctx, p: MemoryRef) -> Result<MemoryGot, AppError> {
    items::get(&ctx.app, acting(&ctx, p.persona_id.as_deref()), &p.memory_id).await
}

async fn delete(ctx: Ctx, p: MemoryRef) -> Result<MemoryDeleted, AppError> {
    items::delete(&ctx.app, acting(&ctx, p.persona_id.as_deref()), &p.memory_id).await
}

async fn stats(ctx: Ctx, p: MaybePersona) -> Result<StatsOf, AppError> {
    items::stats(&ctx.app, acting(&ctx, p.persona_id.as_deref())).await
}

async fn prune(ctx: Ctx, p: PruneParams) -> Result<Pruned, AppError> {
    pruning::prune(&ctx.app, acting(&ctx, p.persona_id.as_deref()), p.force).await
}

async fn prune_all(ctx: Ctx, _: NoParams) -> Result<PrunedAll, AppError> {
    pruning::prune_all(&ctx.app).await
}

async fn prune_recommendations(ctx: Ctx, p: MaybePersona) -> Result<PruneRecommendations, AppError> {
    pruning::prune_recommendations(&ctx.app, acting(&ctx, p.persona_id.as_deref())).await
}

async fn prune_stats(ctx: Ctx, _: NoParams) -> Result<PruneStats, AppError> {
    pruning::prune_stats(&ctx.app).await
}

async fn decay_start(ctx: Ctx, p: DecayStartParams) -> Result<DecayStarted, AppError> {
    decay::decay_start(&ctx.app, &p).await
}

async fn decay_stop(ctx: Ctx, _: NoParams) -> Result<DecayStopped, AppError> {
    decay::decay_stop(&ctx.app).await
}

async fn decay_stats(ctx: Ctx, _: NoParams) -> Result<DecayStatsResult, AppError> {
    decay::decay_stats(&ctx.app).await
}

async fn decay_force(ctx: Ctx, p: DecayForceParams) -> Result<DecayForced, AppError> {
    decay::decay_force(&ctx.app, acting(&ctx, p.persona_id.as_deref()), p.decay_factor).await
}

async fn search_cross_persona(ctx: Ctx, p: CrossSearchParams) -> Result<CrossSearchResult, AppError> {
    shared::search_cross_persona(&ctx.app, acting(&ctx, p.persona_id.as_deref()), &p).await
}

async fn shared_stats(ctx: Ctx, _: NoParams) -> Result<SharedStatsResult, AppError> {
    shared::shared_stats(&ctx.app).await
}

async fn legacy_memory(ctx: Ctx, p: LegacyMemoryParams) -> Result<LegacyMemories, AppError> {
    let whose = acting(&ctx, p.persona_id.as_deref());
    legacy::legacy_memory(&ctx.app, whose, p.query, p.limit as usize).await
}
