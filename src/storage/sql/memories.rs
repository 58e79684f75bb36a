//! Memory repo: rows, embeddings (the vector index's source of truth), access counts,
//! importance updates and pruning runs.

use super::{sql_query, AnyConn};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use uuid::Uuid;

use super::schema::{memories as m, prune_runs as pr};
use super::{from_text, parse_uuid, to_text, StorageError};
use crate::domain::memory::{
    Memory, MemoryGroup, PruneRun, StoredMemory, Visibility, HIGH_IMPORTANCE_FROM, LOW_IMPORTANCE_BELOW,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = m)]
struct MemoryRow {
    key: i64,
    id: String,
    persona_id: String,
    content: String,
    memory_type: String,
    importance: f64,
    base_importance: f64,
    emotional_valence: f64,
    related_personas: String,
    visibility: String,
    metadata: String,
    created_at: String,
    accessed_count: i64,
    last_accessed: Option<String>,
}

impl MemoryRow {
    fn into_domain(self) -> Result<StoredMemory, StorageError> {
        let related: Vec<Uuid> = serde_json::from_str(&self.related_personas)
            .map_err(|e| StorageError::Corrupt(format!("related_personas: {e}")))?;
        Ok(StoredMemory {
            key: self.key,
            memory: Memory {
                id: parse_uuid(&self.id)?,
                persona_id: parse_uuid(&self.persona_id)?,
                content: self.content,
                memory_type: self.memory_type,
                importance: self.importance,
                base_importance: self.base_importance,
                emotional_valence: self.emotional_valence,
                related_personas: related,
                visibility: Visibility::parse(&self.visibility)
                    .ok_or_else(|| StorageError::Corrupt(format!("visibility {:?}", self.visibility)))?,
                metadata: serde_json::from_str(&self.metadata)
                    .map_err(|e| StorageError::Corrupt(format!("metadata: {e}")))?,
                created_at: from_text(&self.created_at)?,
                accessed_count: self.accessed_count,
                last_accessed: self.last_accessed.as_deref().map(from_text).transpose()?,
            },
        })
    }
}

fn load(rows: Vec<MemoryRow>) -> Result<Vec<StoredMemory>, StorageError> {
    rows.into_iter().map(MemoryRow::into_domain).collect()
}

