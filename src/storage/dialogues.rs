//! Dialogue repository: persona-to-persona conversations and their turns.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::{dialogues, Db};
use super::StorageError;
use crate::domain::dialogue::{Dialogue, DialogueTurn};

/// Dialogues; reached through [`super::Store::dialogues`].
pub struct Dialogues<'a> {
    db: &'a Db,
}

impl<'a> Dialogues<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Stores a new dialogue.
    pub async fn insert(&self, dialogue: Dialogue) -> Result<(), StorageError> {
        let persona = dialogue.persona1_id;
        self.db
            .write(move |c| dialogues::insert(c, &dialogue))
            .await
            .map_err(|e| e.about(persona))
    }

    /// The dialogue with its turns.
    pub async fn get(&self, id: Uuid) -> Result<Option<Dialogue>, StorageError> {
        self.db.run(move |c| dialogues::get(c, id)).await
    }

    /// Dialogues, newest first, optionally of one persona and/or only active ones.
    pub async fn list(&self, persona: Option<Uuid>, active_only: bool) -> Result<Vec<Dialogue>, StorageError> {
        self.db.run(move |c| dialogues::list(c, persona, active_only)).await
    }

    /// Appends a turn and counts its tokens.
    pub async fn add_turn(&self, id: Uuid, turn: DialogueTurn) -> Result<(), StorageError> {
        let persona = turn.speaker_id;
        self.db
            .write(move |c| dialogues::add_turn(c, id, &turn))
            .await
            .map_err(|e| e.about(persona))
    }

    /// Marks a dialogue ended.
    pub async fn end(&self, id: Uuid, at: DateTime<Utc>, reason: String) -> Result<(), StorageError> {
        self.db.write(move |c| dialogues::end(c, id, at, &reason)).await
    }

    /// Number of active dialogues.
    pub async fn active_count(&self) -> Result<i64, StorageError> {
        self.db.run(dialogues::active_count).await
    }
}
