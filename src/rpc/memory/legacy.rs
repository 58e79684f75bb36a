//! The old server's `persona.memory`.

use schemars::JsonSchema;
use serde::Deserialize;

use super::super::context::Ctx;
use super::super::params::target_persona;
use super::super::results::memory::{LegacyMemories, LegacyMemory};
use super::super::router::Params;
use super::count_param;
use crate::domain::memory::{Memory, Reader};
use crate::error::AppError;
use crate::memory::SearchQuery;

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

impl Params for LegacyMemoryParams {
    fn validate(&self) -> Result<(), AppError> {
        count_param("limit", self.limit, 100).map(|_| ())
    }
}

pub(super) async fn legacy_memory(ctx: Ctx, p: LegacyMemoryParams) -> Result<LegacyMemories, AppError> {
    let persona = target_persona(&ctx, p.persona_id.as_deref()).await?.id;
    let limit = p.limit as usize;
    let memories: Vec<Memory> = if p.query.trim().is_empty() {
        ctx.app
            .memory
            .newest_readable(persona, Reader::Persona(persona), limit)
            .await?
            .0
    } else {
        ctx.app
            .memory
            .search(SearchQuery {
                persona,
                reader: persona,
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