/// Encodes a vector as little-endian f32 bytes.
pub fn encode_vector(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes little-endian f32 bytes.
pub fn decode_vector(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Stores memories in one transaction; answers their keys in order.
pub fn insert(conn: &mut AnyConn, memories: &[Memory]) -> Result<Vec<i64>, StorageError> {
    super::write_tx(conn, |conn| {
        memories
            .iter()
            .map(|mem| {
                let related = serde_json::to_string(&mem.related_personas).unwrap_or_else(|_| "[]".into());
                diesel::insert_into(m::table)
                    .values((
                        m::id.eq(mem.id.to_string()),
                        m::persona_id.eq(mem.persona_id.to_string()),
                        m::content.eq(&mem.content),
                        m::memory_type.eq(&mem.memory_type),
                        m::importance.eq(mem.importance),
                        m::base_importance.eq(mem.base_importance),
                        m::emotional_valence.eq(mem.emotional_valence),
                        m::related_personas.eq(related),
                        m::visibility.eq(mem.visibility.as_str()),
                        m::metadata.eq(mem.metadata.to_string()),
                        m::created_at.eq(to_text(mem.created_at)),
                        m::accessed_count.eq(mem.accessed_count),
                    ))
                    .returning(m::key)
                    .get_result(conn)
                    .map_err(StorageError::from)
            })
            .collect()
    })
}

/// Records the embeddings of stored memories.
pub fn set_embeddings(conn: &mut AnyConn, embedder: &str, vectors: &[(i64, Vec<f32>)]) -> Result<(), StorageError> {
    super::write_tx(conn, |conn| {
        for (key, v) in vectors {
            diesel::update(m::table.filter(m::key.eq(key)))
                .set((m::embedding.eq(encode_vector(v)), m::embedder.eq(embedder)))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The memory with this id.
pub fn get(conn: &mut AnyConn, id: Uuid) -> Result<Option<StoredMemory>, StorageError> {
    m::table
        .filter(m::id.eq(id.to_string()))
        .select(MemoryRow::as_select())
        .first(conn)
        .optional()?
        .map(MemoryRow::into_domain)
        .transpose()
}

/// The memories with these keys (any order).
pub fn by_keys(conn: &mut AnyConn, keys: &[i64]) -> Result<Vec<StoredMemory>, StorageError> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        out.extend(load(
            m::table
                .filter(m::key.eq_any(chunk))
                .select(MemoryRow::as_select())
                .load(conn)?,
        )?);
    }
    Ok(out)
}

/// Every memory of a persona (or of all personas).
pub fn all(conn: &mut AnyConn, persona: Option<Uuid>) -> Result<Vec<StoredMemory>, StorageError> {
    let mut q = m::table.select(MemoryRow::as_select()).order(m::key.asc()).into_boxed();
    if let Some(p) = persona {
        q = q.filter(m::persona_id.eq(p.to_string()));
    }
    load(q.load(conn)?)
}

#[derive(QueryableByName)]
struct GroupRow {
    #[diesel(sql_type = Text)]
    persona_id: String,
    #[diesel(sql_type = Text)]
    memory_type: String,
    #[diesel(sql_type = Text)]
    visibility: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Double)]
    importance_sum: f64,
    #[diesel(sql_type = BigInt)]
    high: i64,
    #[diesel(sql_type = BigInt)]
    low: i64,
    #[diesel(sql_type = BigInt)]
    created_on_day: i64,
    #[diesel(sql_type = BigInt)]
    cross_referenced: i64,
}

/// The memories of `persona` (or of all personas) grouped by persona, type and visibility: the aggregates
/// `memory.stats` and `memory.shared_stats` answer with, computed in SQL so no row or vector is loaded.
pub fn groups(conn: &mut AnyConn, persona: Option<Uuid>, day: NaiveDate) -> Result<Vec<MemoryGroup>, StorageError> {
    // One persona's rows are found through the `memories_persona` index; an `? IS NULL OR …` filter would
    // make SQLite scan every memory.
    let filter = if persona.is_some() { "WHERE persona_id = ?" } else { "" };
    // Timestamps are stored as RFC 3339 in UTC, so the first ten characters are the day. Written in SQL both
    // backends speak (counts as SUM over CASE, both answering BIGINT).
    let count_if = |cond: &str| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)");
    let query = sql_query(
        conn,
        &format!(
            "SELECT persona_id, memory_type, visibility, COUNT(*) AS count, \
                    COALESCE(SUM(importance), 0.0) AS importance_sum, {} AS high, {} AS low, \
                    {} AS created_on_day, {} AS cross_referenced \
             FROM memories {filter} GROUP BY persona_id, memory_type, visibility",
            count_if("importance >= ?"),
            count_if("importance < ?"),
            count_if("substr(created_at, 1, 10) = ?"),
            count_if("related_personas NOT IN ('', '[]')"),
        ),
    )
    .bind::<Double, _>(HIGH_IMPORTANCE_FROM)
    .bind::<Double, _>(LOW_IMPORTANCE_BELOW)
    .bind::<Text, _>(day.format("%Y-%m-%d").to_string());
    let rows: Vec<GroupRow> = match persona {
        Some(p) => query.bind::<Text, _>(p.to_string()).load(conn)?,
        None => query.load(conn)?,
    };
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    rows.into_iter()
        .map(|row| {
            Ok(MemoryGroup {
                persona: parse_uuid(&row.persona_id)?,
                visibility: Visibility::parse(&row.visibility)
                    .ok_or_else(|| StorageError::Corrupt(format!("visibility {:?}", row.visibility)))?,
                memory_type: row.memory_type,
                count: count(row.count),
                importance_sum: row.importance_sum,
                high: count(row.high),
                low: count(row.low),
                created_on_day: count(row.created_on_day),
                cross_referenced: count(row.cross_referenced),
            })
        })
        .collect()
}

/// Memories of a persona, newest first, optionally filtered by a text fragment.
pub fn recent(conn: &mut AnyConn, persona: Uuid, limit: i64) -> Result<Vec<StoredMemory>, StorageError> {
    load(
        m::table
            .filter(m::persona_id.eq(persona.to_string()))
            .order(m::key.desc())
            .limit(limit)
            .select(MemoryRow::as_select())
            .load(conn)?,
    )
}

/// Deletes memories by key; answers how many went.
pub fn delete(conn: &mut AnyConn, keys: &[i64]) -> Result<usize, StorageError> {
    super::write_tx(conn, |conn| {
        let mut n = 0;
        for chunk in keys.chunks(500) {
            n += diesel::delete(m::table.filter(m::key.eq_any(chunk))).execute(conn)?;
        }
        Ok(n)
    })
}

/// Counts a search hit: one more access, now.
pub fn touch(conn: &mut AnyConn, keys: &[i64], now: DateTime<Utc>) -> Result<(), StorageError> {
    if keys.is_empty() {
        return Ok(());
    }
    diesel::update(m::table.filter(m::key.eq_any(keys)))
        .set((
            m::accessed_count.eq(m::accessed_count + 1),
            m::last_accessed.eq(to_text(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The editable fields of a memory; `None` leaves a field as it is.
#[derive(diesel::AsChangeset)]
#[diesel(table_name = m)]
struct MemoryEdit {
    importance: Option<f64>,
    visibility: Option<String>,
    memory_type: Option<String>,
}

/// Replaces a memory's content and forgets its vector (in the same statement, so the row is never left with the
/// vector of its old text: the embedding queue, or the start-up check after a crash, embeds it anew); false when
/// it is gone. The keyword index follows by trigger.
pub fn edit_content(conn: &mut AnyConn, key: i64, content: &str) -> Result<bool, StorageError> {
    let n = diesel::update(m::table.filter(m::key.eq(key)))
        .set((
            m::content.eq(content),
            m::embedding.eq(None::<Vec<u8>>),
            m::embedder.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

/// Changes the importance, visibility and type of one memory (the fields given); false when it is gone.
pub fn edit(
    conn: &mut AnyConn,
    key: i64,
    importance: Option<f64>,
    visibility: Option<String>,
    memory_type: Option<String>,
) -> Result<bool, StorageError> {
    let row = m::table.filter(m::key.eq(key));
    if importance.is_none() && visibility.is_none() && memory_type.is_none() {
        let n: i64 = row.count().get_result(conn)?;
        return Ok(n > 0);
    }
    let changes = MemoryEdit {
        importance,
        visibility,
        memory_type,
    };
    Ok(diesel::update(row).set(&changes).execute(conn)? > 0)
}

/// Sets new importances.
pub fn set_importance(conn: &mut AnyConn, updates: &[(i64, f64)]) -> Result<(), StorageError> {
    super::write_tx(conn, |conn| {
        for (key, importance) in updates {
            diesel::update(m::table.filter(m::key.eq(key)))
                .set(m::importance.eq(importance))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Stored vectors of these keys.
pub fn embeddings(conn: &mut AnyConn, keys: &[i64]) -> Result<Vec<(i64, Vec<f32>)>, StorageError> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let rows: Vec<(i64, Option<Vec<u8>>)> = m::table
            .filter(m::key.eq_any(chunk))
            .select((m::key, m::embedding))
            .load(conn)?;
        out.extend(rows.into_iter().filter_map(|(k, b)| b.map(|b| (k, decode_vector(&b)))));
    }
    Ok(out)
}

/// Every stored vector of a persona made by `embedder` (the index is rebuilt from these).
pub fn persona_embeddings(
    conn: &mut AnyConn,
    persona: Uuid,
    embedder: &str,
) -> Result<Vec<(i64, Vec<f32>)>, StorageError> {
    let rows: Vec<(i64, Option<Vec<u8>>)> = m::table
        .filter(m::persona_id.eq(persona.to_string()))
        .filter(m::embedder.eq(embedder))
        .select((m::key, m::embedding))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, b)| b.map(|b| (k, decode_vector(&b))))
        .collect())
}

/// Memories without a vector from `embedder` (new, or made by another embedder): (key, persona, content).
pub fn unembedded(conn: &mut AnyConn, embedder: &str, limit: i64) -> Result<Vec<(i64, Uuid, String)>, StorageError> {
    let rows: Vec<(i64, String, String)> = m::table
        .filter(m::embedding.is_null().or(m::embedder.ne(embedder)))
        .select((m::key, m::persona_id, m::content))
        .order(m::key.asc())
        .limit(limit)
        .load(conn)?;
    rows.into_iter().map(|(k, p, c)| Ok((k, parse_uuid(&p)?, c))).collect()
}

/// Persona ids that own memories.
pub fn personas_with_memories(conn: &mut AnyConn) -> Result<Vec<Uuid>, StorageError> {
    let ids: Vec<String> = m::table.select(m::persona_id).distinct().load(conn)?;
    ids.iter().map(|s| parse_uuid(s)).collect()
}

/// Records a pruning run.
pub fn record_prune_run(conn: &mut AnyConn, run: &PruneRun) -> Result<(), StorageError> {
    diesel::insert_into(pr::table)
        .values((
            pr::persona_id.eq(&run.persona_id),
            pr::ran_at.eq(to_text(run.ran_at)),
            pr::memories_before.eq(run.memories_before),
            pr::memories_after.eq(run.memories_after),
            pr::average_importance_pruned.eq(run.average_importance_pruned),
            pr::processing_time.eq(run.processing_time),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every recorded pruning run, oldest first.
pub fn prune_runs(conn: &mut AnyConn) -> Result<Vec<PruneRun>, StorageError> {
    let rows: Vec<(String, String, i64, i64, f64, f64)> = pr::table
        .order(pr::id.asc())
        .select((
            pr::persona_id,
            pr::ran_at,
            pr::memories_before,
            pr::memories_after,
            pr::average_importance_pruned,
            pr::processing_time,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(persona_id, ran_at, before, after, avg, secs)| {
            Ok(PruneRun {
                persona_id,
                ran_at: from_text(&ran_at)?,
                memories_before: before,
                memories_after: after,
                average_importance_pruned: avg,
                processing_time: secs,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_count_in_sql_what_stats_report() {
        let (db, _dir, aria, kira) = crate::storage::sql::relationships::tests::aria_and_kira();
        let conn = &mut db.conn().expect("connection");
        let now = Utc::now();
        let yesterday = now - chrono::Duration::days(1);
        let mut shared = Memory::new(aria, "a shared song", "event", 0.9, now);
        shared.visibility = Visibility::Shared;
        shared.related_personas = vec![kira];
        let memories = [
            Memory::new(aria, "low and old", "event", 0.2, yesterday),
            Memory::new(aria, "medium", "event", 0.5, now),
            shared,
            Memory::new(aria, "exactly high", "conversation", 0.7, now),
            Memory::new(kira, "kira's own", "event", 0.39, now),
        ];
        insert(conn, &memories).expect("stored");

        let mut all = groups(conn, None, now.date_naive()).expect("grouped");
        all.sort_by(|a, b| {
            (a.persona == kira, &a.memory_type, a.visibility.as_str()).cmp(&(
                b.persona == kira,
                &b.memory_type,
                b.visibility.as_str(),
            ))
        });
        let summary: Vec<_> = all
            .iter()
            .map(|g| {
                (
                    g.memory_type.as_str(),
                    g.visibility,
                    g.count,
                    g.high,
                    g.low,
                    g.created_on_day,
                    g.cross_referenced,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("conversation", Visibility::Private, 1, 1, 0, 1, 0),
                ("event", Visibility::Private, 2, 0, 1, 1, 0),
                ("event", Visibility::Shared, 1, 1, 0, 1, 1),
                ("event", Visibility::Private, 1, 0, 1, 1, 0),
            ]
        );
        assert!((all[1].importance_sum - 0.7).abs() < 1e-9);
        assert_eq!(all[3].persona, kira);

        let kiras = groups(conn, Some(kira), now.date_naive()).expect("grouped");
        assert_eq!(kiras.len(), 1);
        assert_eq!((kiras[0].persona, kiras[0].count), (kira, 1));
        let tomorrow = (now + chrono::Duration::days(1)).date_naive();
        assert!(groups(conn, Some(aria), tomorrow)
            .expect("grouped")
            .iter()
            .all(|g| g.created_on_day == 0));
    }

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.5f32, -1.25, 3.0e-7];
        assert_eq!(decode_vector(&encode_vector(&v)), v);
    }
}
