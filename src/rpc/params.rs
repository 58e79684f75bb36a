//! How a JSON-RPC call picks the persona it acts on; the inputs several namespaces share are the operation
//! layer's ([`crate::ops::input`]).

pub use crate::ops::input::{non_empty, MaybePersona, NoParams, PersonaRef};

use super::context::Ctx;
use crate::actors::persona::Snapshot;
use crate::domain::persona::Persona;
use crate::error::AppError;
use crate::ops::target::{self, Session, Target};

/// The connection's view of who a call acts on: `persona_id` when given, else its current persona.
pub fn acting<'a>(ctx: &Ctx, persona_id: Option<&'a str>) -> Target<'a> {
    Target {
        named: persona_id,
        current: ctx.conn.current_persona(),
    }
}

/// The connection's session: its current persona and session id.
pub fn session(ctx: &Ctx) -> Session {
    Session {
        current_persona: ctx.conn.current_persona(),
        session_id: ctx.conn.session_id(),
    }
}

/// The persona a call acts on: the one named by `persona_id` (id or name), or else the connection's current
/// persona (-32002 when there is none), so that clients without a connection of their own (stateless MCP hosts)
/// can name the persona on every call.
pub async fn target_persona(ctx: &Ctx, persona_id: Option<&str>) -> Result<Persona, AppError> {
    target::persona(&ctx.app, acting(ctx, persona_id)).await
}

/// [`target_persona`], with the snapshot its running actor gave when the current persona was read from it (no
/// database read then), so that a chat turn need not ask the actor again.
pub async fn target_snapshot(ctx: &Ctx, persona_id: Option<&str>) -> Result<(Persona, Option<Snapshot>), AppError> {
    target::snapshot(&ctx.app, acting(ctx, persona_id)).await
}
