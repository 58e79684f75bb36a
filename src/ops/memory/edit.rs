//! The operator's use cases of stored memories (the admin API's): read any memory by id, change its fields, delete
//! many at once. No persona acts: the operator reaches every memory.

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::Core;
use crate::domain::memory::{StoredMemory, Visibility};
use crate::error::AppError;
use crate::ops::results::memory::{BulkDeleted, MemoryView};

/// The longest content an edit may give a memory (as `memory.store`'s default).
const MAX_CONTENT_BYTES: usize = 32 * 1024;

/// Most ids one bulk delete takes.
const MAX_BULK_DELETE: usize = 10_000;

/// The stored memory `memory_id` names, whoever owns it; -32008 when it names none (or is no id).
pub async fn stored(core: &Core, memory_id: &str) -> Result<StoredMemory, AppError> {
    let missing = || AppError::MemoryNotFound(memory_id.to_string());
    let id = Uuid::parse_str(memory_id.trim()).map_err(|_| missing())?;
    core.memory.get(id).await?.ok_or_else(missing)
}

/// The fields of a memory to change.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryPatch {
    /// New text (at most 32 KiB); the memory is embedded anew before the answer.
    #[serde(default)]
    pub content: Option<String>,
    /// New importance, 0..1.
    #[serde(default)]
    pub importance: Option<f64>,
    /// private, shared or public.
    #[serde(default)]
    pub visibility: Option<String>,
    /// New type.
    #[serde(default)]
    pub memory_type: Option<String>,
}

impl MemoryPatch {
    /// The checks of every field given, in field order; answers the new content, trimmed.
    fn check(&self) -> Result<Option<String>, AppError> {
        if let Some(v) = self.importance.filter(|v| !(0.0..=1.0).contains(v)) {
            return Err(AppError::invalid(
                "importance",
                format!("importance must be between 0.0 and 1.0, got {v}"),
            ));
        }
        if self
            .visibility
            .as_deref()
            .is_some_and(|v| Visibility::parse(v).is_none())
        {
            return Err(AppError::invalid(
                "visibility",
                "visibility must be private, shared or public",
            ));
        }
        if self
            .memory_type
            .as_deref()
            .is_some_and(|t| t.trim().is_empty() || t.len() > 64)
        {
            return Err(AppError::invalid(
                "memory_type",
                "memory_type must be 1 to 64 characters",
            ));
        }
        let content = self.content.as_deref().map(|c| c.trim().to_string());
        match &content {
            Some(c) if c.is_empty() => Err(AppError::invalid("content", "content must not be empty")),
            Some(c) if c.len() > MAX_CONTENT_BYTES => {
                Err(AppError::invalid("content", "content must be at most 32 KiB"))
            }
            _ => Ok(content),
        }
    }
}

/// Changes the fields `patch` gives of the memory `memory_id` (new content is embedded anew before the answer);
/// answers the memory after the change.
pub async fn update(core: &Core, memory_id: &str, patch: MemoryPatch) -> Result<MemoryView, AppError> {
    let content = patch.check()?;
    let old = stored(core, memory_id).await?;
    let missing = || AppError::MemoryNotFound(memory_id.to_string());
    if let Some(c) = content.filter(|c| *c != old.memory.content) {
        if !core.memory.edit_content(&old, c).await? {
            return Err(missing());
        }
    }
    let found = core
        .store
        .memories()
        .edit(old.key, patch.importance, patch.visibility, patch.memory_type)
        .await?;
    if !found {
        return Err(missing());
    }
    Ok(stored(core, memory_id).await?.memory.into())
}

/// Deletes the memories `ids` names (at most 10,000); the ids that name none are reported, not an error.
pub async fn bulk_delete(core: &Core, ids: &[String]) -> Result<BulkDeleted, AppError> {
    if ids.len() > MAX_BULK_DELETE {
        return Err(AppError::invalid("ids", "at most 10000 ids at once"));
    }
    let mut found = Vec::new();
    let mut not_found = Vec::new();
    for id in ids {
        match stored(core, id).await {
            Ok(s) => found.push(s),
            Err(AppError::MemoryNotFound(_)) => not_found.push(id.clone()),
            Err(e) => return Err(e),
        }
    }
    let deleted = core.memory.remove(&found).await?;
    Ok(BulkDeleted { deleted, not_found })
}
