//! Persona state repository: the interaction state and the emotional state of each persona, written with the
//! version of the persona actor that owns them so that a late write never overwrites a newer one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::notify::{self, Topic};
use super::sql::{emotions, states, write_tx, Db};
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

/// Both states of a persona as stored, each with its version.
#[derive(Debug, Clone)]
pub struct StoredStates {
    /// The interaction state and its version.
    pub interaction: (InteractionState, i64),
    /// The emotional state and its version.
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

    /// Changes both states of `persona` as one step on the stored values: read under the write lock (`fallback`
    /// and the initial feelings as of `now` when none are stored), changed by `change`, written back under the
    /// next versions and announced to the other instances sharing the database, in one transaction. The write
    /// path of several instances, whose cached copies may be stale; answers the states as stored and what
    /// `change` answered.
    pub async fn update<R, F>(
        &self,
        persona: Uuid,
        fallback: InteractionState,
        now: DateTime<Utc>,
        change: F,
    ) -> Result<(StoredStates, R), StorageError>
    where
        F: FnOnce(&mut InteractionState, &mut EmotionalState) -> R + Send + 'static,
        R: Send + 'static,
    {
        let origin = self.db.instance();
        self.db
            .write(move |c| {
                write_tx(c, |c| {
                    let (mut state, version) = states::load(c, persona)?.unwrap_or((fallback, 0));
                    let (mut feelings, feelings_version) =
                        emotions::load(c, persona)?.unwrap_or_else(|| (EmotionalState::initial(now), 0));
                    let answer = change(&mut state, &mut feelings);
                    states::upsert(c, persona, &state, version + 1)?;
                    emotions::save(c, persona, &feelings, feelings_version + 1)?;
                    notify::announce(c, origin, Topic::State, persona)?;
                    let stored = StoredStates {
                        interaction: (state, version + 1),
                        emotions: (feelings, feelings_version + 1),
                    };
                    Ok((stored, answer))
                })
            })
            .await
            .map_err(|e| e.about(persona))
    }

    /// Both states of `persona` as stored, read without the write lock; `None` for one that is not stored.
    pub async fn read(
        &self,
        persona: Uuid,
    ) -> Result<(Option<(InteractionState, i64)>, Option<(EmotionalState, i64)>), StorageError> {
        self.db
            .run(move |c| Ok((states::load(c, persona)?, emotions::load(c, persona)?)))
            .await
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
