//! Persona state repository: the interaction state and the emotional state of each persona, written with the
//! version of the persona actor that owns them so that a late write never overwrites a newer one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sqlite::{emotions, states, Db};
use super::StorageError;
use crate::domain::emotion::EmotionalState;
use crate::domain::persona::InteractionState;

/// What a persona actor starts from: its stored interaction state (if any) and its emotional state, each with
/// its version.
pub struct LoadedStates {
    /// The interaction state and its version; `None` when none was stored.
    pub interaction: Option<(InteractionState, i64)>,
    /// The emotional state and its version (stored at version 0 on first load).
    pub emotions: (EmotionalState, i64),
}

/// Persona states; reached through [`super::Store::states`].
pub struct States<'a> {
    db: &'a Db,
}

impl<'a> States<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Both states of `persona`; the initial emotional state is stored (as of `now`) when there is none.
    pub async fn load(&self, persona: Uuid, now: DateTime<Utc>) -> Result<LoadedStates, StorageError> {
        self.db
            .write(move |c| {
                Ok(LoadedStates {
                    interaction: states::load(c, persona)?,
                    emotions: emotions::load_or_init(c, persona, now)?,
                })
            })
            .await
            .map_err(|e| e.about(persona))
    }

    /// Stores the interaction state unless a newer version is stored.
    pub async fn save_interaction(
        &self,
        persona: Uuid,
        state: InteractionState,
        version: i64,
    ) -> Result<(), StorageError> {
        self.db
            .write(move |c| states::upsert(c, persona, &state, version))
            .await
            .map_err(|e| e.about(persona))
    }

    /// Stores the emotional state unless a newer version is stored.
    pub async fn save_emotions(&self, persona: Uuid, state: EmotionalState, version: i64) -> Result<(), StorageError> {
        self.db
            .write(move |c| emotions::save(c, persona, &state, version))
            .await
            .map_err(|e| e.about(persona))
    }
}
