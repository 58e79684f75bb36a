//! The scene personas see: a description written into their next prompts until replaced, for one persona or for
//! every persona (the shared scene).

use chrono::Utc;

use crate::app::Core;
use crate::domain::scene::Scene;
use crate::error::AppError;

/// Stores the scene the persona `persona` names sees (every persona's without one); an empty description removes
/// it. -32602 naming `data.description` when it is longer than a chat message may be.
pub async fn set(core: &Core, persona: Option<&str>, description: &str) -> Result<Scene, AppError> {
    let persona = match persona.filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(core.resolve_persona(key).await?.id),
        None => None,
    };
    let max = core.settings.current().chat.max_message_bytes;
    if description.len() > max {
        return Err(AppError::invalid(
            "data.description",
            format!("data.description must be at most {max} bytes"),
        ));
    }
    let scene = Scene {
        persona_id: persona,
        description: description.trim().to_string(),
        updated_at: Utc::now(),
    };
    core.store.scenes().set(scene.clone()).await?;
    Ok(scene)
}
