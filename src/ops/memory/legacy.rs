//! The old server's `persona.memory`: a persona's newest memories, or those a query finds.

use schemars::JsonSchema;
use serde::Deserialize;

use super::count_param;
use crate::app::Core;
use crate::domain::memory::{Memory, Reader};
use crate::error::AppError;
use crate::memory::SearchQuery;
use crate::ops::input::Input;
use crate::ops::results::memory::{LegacyMemories, LegacyMemory};
use crate::ops::target::{self, Target};

/// `persona.memory` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct LegacyMemoryParams {
    /// Whose memories (id or name), read as that persona (all of them); default: the connection's current persona.
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

impl Input for LegacyMemoryParams {
    fn validate(&self) -> Result<(), AppError> {
        count_param("limit", self.limit, 100).map(|_| ())
    }
}

/// The memories of the persona `whose` targets, read as that persona: the `limit` newest, or the best `limit` hits
/// of `query` when it is not blank.
pub async fn legacy_memory(
    core: &Core,
    whose: Target<'_>,
    query: String,
    limit: usize,
) -> Result<LegacyMemories, AppError> {
    let persona = target::persona(core, whose).await?.id;
    let memories: Vec<Memory> = if query.trim().is_empty() {
        core.memory
            .newest_readable(persona, Reader::Persona(persona), limit)
            .await?
            .0
    } else {
        core.memory
            .search(SearchQuery {
                persona,
                reader: persona,
                query: query.clone(),
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
        query,
    })
}
