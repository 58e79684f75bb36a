//! A persona's avatar image: stored by content hash under the data dir, its address on the card.

use chrono::Utc;
use uuid::Uuid;

use crate::actors::registry::CardChanged;
use crate::app::Core;
use crate::domain::persona::{Persona, PersonaChanges};
use crate::error::AppError;
use crate::storage::avatars;

/// Stores `bytes` (an image whose type `ext` was told by its first bytes) as the avatar of the persona `key`
/// names; `url` gives the address it is served at from the persona's id and the stored file's name. Answers the
/// card after the change (the running persona gets it too).
pub async fn set(
    core: &Core,
    key: &str,
    bytes: Vec<u8>,
    ext: &'static str,
    url: impl FnOnce(Uuid, &str) -> String,
) -> Result<Persona, AppError> {
    let persona = core.resolve_persona(key).await?;
    let name = avatars::save(&core.settings.current().storage.data_dir, bytes, ext).await?;
    let changes = PersonaChanges {
        avatar_url: Some(Some(url(persona.id, &name))),
        ..Default::default()
    };
    let persona = core
        .store
        .personas()
        .update(persona.id, changes, Utc::now())
        .await?
        .ok_or_else(|| AppError::PersonaNotFound(persona.id.to_string()))?;
    core.registry.do_send(CardChanged(persona.clone()));
    Ok(persona)
}

/// The avatar of the persona `key` names: its bytes and stored file name; `None` without one.
pub async fn get(core: &Core, key: &str) -> Result<Option<(Vec<u8>, String)>, AppError> {
    let persona = core.resolve_persona(key).await?;
    Ok(avatars::read(&core.settings.current().storage.data_dir, persona.avatar_url.as_deref()).await?)
}
