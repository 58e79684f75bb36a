//! Many memories of one persona (a character's history) at once, all or nothing: every item is checked before
//! anything is stored, the rows go in one transaction, and the answer comes once they are all embedded (in
//! batches) and indexed, so a search finds them by meaning as soon as it arrives.

use schemars::JsonSchema;
use serde::Deserialize;

use super::items::NewMemory;
use crate::app::Core;
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::results::memory::Imported;
use crate::ops::target::{self, Target};

/// Most memories one `memory.import` takes.
pub const MAX_IMPORT: usize = 1000;

/// `memory.import` params.
#[derive(Deserialize, JsonSchema)]
pub struct ImportParams {
    /// Owner of every memory (id or name); default: the current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// The memories, 1..1000, each with the fields of `memory.store` (but `persona_id`); stored in this order.
    pub memories: Vec<NewMemory>,
}

/// `error` about a field of the item at `index`, renamed `memories[index].field`.
fn at(index: usize, error: AppError) -> AppError {
    match error {
        AppError::InvalidParam { field, message } => {
            let named = format!("memories[{index}].{field}");
            let message = match message.strip_prefix(field.as_str()) {
                Some(rest) => format!("{named}{rest}"),
                None => format!("{named}: {message}"),
            };
            AppError::invalid(named, message)
        }
        other => other,
    }
}

impl Input for ImportParams {
    fn validate(&self) -> Result<(), AppError> {
        if self.memories.is_empty() || self.memories.len() > MAX_IMPORT {
            return Err(AppError::invalid(
                "memories",
                format!("memories must hold between 1 and {MAX_IMPORT} memories"),
            ));
        }
        for (i, m) in self.memories.iter().enumerate() {
            m.validate().map_err(|e| at(i, e))?;
        }
        Ok(())
    }
}

/// Stores `memories` as memories of the persona `owner` targets, in this order, all or nothing; an error about
/// one names it (`memories[k].field`).
pub async fn import(core: &Core, owner: Target<'_>, memories: Vec<NewMemory>) -> Result<Imported, AppError> {
    for (i, m) in memories.iter().enumerate() {
        m.check_size(core).map_err(|e| at(i, e))?;
    }
    let owner = target::persona(core, owner).await?;
    let mut built = Vec::with_capacity(memories.len());
    for (i, m) in memories.into_iter().enumerate() {
        built.push(m.build(core, &owner).await.map_err(|e| at(i, e))?);
    }
    let stored = core.memory.store(built, true).await?;
    Ok(Imported {
        status: "success",
        imported: stored.len(),
        memory_ids: stored.iter().map(|s| s.memory.id).collect(),
        persona_id: owner.id,
    })
}
