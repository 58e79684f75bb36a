//! Persona repository: persona cards, found by id or by name.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::{personas, Db};
use super::StorageError;
use crate::domain::persona::{InteractionState, Persona, PersonaChanges};

/// Persona cards; reached through [`super::Store::personas`].
pub struct Personas<'a> {
    db: &'a Db,
}

impl<'a> Personas<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Every persona in creation order.
    pub async fn list(&self) -> Result<Vec<Persona>, StorageError> {
        self.db.run(personas::list).await
    }

    /// The persona with this id.
    pub async fn get(&self, id: Uuid) -> Result<Option<Persona>, StorageError> {
        self.db.run(move |c| personas::get(c, id)).await
    }

    /// The persona named by an id or (case-insensitively) a name.
    pub async fn find(&self, id_or_name: &str) -> Result<Option<Persona>, StorageError> {
        let key = id_or_name.to_string();
        self.db.run(move |c| personas::find(c, &key)).await
    }

    /// Stores a new persona with its initial interaction state; a taken name is a [`StorageError::Conflict`].
    pub async fn insert(&self, persona: Persona, state: InteractionState) -> Result<(), StorageError> {
        self.db.write(move |c| personas::insert(c, &persona, &state)).await
    }

    /// Changes the given fields of a persona's card at `now`, atomically (concurrent updates of other fields
    /// are kept); answers the stored card, `None` when there is no such persona. A taken name is a
    /// [`StorageError::Conflict`].
    pub async fn update(
        &self,
        id: Uuid,
        changes: PersonaChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<Persona>, StorageError> {
        self.db.write(move |c| personas::update(c, id, changes, now)).await
    }

    /// Deletes a persona and everything that belongs to it; false when there was none.
    pub async fn delete(&self, id: Uuid) -> Result<bool, StorageError> {
        self.db.write(move |c| personas::delete(c, id)).await
    }
}
