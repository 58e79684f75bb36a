//! The log of vector changes other processes on the same database read to keep their own vector indexes in
//! step; reached through [`super::Store::vector_changes`].

use super::sql::{vector_changes, Db};
pub use super::vector_log::{Change, VectorChange};
use super::StorageError;

/// The vector change log.
pub struct VectorChanges<'a> {
    db: &'a Db,
}

impl<'a> VectorChanges<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// The newest sequence number, read on the calling thread (start-up).
    pub fn last_seq_now(&self) -> Result<i64, StorageError> {
        let mut conn = self.db.conn()?;
        vector_changes::last_seq(&mut conn)
    }

    /// The oldest sequence number still in the log.
    pub async fn first_seq(&self) -> Result<Option<i64>, StorageError> {
        self.db.run(vector_changes::first_seq).await
    }

    /// At most `limit` changes after `seq`, oldest first.
    pub async fn after(&self, seq: i64, limit: i64) -> Result<Vec<VectorChange>, StorageError> {
        self.db.run(move |c| vector_changes::after(c, seq, limit)).await
    }

    /// The stored vectors of `keys` made by `embedder`.
    pub async fn vectors(&self, embedder: String, keys: Vec<i64>) -> Result<Vec<(i64, Vec<f32>)>, StorageError> {
        self.db.run(move |c| vector_changes::vectors(c, &embedder, &keys)).await
    }

    /// Forgets changes recorded before `before` (unix seconds).
    pub async fn prune(&self, before: i64) -> Result<usize, StorageError> {
        self.db.write(move |c| vector_changes::prune(c, before)).await
    }
}
