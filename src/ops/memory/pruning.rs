//! Pruning: a persona's least important memories removed, every persona that needs it, what pruning would remove,
//! and the past runs.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::Core;
use crate::domain::round3;
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::results::memory::{
    CandidateView, PruneDetail, PruneRecommendations, PruneStats, Pruned, PrunedAll, PruningStatistics, Recommendation,
};
use crate::ops::target::{self, Target};

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
impl Input for PruneParams {}

/// Prunes the least important memories of the persona `whose` targets, when it holds too many or `force`.
pub async fn prune(core: &Core, whose: Target<'_>, force: bool) -> Result<Pruned, AppError> {
    let persona = target::persona(core, whose).await?;
    match core.memory.prune(persona.id, force).await? {
        None => {
            let plan = core.memory.prune_plan(persona.id, false).await?;
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

/// Prunes every persona that needs it.
pub async fn prune_all(core: &Core) -> Result<PrunedAll, AppError> {
    let started = std::time::Instant::now();
    let all = core.store.personas().list().await?;
    let ids: Vec<Uuid> = all.iter().map(|p| p.id).collect();
    let totals = core.memory.prune_everyone(&ids).await?;
    Ok(PrunedAll {
        status: "global_pruning_completed",
        personas_processed: all.len(),
        total_memories_before: totals.before,
        total_memories_after: totals.after,
        total_memories_pruned: totals.before - totals.after,
        processing_time: started.elapsed().as_secs_f64(),
        errors_encountered: totals.errors,
    })
}

/// What pruning the persona `whose` targets would remove; changes nothing.
pub async fn prune_recommendations(core: &Core, whose: Target<'_>) -> Result<PruneRecommendations, AppError> {
    let persona = target::persona(core, whose).await?;
    let plan = core.memory.prune_plan(persona.id, false).await?;
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

/// Statistics of past pruning runs.
pub async fn prune_stats(core: &Core) -> Result<PruneStats, AppError> {
    let runs = core.memory.prune_runs().await?;
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
