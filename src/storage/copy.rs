//! Copying a whole database into another (`persona-mcp migrate`): the snapshot export of one store streamed
//! into the snapshot import of the other, so a SQLite install moves to PostgreSQL (or back) without a file in
//! between and without holding the data in memory.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::snapshot::{RowSink, RowSource};
use super::{StorageError, Store};

/// Rows in flight between the export and the import.
const IN_FLIGHT: usize = 1_024;
/// The table name of the last message: the export finished (a closed channel without it means it failed).
const END: &str = "";

/// The export side: each row goes down the channel, tagged with its table.
struct ChannelSink(SyncSender<(String, Vec<u8>)>);

impl RowSink for ChannelSink {
    fn row(&mut self, table: &str, json: &[u8]) -> Result<(), String> {
        self.0
            .send((table.to_string(), json.to_vec()))
            .map_err(|_| "the import stopped".to_string())
    }
}

impl ChannelSink {
    /// Tells the import that every row was sent.
    fn finish(self) -> Result<(), StorageError> {
        self.0
            .send((END.to_string(), Vec::new()))
            .map_err(|_| StorageError::Query("the import stopped".into()))
    }
}

/// The import side: rows of the table asked for, until the next row belongs to a later table. A channel closed
/// before the end mark fails the import, so a failed export never leaves a partial copy.
struct ChannelSource {
    rows: Receiver<(String, Vec<u8>)>,
    peeked: Option<(String, Vec<u8>)>,
}

impl RowSource for ChannelSource {
    fn next_row(&mut self, table: &str) -> Result<Option<Vec<u8>>, String> {
        let next = match self.peeked.take() {
            Some(row) => row,
            None => self.rows.recv().map_err(|_| "the export stopped".to_string())?,
        };
        if next.0 == table {
            return Ok(Some(next.1));
        }
        self.peeked = Some(next);
        Ok(None)
    }
}

/// Replaces everything in `to` with everything in `from` (one read transaction there, one write transaction
/// here: on failure `to` is unchanged); answers the rows copied per table. Bot secrets are not copied (a
/// snapshot never holds them): each bot needs its password or access token set again.
pub async fn copy(from: &Store, to: &Store) -> Result<Vec<(&'static str, u64)>, StorageError> {
    let (tx, rx) = sync_channel(IN_FLIGHT);
    let (snapshots_from, snapshots_to) = (from.snapshots(), to.snapshots());
    let export = async move { snapshots_from.export(ChannelSink(tx)).await?.finish() };
    let import = snapshots_to.import(ChannelSource { rows: rx, peeked: None });
    let (exported, imported) = futures_util::future::join(export, import).await;
    let counts = imported?;
    exported?;
    Ok(counts)
}
