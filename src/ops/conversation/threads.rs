//! The topic threads of a session's chat conversations.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::Core;
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::results::threads::{ThreadList, ThreadView};

/// `conversation.threads` params.
#[derive(Deserialize, JsonSchema)]
pub struct ThreadsParams {
    /// Only the conversation with this persona (id or name, case-insensitive); default: every persona.
    #[serde(default)]
    pub persona_id: Option<String>,
}

impl Input for ThreadsParams {}

/// The topic threads of the chat conversations of the session `session_id` (the caller's), only those with the
/// persona `persona` names when it is given, most recently active first.
pub async fn threads(core: &Core, session_id: String, persona: Option<&str>) -> Result<ThreadList, AppError> {
    let persona = match persona.filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(core.resolve_persona(key).await?.id),
        None => None,
    };
    let threads: Vec<ThreadView> = core
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
