//! The operator's list of memories (the admin API's `GET /memories`): every memory or one persona's, filtered by
//! type, visibility and importance, newest first; with a text, a substring match over all, or a semantic + keyword
//! search within one persona (best first, with each hit's similarity).

use crate::app::Core;
use crate::domain::memory::Visibility;
use crate::error::AppError;
use crate::ops::results::memory::{MemoryRow, MemoryView};
use crate::ops::target::Target;

use super::items::{self, SearchParams};

/// Most hits a search within one persona lists.
const MAX_SEARCH_HITS: i64 = 100;

/// What to list: blank strings count as not given.
#[derive(Debug, Default)]
pub struct Browse<'a> {
    /// Owner (id or name).
    pub persona: Option<&'a str>,
    /// Only this `memory_type`.
    pub memory_type: Option<&'a str>,
    /// private, shared or public.
    pub visibility: Option<&'a str>,
    /// Lowest importance.
    pub min_importance: Option<f64>,
    /// Highest importance.
    pub max_importance: Option<f64>,
    /// Text to look for.
    pub q: Option<&'a str>,
}

fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

impl Browse<'_> {
    fn keeps(&self, m: &MemoryView, visibility: Option<Visibility>) -> bool {
        let m = &m.memory;
        given(self.memory_type).is_none_or(|t| m.memory_type == t)
            && visibility.is_none_or(|v| m.visibility == v)
            && self.min_importance.is_none_or(|lo| m.importance >= lo)
            && self.max_importance.is_none_or(|hi| m.importance <= hi)
    }
}

/// The memories `what` asks for, as the admin lists them.
pub async fn browse(core: &Core, what: &Browse<'_>) -> Result<Vec<MemoryRow>, AppError> {
    let visibility = match given(what.visibility) {
        Some(v) => Some(
            Visibility::parse(v)
                .ok_or_else(|| AppError::invalid("visibility", "visibility must be private, shared or public"))?,
        ),
        None => None,
    };
    let owner = match given(what.persona) {
        Some(key) => Some(core.resolve_persona(key).await?.id),
        None => None,
    };
    let rows = match (owner, given(what.q)) {
        (Some(owner), Some(q)) => {
            let id = owner.to_string();
            let params = SearchParams {
                persona_id: None,
                query: q.to_string(),
                n_results: Some(MAX_SEARCH_HITS),
                limit: None,
                min_importance: 0.0,
                memory_type: None,
            };
            let hits = items::search(core, Target::named(&id), &params).await?;
            let mut rows = Vec::new();
            for hit in hits.memories {
                if let Some(stored) = core.memory.get(hit.id).await? {
                    rows.push(MemoryRow {
                        memory: stored.memory.into(),
                        similarity: Some(hit.similarity),
                    });
                }
            }
            rows
        }
        (owner, q) => {
            let needle = q.map(str::to_lowercase);
            let mut all = core.store.memories().all(owner).await?;
            all.sort_by(|a, b| b.memory.created_at.cmp(&a.memory.created_at).then(b.key.cmp(&a.key)));
            all.into_iter()
                .filter(|s| {
                    needle
                        .as_ref()
                        .is_none_or(|n| s.memory.content.to_lowercase().contains(n))
                })
                .map(|s| MemoryRow {
                    memory: s.memory.into(),
                    similarity: None,
                })
                .collect()
        }
    };
    Ok(rows.into_iter().filter(|r| what.keeps(&r.memory, visibility)).collect())
}
