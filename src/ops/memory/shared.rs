//! What personas share with each other: a search of the shared and public memories a persona may see, and their
//! statistics.

use std::collections::BTreeMap;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::{check_range, count_param};
use crate::app::Core;
use crate::domain::memory::CrossPersonaFilter;
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::results::memory::{CrossHitView, CrossSearchParamsView, CrossSearchResult, SharedStatsResult};
use crate::ops::target::Target;

/// `memory.search_cross_persona` params.
#[derive(Deserialize, JsonSchema)]
pub struct CrossSearchParams {
    /// What to look for.
    #[serde(default)]
    pub query: String,
    /// The requesting persona (id or name), the one the call acts as; default: the current one.
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

impl CrossSearchParams {
    /// A search for `query` with the wire's defaults, `n_results` hits when given.
    pub fn new(query: String, n_results: Option<i64>) -> Self {
        Self {
            query,
            persona_id: None,
            n_results: n_results.unwrap_or_else(ten),
            min_importance: point_six(),
            include_shared: yes(),
            include_public: yes(),
        }
    }
}

impl Input for CrossSearchParams {
    fn validate(&self) -> Result<(), AppError> {
        if self.query.trim().is_empty() {
            return Err(AppError::invalid("query", "Query is required"));
        }
        count_param("n_results", self.n_results, 50)?;
        check_range("min_importance", self.min_importance, 0.0, 1.0)
    }
}

/// Searches the shared and public memories of every persona that the persona `requester` targets may see; the
/// search's other fields are `p`'s (its `persona_id` is the wire's, already in `requester`).
pub async fn search_cross_persona(
    core: &Core,
    requester: Target<'_>,
    p: &CrossSearchParams,
) -> Result<CrossSearchResult, AppError> {
    let requester = match requester.named.filter(|s| !s.trim().is_empty()) {
        Some(key) => core.resolve_persona(key).await?,
        None => {
            let id = requester.current.ok_or(AppError::NoPersonaSelected(
                "No active persona. Please switch to a persona first.",
            ))?;
            core.persona_by_id(id).await?
        }
    };
    let all = core.store.personas().list().await?;
    let names: BTreeMap<Uuid, String> = all.iter().map(|p| (p.id, p.name.clone())).collect();
    let ids: Vec<Uuid> = all.iter().map(|p| p.id).collect();
    let filter = CrossPersonaFilter {
        min_importance: p.min_importance,
        include_shared: p.include_shared,
        include_public: p.include_public,
    };
    let hits = core
        .memory
        .search_cross_persona(requester.id, &ids, &p.query, p.n_results as usize, filter)
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
        query: p.query.clone(),
        total_results: memories.len(),
        memories,
        search_params: CrossSearchParamsView {
            min_importance: p.min_importance,
            include_shared: p.include_shared,
            include_public: p.include_public,
        },
    })
}

/// Statistics of shared and public memories.
pub async fn shared_stats(core: &Core) -> Result<SharedStatsResult, AppError> {
    let all = core.store.personas().list().await?;
    let named: Vec<(Uuid, String)> = all.into_iter().map(|p| (p.id, p.name)).collect();
    let stats = core.memory.shared_stats(&named).await?;
    Ok(SharedStatsResult {
        shared_memory_statistics: stats,
        timestamp: Utc::now(),
    })
}
