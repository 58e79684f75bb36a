//! Params shared by several namespaces, and how a call picks the persona it acts on.

use schemars::JsonSchema;
use serde::Deserialize;

use super::context::Ctx;
use super::router::Params;
use crate::actors::persona::Snapshot;
use crate::domain::persona::Persona;
use crate::error::AppError;

/// No parameters.
#[derive(Deserialize, JsonSchema, Default)]
pub struct NoParams {}
impl Params for NoParams {}

/// A persona named by id or name.
#[derive(Deserialize, JsonSchema)]
pub struct PersonaRef {
    /// Persona id or name (case-insensitive).
    pub persona_id: String,
}
impl Params for PersonaRef {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("persona_id", &self.persona_id)
    }
}

/// An optional persona (default: the current one).
#[derive(Deserialize, JsonSchema, Default)]
pub struct MaybePersona {
    /// Persona id or name; default: the connection's current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
}
impl Params for MaybePersona {}

/// Fails with "`field` is required" when `value` is blank.
pub fn non_empty(field: &str, value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() {
        Err(AppError::required(field))
    } else {
        Ok(())
    }
}

/// The persona a call acts on: the one named by `persona_id` (id or name), or else the connection's current
/// persona (-32002 when there is none), so that clients without a connection of their own (stateless MCP hosts)
/// can name the persona on every call.
pub async fn target_persona(ctx: &Ctx, persona_id: Option<&str>) -> Result<Persona, AppError> {
    Ok(target_snapshot(ctx, persona_id).await?.0)
}

/// [`target_persona`], with the snapshot its running actor gave when the current persona was read from it (no
/// database read then), so that a chat turn need not ask the actor again.
pub async fn target_snapshot(ctx: &Ctx, persona_id: Option<&str>) -> Result<(Persona, Option<Snapshot>), AppError> {
    if let Some(key) = persona_id.filter(|s| !s.trim().is_empty()) {
        return Ok((ctx.app.resolve_persona(key).await?, None));
    }
    let id = ctx.require_current()?;
    Ok(match ctx.app.running_snapshot(id).await? {
        Some(snapshot) => (snapshot.persona.clone(), Some(snapshot)),
        None => (ctx.app.persona_by_id(id).await?, None),
    })
}
