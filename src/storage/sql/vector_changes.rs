//! The `vector_changes` log (filled by triggers on `memories`): read after a sequence number, and pruned.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};

use super::memories::decode_vector;
use super::{parse_uuid, sql_query, AnyConn};
use crate::storage::vector_log::{Change, VectorChange};
use crate::storage::StorageError;

#[derive(QueryableByName)]
struct ChangeRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = BigInt)]
    memory_key: i64,
    #[diesel(sql_type = Text)]
    persona_id: String,
    #[diesel(sql_type = BigInt)]
    change: i64,
}

#[derive(QueryableByName)]
struct SeqRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    seq: Option<i64>,
}

#[derive(QueryableByName)]
struct VectorRow {
    #[diesel(sql_type = BigInt)]
    key: i64,
    #[diesel(sql_type = Binary)]
    embedding: Vec<u8>,
}

/// The newest sequence number (0 for an empty log).
pub fn last_seq(conn: &mut AnyConn) -> Result<i64, StorageError> {
    let row: SeqRow = sql_query(conn, "SELECT MAX(seq) AS seq FROM vector_changes").get_result(conn)?;
    Ok(row.seq.unwrap_or(0))
}

/// The oldest sequence number still in the log, if any.
pub fn first_seq(conn: &mut AnyConn) -> Result<Option<i64>, StorageError> {
    let row: SeqRow = sql_query(conn, "SELECT MIN(seq) AS seq FROM vector_changes").get_result(conn)?;
    Ok(row.seq)
}

/// At most `limit` changes after `seq`, oldest first.
pub fn after(conn: &mut AnyConn, seq: i64, limit: i64) -> Result<Vec<VectorChange>, StorageError> {
    let rows: Vec<ChangeRow> = sql_query(
        conn,
        "SELECT seq, memory_key, persona_id, change FROM vector_changes WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind::<BigInt, _>(seq)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(VectorChange {
                seq: r.seq,
                key: r.memory_key,
                persona: parse_uuid(&r.persona_id)?,
                change: match r.change {
                    0 => Change::Added,
                    1 => Change::Removed,
                    _ => Change::Replaced,
                },
            })
        })
        .collect()
}

/// The stored vectors of `keys` made by `embedder` (the others are skipped).
pub fn vectors(conn: &mut AnyConn, embedder: &str, keys: &[i64]) -> Result<Vec<(i64, Vec<f32>)>, StorageError> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT key, embedding FROM memories WHERE key IN ({list}) AND embedding IS NOT NULL AND embedder = ?"
        );
        let rows: Vec<VectorRow> = sql_query(conn, &sql).bind::<Text, _>(embedder).load(conn)?;
        out.extend(rows.into_iter().map(|r| (r.key, decode_vector(&r.embedding))));
    }
    Ok(out)
}

/// Deletes changes recorded before `before` (unix seconds); answers how many.
pub fn prune(conn: &mut AnyConn, before: i64) -> Result<usize, StorageError> {
    Ok(sql_query(conn, "DELETE FROM vector_changes WHERE at < ?")
        .bind::<BigInt, _>(before)
        .execute(conn)?)
}
