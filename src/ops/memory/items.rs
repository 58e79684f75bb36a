//! One persona's memories: store, search, get, delete and statistics.

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{check_range, count_param, persona_or_none, reader};
use crate::app::Core;
use crate::domain::memory::{Memory, Reader, StoredMemory, Visibility};
use crate::domain::persona::Persona;
use crate::error::AppError;
use crate::memory::SearchQuery;
use crate::ops::input::{non_empty, Input};
use crate::ops::results::memory::{MemoryDeleted, MemoryGot, SearchHit, SearchResult, StatsOf, Stored};
use crate::ops::target::{self, Target};

/// `memory.store` params.
#[derive(Deserialize, JsonSchema)]
pub struct StoreParams {
    /// Owner (id or name); default: the current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// The memory.
    #[serde(flatten)]
    pub memory: NewMemory,
}

impl Input for StoreParams {
    fn validate(&self) -> Result<(), AppError> {
        self.memory.validate()
    }
}

/// One memory to store: the fields of `memory.store` beside `persona_id`, and an item of `memory.import`.
#[derive(Deserialize, JsonSchema)]
pub struct NewMemory {
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

impl NewMemory {
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

    /// The checks that need no settings nor storage; the error names the field.
    pub fn validate(&self) -> Result<(), AppError> {
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

    /// -32602 naming `content` when it is longer than `memory.max_content_bytes`.
    pub(super) fn check_size(&self, core: &Core) -> Result<(), AppError> {
        let max = core.memory.settings().max_content_bytes;
        if self.content.len() > max {
            return Err(AppError::invalid(
                "content",
                format!("content must be at most {max} bytes"),
            ));
        }
        Ok(())
    }

    /// The memory of `owner` these fields describe, made now: related personas resolved, importance scored
    /// when "auto". Stores nothing.
    pub(super) async fn build(self, core: &Core, owner: &Persona) -> Result<Memory, AppError> {
        let mut related = Vec::with_capacity(self.related_personas.len());
        for r in &self.related_personas {
            related.push(core.resolve_persona(r).await?.id);
        }
        let importance = match self.importance()? {
            ImportanceSpec::Given(v) => v,
            ImportanceSpec::Auto => core.memory.auto_importance(owner, &self.content, &related).await?,
        };
        let mut memory = Memory::new(owner.id, self.content, self.memory_type, importance, Utc::now());
        memory.emotional_valence = self.emotional_valence;
        memory.related_personas = related;
        memory.visibility = Visibility::parse(&self.visibility).unwrap_or_default();
        memory.metadata = Value::Object(self.metadata);
        Ok(memory)
    }
}

/// Stores `memory` as a memory of the persona `owner` targets (indexed before the answer).
pub async fn store(core: &Core, owner: Target<'_>, memory: NewMemory) -> Result<Stored, AppError> {
    memory.check_size(core)?;
    let owner = target::persona(core, owner).await?;
    let memory = memory.build(core, &owner).await?;
    let stored = core.memory.store(vec![memory], true).await?;
    let m = &stored[0].memory;
    Ok(Stored {
        memory_id: m.id,
        stored: true,
        importance: m.importance,
        persona_id: m.persona_id,
    })
}

/// `memory.search` params.
#[derive(Deserialize, JsonSchema)]
pub struct SearchParams {
    /// Whose memories (id or name), searched as that persona (all of them, private ones included); default: the
    /// current persona.
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

impl Input for SearchParams {
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

/// Searches the memories of the persona `whose` targets, as that persona (its private ones included), semantic +
/// keyword; the search's other fields are `p`'s (its `persona_id` is the wire's, already in `whose`).
pub async fn search(core: &Core, whose: Target<'_>, p: &SearchParams) -> Result<SearchResult, AppError> {
    let persona = target::persona(core, whose).await?;
    let n = p.n_results.or(p.limit).unwrap_or(5) as usize;
    let hits = core
        .memory
        .search(SearchQuery {
            persona: persona.id,
            reader: persona.id,
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
        query: p.query.clone(),
        persona_id: persona.id,
    })
}

/// A memory named by id, read as `persona_id` (else the connection's current persona; with neither, the
/// operator).
#[derive(Deserialize, JsonSchema)]
pub struct MemoryRef {
    /// The memory's id.
    pub memory_id: String,
    /// The persona the call acts as (id or name); default: the connection's current persona; with neither, the
    /// call is the operator's and may read (and delete) any memory.
    #[serde(default)]
    pub persona_id: Option<String>,
}

impl Input for MemoryRef {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("memory_id", &self.memory_id)?;
        Uuid::parse_str(self.memory_id.trim())
            .map(|_| ())
            .map_err(|_| AppError::invalid("memory_id", "memory_id must be a UUID"))
    }
}

/// The memory `memory_id`, if the reader `target` names may see it; else -32008 as if it did not exist. Also
/// answers the reader.
async fn visible_memory(core: &Core, target: Target<'_>, memory_id: &str) -> Result<(StoredMemory, Reader), AppError> {
    let id =
        Uuid::parse_str(memory_id.trim()).map_err(|_| AppError::invalid("memory_id", "memory_id must be a UUID"))?;
    let reader = reader(core, target).await?;
    let not_found = || AppError::MemoryNotFound(memory_id.to_string());
    let stored = core.memory.get(id).await?.ok_or_else(not_found)?;
    let related = core.memory.related(reader.persona(), stored.memory.persona_id).await?;
    if !stored.memory.is_readable_by(reader, related) {
        return Err(not_found());
    }
    Ok((stored, reader))
}

/// One memory, read as `reader` targets (another persona's only where visibility grants it; the operator's with
/// no persona).
pub async fn get(core: &Core, reader: Target<'_>, memory_id: &str) -> Result<MemoryGot, AppError> {
    let (stored, _) = visible_memory(core, reader, memory_id).await?;
    Ok(MemoryGot {
        memory: stored.memory.into(),
    })
}

/// Deletes one memory: a persona deletes only its own (-32008 for another's, even one it may read); the operator
/// any.
pub async fn delete(core: &Core, reader: Target<'_>, memory_id: &str) -> Result<MemoryDeleted, AppError> {
    let (stored, reader) = visible_memory(core, reader, memory_id).await?;
    if reader.persona().is_some_and(|r| r != stored.memory.persona_id) {
        return Err(AppError::MemoryNotFound(memory_id.to_string()));
    }
    let id = stored.memory.id;
    // Concurrent deletes of one memory all find it; only the one whose delete removed the row reports it.
    if core.memory.remove(&[stored]).await? == 0 {
        return Err(AppError::MemoryNotFound(memory_id.to_string()));
    }
    Ok(MemoryDeleted {
        deleted: true,
        memory_id: id,
    })
}

/// Memory statistics of the persona `whose` targets or, with none, of all personas.
pub async fn stats(core: &Core, whose: Target<'_>) -> Result<StatsOf, AppError> {
    let persona = persona_or_none(core, whose).await?;
    Ok(StatsOf {
        stats: core.memory.stats(persona).await?,
        persona_id: persona,
    })
}
