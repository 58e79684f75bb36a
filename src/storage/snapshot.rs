//! Snapshot repository: a consistent export of every table and an all-or-nothing import, row by row as JSON
//! (one JSON object per row, named by the logical columns). The state files of `crate::state` are built on
//! it, so a snapshot taken from one backend loads into another.

use super::sqlite::{snapshot, Db};
use super::StorageError;

/// Every table of a snapshot, parents before children: the order of export and import.
pub const TABLES: [&str; 14] = [
    "personas",
    "interaction_states",
    "emotional_states",
    "relationships",
    "interactions",
    "chat_conversations",
    "chat_threads",
    "chat_messages",
    "memories",
    "prune_runs",
    "dialogues",
    "dialogue_turns",
    "bots",
    "scenes",
];

/// Receives exported rows, table by table in [`TABLES`] order.
pub trait RowSink {
    /// One row of `table`, serialized as one JSON object (no trailing newline).
    fn row(&mut self, table: &str, json: &[u8]) -> Result<(), String>;
}

/// Yields the rows to import, table by table in [`TABLES`] order.
pub trait RowSource {
    /// The next row of `table` as one JSON object, or `None` when the table has no more rows.
    fn next_row(&mut self, table: &str) -> Result<Option<Vec<u8>>, String>;
}

/// Whole-database snapshots; reached through [`super::Store::snapshots`].
pub struct Snapshots<'a> {
    db: &'a Db,
}

impl<'a> Snapshots<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Exports every table into `sink` from one read transaction, on the blocking pool (writers go on
    /// meanwhile); answers the sink.
    pub async fn export<S: RowSink + Send + 'static>(&self, mut sink: S) -> Result<S, StorageError> {
        self.db
            .run(move |c| {
                snapshot::export(c, &mut sink)?;
                Ok(sink)
            })
            .await
    }

    /// Replaces every table with the rows of `source` in one write transaction (nothing changes on failure);
    /// answers the rows imported per table.
    pub async fn import<S: RowSource + Send + 'static>(
        &self,
        mut source: S,
    ) -> Result<Vec<(&'static str, u64)>, StorageError> {
        self.db.write(move |c| snapshot::import(c, &mut source)).await
    }
}
