//! What a snapshot is made of, row by row: the tables in export and import order, and the traits through which
//! rows leave and enter a backend. Both the repository ([`super::snapshot`]) and each backend build on it.

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
