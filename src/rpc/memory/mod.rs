//! `memory.*` and the legacy `persona.memory`: store, search (own and cross-persona), get, delete, statistics,
//! pruning and decay.

mod decay;
mod import;
mod items;

pub use decay::{DecayForceParams, DecayStartParams};
pub use import::{ImportParams, MAX_IMPORT};
pub use items::{NewMemory, StoreParams};
pub use pruning::PruneParams;
mod legacy;
mod pruning;
mod shared;

use super::router::Router;
use crate::error::AppError;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "memory.store",
        "Store a memory for a persona (persona_id, or the connection's current persona)",
        items::store,
    );
    r.method(
        "memory.import",
        "Store many memories of a persona (persona_id, or the connection's current persona) at once, all or \
         nothing: memories is a list of memory.store's fields, at most 1000; answers once all are searchable",
        import::import,
    );
    r.method(
        "memory.search",
        "Search a persona's memories (persona_id, or the connection's current persona) as that persona, private \
         ones included, semantic + keyword",
        items::search,
    );
    r.method(
        "memory.get",
        "Get one memory, read as persona_id or the connection's current persona (another persona's only where \
         visibility grants it); with neither, the operator's call",
        items::get,
    );
    r.method(
        "memory.delete",
        "Delete one memory: as persona_id or the connection's current persona only its own; with neither, the \
         operator's call",
        items::delete,
    );
    r.method(
        "memory.stats",
        "Memory statistics for a persona (persona_id, or the connection's current persona) or, with neither, \
         all personas",
        items::stats,
    );
    r.method(
        "memory.prune",
        "Prune a persona's least important memories (persona_id, or the connection's current persona)",
        pruning::prune,
    );
    r.method(
        "memory.prune_all",
        "Prune every persona that needs it",
        pruning::prune_all,
    );
    r.method(
        "memory.prune_recommendations",
        "What pruning a persona (persona_id, or the connection's current persona) would remove (changes nothing)",
        pruning::prune_recommendations,
    );
    r.method(
        "memory.prune_stats",
        "Statistics of past pruning runs",
        pruning::prune_stats,
    );
    r.method(
        "memory.decay_start",
        "Start background memory decay",
        decay::decay_start,
    );
    r.method("memory.decay_stop", "Stop background memory decay", decay::decay_stop);
    r.method("memory.decay_stats", "Statistics of memory decay", decay::decay_stats);
    r.method(
        "memory.decay_force",
        "Decay a persona's memories (persona_id, or the connection's current persona) now; with neither, run \
         one decay cycle",
        decay::decay_force,
    );
    r.method(
        "memory.search_cross_persona",
        "Search the shared and public memories a persona (persona_id, or the connection's current persona) may see",
        shared::search_cross_persona,
    );
    r.method(
        "memory.shared_stats",
        "Statistics of shared and public memories",
        shared::shared_stats,
    );
    r.method(
        "persona.memory",
        "A persona's memories (persona_id, or the connection's current persona), newest or by query (legacy)",
        legacy::legacy_memory,
    );
}

/// -32602 naming `field` unless `value` is within `lo..=hi`.
fn check_range(field: &str, value: f64, lo: f64, hi: f64) -> Result<(), AppError> {
    if !(lo..=hi).contains(&value) || value.is_nan() {
        return Err(AppError::invalid(
            field,
            format!("{field} must be a number between {lo:.1} and {hi:.1}"),
        ));
    }
    Ok(())
}

/// `value` as a count of at most `max` (and at least 1), or -32602 naming `field`.
fn count_param(field: &str, value: i64, max: i64) -> Result<usize, AppError> {
    if !(1..=max).contains(&value) {
        return Err(AppError::invalid(field, format!("{field} must be between 1 and {max}")));
    }
    Ok(value as usize)
}
