//! `conversation.threads`: the topic threads of a session's chat conversations (the connection's session, or the
//! one its `session_id` param resumes, as on every method).

use schemars::JsonSchema;
use serde::Deserialize;

use super::context::Ctx;
use super::results::threads::{ThreadList, ThreadView};
use super::router::{Params, Router};
use crate::error::AppError;

/// Registers the method.
pub fn register(r: &mut Router) {
    r.method(
        "conversation.threads",
        "Topic threads of this session's chat conversations (one persona, or all)",
        threads,
    );
}

/// `conversation.threads` params.
#[derive(Deserialize, JsonSchema)]
pub struct ThreadsParams {
    /// Only the conversation with this persona (id or name, case-insensitive); default: every persona.
    #[serde(default)]
    pub persona_id: Option<String>,
}

impl Params for ThreadsParams {}

async fn threads(ctx: Ctx, p: ThreadsParams) -> Result<ThreadList, AppError> {
    let persona = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(ctx.app.resolve_persona(key).await?.id),
        None => None,
    };
    let session_id = ctx.conn.session_id();
    let threads: Vec<ThreadView> = ctx
        .app
        .store
        .threads()
        .of_session(&session_id, persona)
        .await?
        .into_iter()
        .map(|(t, persona)| ThreadView::of(t, persona))
        .collect();
    Ok(ThreadList {
        session_id,
        count: threads.len(),
        threads,
    })
}
