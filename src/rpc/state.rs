//! `state.*`: save, load, verify, list and delete state files (SURFACES.md "State files").

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::context::Ctx;
use super::persona::NoParams;
use super::router::{Params, Router};
use crate::actors::registry::ActiveConversations;
use crate::error::AppError;
use crate::state::load::{files, load};
use crate::state::StateError;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "state.save",
        "Write a snapshot of everything to a state file in the data directory",
        save,
    );
    r.method(
        "state.load",
        "Replace everything with a state file (needs a path or confirm: true)",
        load_state,
    );
    r.method("state.verify", "Check a state file without loading it", verify);
    r.method("state.list", "The state files in the data directory", list);
    r.method("state.delete", "Delete a state file by name", delete);
}

/// `state.save` / `state.verify` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct PathParams {
    /// A file under the data directory (relative paths are taken in `<data_dir>/state/`); default: a new
    /// timestamped file (save) or the newest save (verify).
    #[serde(default)]
    pub path: Option<String>,
}
impl Params for PathParams {}

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
impl Params for LoadParams {}

/// `state.delete` params.
#[derive(Deserialize, JsonSchema)]
pub struct DeleteParams {
    /// File name as `state.list` gives it.
    pub name: String,
}
impl Params for DeleteParams {}

/// The session's current persona and its chat conversation (both null when none).
async fn session_state(ctx: &Ctx) -> Result<(Option<String>, Option<String>), AppError> {
    let Some(persona) = ctx.conn.current_persona() else {
        return Ok((None, None));
    };
    if ctx.app.store.personas().get(persona).await?.is_none() {
        return Ok((None, None));
    }
    let conversation = ctx
        .app
        .store
        .conversations()
        .find(&ctx.conn.session_id(), persona, "")
        .await?
        .map(|c| c.id.to_string());
    Ok((Some(persona.to_string()), conversation))
}

async fn save(ctx: Ctx, p: PathParams) -> Result<Value, AppError> {
    let files = files(&ctx.app);
    let path = p.path.as_deref().map(|s| files.resolve(s)).transpose()?;
    let saved = files.save(path).await?;
    tracing::info!(path = %saved.path.display(), bytes = saved.bytes, "state saved");
    let (current_persona_id, current_conversation_id) = session_state(&ctx).await?;
    let dialogues = ctx.app.store.dialogues().active_count().await?;
    let active = ctx.app.registry.send(ActiveConversations).await? + dialogues as usize;
    Ok(json!({
        "state_saved": true,
        "state": {
            "current_persona_id": current_persona_id,
            "current_conversation_id": current_conversation_id,
            "active_conversations": active,
            "timestamp": Utc::now(),
        },
        "path": saved.path,
        "bytes": saved.bytes,
        "checksum": saved.checksum,
        "format_version": saved.format_version,
        "timestamp": saved.timestamp,
        "counts": saved.counts,
    }))
}

async fn load_state(ctx: Ctx, p: LoadParams) -> Result<Value, AppError> {
    let files = files(&ctx.app);
    if p.path.is_none() && !p.confirm {
        let (current_persona_id, current_conversation_id) = session_state(&ctx).await?;
        return Ok(json!({
            "state_loaded": false,
            "message": "Nothing loaded: name a path, or send confirm: true to load the newest save",
            "current_persona_id": current_persona_id,
            "current_conversation_id": current_conversation_id,
            "available_saves": files.list()?,
        }));
    }
    let path = files.pick(p.path.as_deref().map(|s| files.resolve(s)).transpose()?)?;
    let loaded = load(&ctx.app, path.clone()).await?;
    let (current_persona_id, current_conversation_id) = session_state(&ctx).await?;
    if current_persona_id.is_none() {
        ctx.conn.set_current_persona(None);
    }
    let count = |t: &str| loaded.counts.get(t).copied().unwrap_or(0);
    Ok(json!({
        "state_loaded": true,
        "current_persona_id": current_persona_id,
        "current_conversation_id": current_conversation_id,
        "personas": count("personas"),
        "memories": count("memories"),
        "relationships": count("relationships"),
        "conversations": count("chat_conversations") + count("dialogues"),
        "path": path,
        "counts": loaded.counts,
        "reembedding": loaded.reembedding,
    }))
}

async fn verify(ctx: Ctx, p: PathParams) -> Result<Value, AppError> {
    let files = files(&ctx.app);
    let path = files.pick(p.path.as_deref().map(|s| files.resolve(s)).transpose()?)?;
    let v = match files.verify(path.clone()).await {
        Ok(v) => v,
        Err(StateError::Refused(reason)) => {
            return Ok(json!({ "valid": false, "path": path, "reason": reason }));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(json!({
        "valid": true,
        "path": path,
        "format_version": v.header.format_version,
        "counts": v.header.counts,
        "checksum": v.checksum,
        "bytes": v.bytes,
        "created_at": v.header.created_at,
    }))
}

async fn list(ctx: Ctx, _: NoParams) -> Result<Value, AppError> {
    Ok(json!({ "saves": files(&ctx.app).list()? }))
}

async fn delete(ctx: Ctx, p: DeleteParams) -> Result<Value, AppError> {
    let path = files(&ctx.app).delete(&p.name)?;
    Ok(json!({ "deleted": true, "name": p.name, "path": path }))
}
