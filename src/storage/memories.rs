//! Memory repository: rows, keyword search, embeddings (the vector index's source of truth, keyed by the
//! memory's storage key), access counts, importance updates and pruning runs.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::sql::{keywords, memories, notify, Db};
use super::StorageError;
use crate::domain::memory::{Memory, MemoryGroup, PruneRun, StoredMemory};

/// The keyword hits of a search and the rows of every candidate, read together.
pub struct SearchRows {
    /// Keys of the keyword hits, best first.
    pub keyword_keys: Vec<i64>,
    /// The rows of the keyword hits and of the extra keys asked for (any order).
    pub rows: Vec<StoredMemory>,
}

/// Memories; reached through [`super::Store::memories`].
pub struct Memories<'a> {
    db: &'a Db,
}

impl<'a> Memories<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Stores memories in one transaction; answers them with their keys, in order.
    pub async fn insert(&self, new: Vec<Memory>) -> Result<Vec<StoredMemory>, StorageError> {
        let persona = new.first().map(|m| m.persona_id.to_string()).unwrap_or_default();
        self.db
            .write(move |c| {
                let keys = memories::insert(c, &new)?;
                Ok(keys
                    .into_iter()
                    .zip(new)
                    .map(|(key, memory)| StoredMemory { key, memory })
                    .collect())
            })
            .await
            .map_err(|e| e.about(persona))
    }

    /// Records the embeddings `embedder` made of stored memories.
    pub async fn set_embeddings(&self, embedder: String, vectors: Vec<(i64, Vec<f32>)>) -> Result<(), StorageError> {
        let origin = self.db.instance();
        self.db
            .write(move |c| {
                memories::set_embeddings(c, &embedder, &vectors)?;
                // Stored either way: the other instances find the vectors in the log at their next look.
                if let Err(e) = notify::announce(c, origin, notify::Topic::Vectors, Uuid::nil()) {
                    tracing::warn!(error = %e, "announcing new vectors to other instances failed");
                }
                Ok(())
            })
            .await
    }

    /// The memory with this id.
    pub async fn get(&self, id: Uuid) -> Result<Option<StoredMemory>, StorageError> {
        self.db.run(move |c| memories::get(c, id)).await
    }

    /// Every memory of a persona (or of all personas), oldest first.
    pub async fn all(&self, persona: Option<Uuid>) -> Result<Vec<StoredMemory>, StorageError> {
        self.db.run(move |c| memories::all(c, persona)).await
    }

    /// The newest `limit` memories of a persona, newest first.
    pub async fn recent(&self, persona: Uuid, limit: i64) -> Result<Vec<StoredMemory>, StorageError> {
        self.db.run(move |c| memories::recent(c, persona, limit)).await
    }

    /// The memories of `persona` (or of all personas) grouped by persona, type and visibility, with `day`'s
    /// count of new ones, computed by the database so no row or vector is loaded.
    pub async fn groups(&self, persona: Option<Uuid>, day: NaiveDate) -> Result<Vec<MemoryGroup>, StorageError> {
        self.db.run(move |c| memories::groups(c, persona, day)).await
    }

    /// Keyword search (BM25 ranked, within one persona or across all) for `text`, and the rows of its hits, in
    /// one trip.
    pub async fn search_rows(
        &self,
        persona: Option<Uuid>,
        text: String,
        limit: i64,
    ) -> Result<SearchRows, StorageError> {
        self.db
            .run(move |c| {
                let keyword_keys = keywords::keyword_search(c, persona, &text, limit)?;
                let mut keys = keyword_keys.clone();
                keys.sort_unstable();
                keys.dedup();
                Ok(SearchRows {
                    rows: memories::by_keys(c, &keys)?,
                    keyword_keys,
                })
            })
            .await
    }

    /// The memories with these keys (those still there), in no particular order.
    pub async fn by_keys(&self, keys: Vec<i64>) -> Result<Vec<StoredMemory>, StorageError> {
        self.db.run(move |c| memories::by_keys(c, &keys)).await
    }

    /// Deletes memories by key; answers how many went (a key already gone counts for nothing).
    pub async fn delete(&self, keys: Vec<i64>) -> Result<usize, StorageError> {
        self.db.write(move |c| memories::delete(c, &keys)).await
    }

    /// Counts search hits: one more access each, at `now`.
    pub async fn touch(&self, keys: Vec<i64>, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.db.write(move |c| memories::touch(c, &keys, now)).await
    }

    /// Changes the importance, visibility and type of one memory (the fields given); false when it is gone.
    pub async fn edit(
        &self,
        key: i64,
        importance: Option<f64>,
        visibility: Option<String>,
        memory_type: Option<String>,
    ) -> Result<bool, StorageError> {
        self.db
            .write(move |c| memories::edit(c, key, importance, visibility, memory_type))
            .await
    }

    /// Replaces one memory's content and clears its vector (to be embedded anew); false when it is gone.
    pub async fn edit_content(&self, key: i64, content: String) -> Result<bool, StorageError> {
        self.db.write(move |c| memories::edit_content(c, key, &content)).await
    }

    /// Sets new importances by key.
    pub async fn set_importance(&self, updates: Vec<(i64, f64)>) -> Result<(), StorageError> {
        self.db.write(move |c| memories::set_importance(c, &updates)).await
    }

    /// The stored vectors of these keys (those that have one).
    pub async fn embeddings(&self, keys: Vec<i64>) -> Result<Vec<(i64, Vec<f32>)>, StorageError> {
        self.db.run(move |c| memories::embeddings(c, &keys)).await
    }

    /// Memories without a vector from `embedder` (new, or made by another embedder): (key, persona, content).
    pub async fn unembedded(&self, embedder: String, limit: i64) -> Result<Vec<(i64, Uuid, String)>, StorageError> {
        self.db.run(move |c| memories::unembedded(c, &embedder, limit)).await
    }

    /// Calls `f` with each persona that owns memories and its vectors made by `embedder`, one persona at a
    /// time, on the calling thread (start-up).
    pub fn each_persona_vectors<E: From<StorageError>>(
        &self,
        embedder: &str,
        mut f: impl FnMut(Uuid, Vec<(i64, Vec<f32>)>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut conn = self.db.conn()?;
        for persona in memories::personas_with_memories(&mut conn)? {
            f(persona, memories::persona_embeddings(&mut conn, persona, embedder)?)?;
        }
        Ok(())
    }

    /// Records a pruning run.
    pub async fn record_prune_run(&self, run: PruneRun) -> Result<(), StorageError> {
        self.db.write(move |c| memories::record_prune_run(c, &run)).await
    }

    /// Every recorded pruning run, oldest first.
    pub async fn prune_runs(&self) -> Result<Vec<PruneRun>, StorageError> {
        self.db.run(memories::prune_runs).await
    }
}
