//! The persona an operation acts on, as the caller's front door knows it.

use uuid::Uuid;

use crate::actors::persona::Snapshot;
use crate::app::Core;
use crate::domain::persona::Persona;
use crate::error::AppError;

/// Who a call acts on: the persona the call names (id or name), else the caller's current persona (a WebSocket
/// connection's `persona.switch`; none for stateless MCP hosts and the admin API, which name it on every call).
#[derive(Clone, Copy, Default)]
pub struct Target<'a> {
    /// The persona named in the call (blank counts as not named).
    pub named: Option<&'a str>,
    /// The caller's current persona.
    pub current: Option<Uuid>,
}

impl<'a> Target<'a> {
    /// The persona named by `key` (id or name).
    pub fn named(key: &'a str) -> Self {
        Self {
            named: Some(key),
            current: None,
        }
    }
}

/// The caller's session as its front door knows it (the admin API has none of its own: a fresh one per call).
pub struct Session {
    /// Its current persona.
    pub current_persona: Option<Uuid>,
    /// Its session id (the chat conversations it resumes).
    pub session_id: String,
}

/// The current persona, or -32002 with the old server's wording.
pub fn require_current(current: Option<Uuid>) -> Result<Uuid, AppError> {
    current.ok_or(AppError::NoPersonaSelected(
        "No persona selected. Use persona.switch first",
    ))
}

/// The persona a call acts on (-32001 when the named one does not exist, -32002 when none is named or current).
pub async fn persona(core: &Core, target: Target<'_>) -> Result<Persona, AppError> {
    Ok(snapshot(core, target).await?.0)
}

/// [`persona`], with the snapshot its running actor gave when the current persona was read from it (no database
/// read then), so that a chat turn need not ask the actor again.
pub async fn snapshot(core: &Core, target: Target<'_>) -> Result<(Persona, Option<Snapshot>), AppError> {
    if let Some(key) = target.named.filter(|s| !s.trim().is_empty()) {
        return Ok((core.resolve_persona(key).await?, None));
    }
    let id = require_current(target.current)?;
    Ok(match core.running_snapshot(id).await? {
        Some(snapshot) => (snapshot.persona.clone(), Some(snapshot)),
        None => (core.persona_by_id(id).await?, None),
    })
}
