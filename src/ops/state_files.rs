//! State files (SURFACES.md "State files"): save, load, verify, list and delete snapshots of everything.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actors::registry::ActiveConversations;
use crate::app::Core;
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::target::Session;
use crate::state::load::{files, load};
use crate::state::{SaveInfo, StateError};

/// `state.save` / `state.verify` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct PathParams {
    /// A file under the data directory (relative paths are taken in `<data_dir>/state/`); default: a new
    /// timestamped file (save) or the newest save (verify).
    #[serde(default)]
    pub path: Option<String>,
}
impl Input for PathParams {}

/// `state.load` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct LoadParams {
    /// The state file; default the newest save (only with `confirm`).
    #[serde(default)]
    pub path: Option<String>,
    /// Load the newest save without naming it.
    #[serde(default)]
    pub confirm: bool,
}
impl Input for LoadParams {}

/// `state.delete` params.
#[derive(Deserialize, JsonSchema)]
pub struct DeleteParams {
    /// File name as `state.list` gives it.
    pub name: String,
}
impl Input for DeleteParams {}

/// The session's current persona and its chat conversation (both null when none).
async fn session_state(core: &Core, session: &Session) -> Result<(Option<String>, Option<String>), AppError> {
    let Some(persona) = session.current_persona else {
        return Ok((None, None));
    };
    if core.store.personas().get(persona).await?.is_none() {
        return Ok((None, None));
    }
    let conversation = core
        .store
        .conversations()
        .find(&session.session_id, persona, "")
        .await?
        .map(|c| c.id.to_string());
    Ok((Some(persona.to_string()), conversation))
}

/// The session's state when a save was taken.
#[derive(Serialize, JsonSchema)]
pub struct SessionState {
    /// The current persona, if any.
    pub current_persona_id: Option<String>,
    /// Its chat conversation, if any.
    pub current_conversation_id: Option<String>,
    /// Live chat conversations and running dialogues.
    pub active_conversations: usize,
    /// Now.
    pub timestamp: DateTime<Utc>,
}

/// `state.save` result.
#[derive(Serialize, JsonSchema)]
pub struct SaveResult {
    /// Always true.
    pub state_saved: bool,
    /// The session's state.
    pub state: SessionState,
    /// Where the file was written.
    pub path: String,
    /// File size.
    pub bytes: u64,
    /// Hex SHA-256 of the file.
    pub checksum: String,
    /// Format written.
    pub format_version: String,
    /// When the snapshot was taken.
    pub timestamp: String,
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
}

/// Writes a snapshot of everything to a state file in the data directory.
pub async fn save(core: &Core, session: &Session, p: PathParams) -> Result<SaveResult, AppError> {
    let files = files(core);
    let path = p.path.as_deref().map(|s| files.resolve(s)).transpose()?;
    let saved = files.save(path).await?;
    tracing::info!(path = %saved.path.display(), bytes = saved.bytes, "state saved");
    let (current_persona_id, current_conversation_id) = session_state(core, session).await?;
    let dialogues = core.store.dialogues().active_count().await?;
    let active = core.registry.send(ActiveConversations).await? + dialogues as usize;
    Ok(SaveResult {
        state_saved: true,
        state: SessionState {
            current_persona_id,
            current_conversation_id,
            active_conversations: active,
            timestamp: Utc::now(),
        },
        path: saved.path.display().to_string(),
        bytes: saved.bytes,
        checksum: saved.checksum,
        format_version: saved.format_version,
        timestamp: saved.timestamp,
        counts: saved.counts,
    })
}

