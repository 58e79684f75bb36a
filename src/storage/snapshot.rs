//! Snapshot repository: a consistent export of every table and an all-or-nothing import, row by row as JSON
//! (one JSON object per row, named by the logical columns). The state files of `crate::state` are built on
//! it, so a snapshot taken from one backend loads into another.

pub use super::snapshot_rows::{RowSink, RowSource, TABLES};
use super::sql::{snapshot, Db};
use super::StorageError;

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