/// `state.load` result: a report (nothing loaded, `available_saves`) or what was loaded.
#[derive(Serialize, JsonSchema, Default)]
pub struct LoadResult {
    /// Whether anything was loaded.
    pub state_loaded: bool,
    /// Why nothing was loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The session's current persona afterwards.
    pub current_persona_id: Option<String>,
    /// Its chat conversation afterwards.
    pub current_conversation_id: Option<String>,
    /// The saves that could be loaded (report only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_saves: Option<Vec<SaveInfo>>,
    /// Personas loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personas: Option<u64>,
    /// Memories loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memories: Option<u64>,
    /// Relationships loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationships: Option<u64>,
    /// Chat conversations and dialogues loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations: Option<u64>,
    /// The file loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Rows per table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<BTreeMap<String, u64>>,
    /// Memories queued for re-embedding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reembedding: Option<usize>,
}

/// Replaces everything with a state file (needs a path or `confirm`); without either, a report of the saves.
pub async fn load_state(core: &Core, session: &Session, p: LoadParams) -> Result<LoadResult, AppError> {
    let files = files(core);
    if p.path.is_none() && !p.confirm {
        let (current_persona_id, current_conversation_id) = session_state(core, session).await?;
        return Ok(LoadResult {
            message: Some("Nothing loaded: name a path, or send confirm: true to load the newest save".into()),
            current_persona_id,
            current_conversation_id,
            available_saves: Some(files.list()?),
            ..LoadResult::default()
        });
    }
    let path = files.pick(p.path.as_deref().map(|s| files.resolve(s)).transpose()?)?;
    let loaded = load(core, path.clone()).await?;
    let (current_persona_id, current_conversation_id) = session_state(core, session).await?;
    let count = |t: &str| loaded.counts.get(t).copied().unwrap_or(0);
    Ok(LoadResult {
        state_loaded: true,
        current_persona_id,
        current_conversation_id,
        personas: Some(count("personas")),
        memories: Some(count("memories")),
        relationships: Some(count("relationships")),
        conversations: Some(count("chat_conversations") + count("dialogues")),
        path: Some(path.display().to_string()),
        reembedding: Some(loaded.reembedding),
        counts: Some(loaded.counts),
        ..LoadResult::default()
    })
}

/// `state.verify` result.
#[derive(Serialize, JsonSchema, Default)]
pub struct VerifyResult {
    /// Whether the file is a complete, loadable snapshot.
    pub valid: bool,
    /// The file checked.
    pub path: String,
    /// Why it is not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_version: Option<String>,
    /// Rows per table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<BTreeMap<String, u64>>,
    /// Hex SHA-256 of the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// File size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// When it was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Checks a state file without loading it.
pub async fn verify(core: &Core, p: PathParams) -> Result<VerifyResult, AppError> {
    let files = files(core);
    let path = files.pick(p.path.as_deref().map(|s| files.resolve(s)).transpose()?)?;
    let shown = path.display().to_string();
    match files.verify(path).await {
        Ok(v) => Ok(VerifyResult {
            valid: true,
            path: shown,
            format_version: Some(v.header.format_version),
            counts: Some(v.header.counts),
            checksum: Some(v.checksum),
            bytes: Some(v.bytes),
            created_at: Some(v.header.created_at),
            ..VerifyResult::default()
        }),
        Err(StateError::Refused(reason)) => Ok(VerifyResult {
            path: shown,
            reason: Some(reason),
            ..VerifyResult::default()
        }),
        Err(e) => Err(e.into()),
    }
}

/// `state.list` result.
#[derive(Serialize, JsonSchema)]
pub struct ListResult {
    /// The saves, newest first.
    pub saves: Vec<SaveInfo>,
}

/// The state files in the data directory.
pub fn list(core: &Core) -> Result<ListResult, AppError> {
    Ok(ListResult {
        saves: files(core).list()?,
    })
}

/// `state.delete` result.
#[derive(Serialize, JsonSchema)]
pub struct DeleteResult {
    /// Always true.
    pub deleted: bool,
    /// The name given.
    pub name: String,
    /// The file removed.
    pub path: String,
}

/// Deletes a state file by name.
pub fn delete(core: &Core, p: DeleteParams) -> Result<DeleteResult, AppError> {
    let path = files(core).delete(&p.name)?;
    Ok(DeleteResult {
        deleted: true,
        name: p.name,
        path: path.display().to_string(),
    })
}
