//! Whole-database export and import for state snapshots: one serde row type per table, named and typed as the
//! logical columns (timestamps as RFC 3339 text, JSON columns as their text, vectors as arrays of numbers), so a
//! snapshot does not depend on SQLite. Export reads every table inside one read transaction; import replaces
//! every table inside one write transaction.

use super::{on_backend, AnyConn};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::memories::{decode_vector, encode_vector};
use super::schema::*;
use super::StorageError;
use crate::storage::snapshot_rows::{RowSink, RowSource, TABLES};

/// Rows read per query while exporting, so a big table is never held in memory whole.
const PAGE: i64 = 2_000;
/// Rows inserted per statement while importing.
const CHUNK: usize = 200;

/// Declares a row type for a table and the export (in pages, in the order of its key columns) and import of
/// that table.
macro_rules! table_rows {
    ($row:ident, $table:ident, ($($order:ident),+), { $($(#[$meta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Queryable, Selectable, Insertable, Serialize, Deserialize)]
        #[diesel(table_name = $table)]
        struct $row {
            $($(#[$meta])* $field: $ty),*
        }

        impl $row {
            fn export(conn: &mut AnyConn, sink: &mut dyn RowSink) -> Result<(), StorageError> {
                let mut offset = 0;
                loop {
                    let rows: Vec<$row> = $table::table
                        .select($row::as_select())
                        .order(($($table::$order.asc()),+,))
                        .limit(PAGE)
                        .offset(offset)
                        .load(conn)?;
                    for row in &rows {
                        let line = serde_json::to_vec(row).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                        sink.row(stringify!($table), &line).map_err(StorageError::Query)?;
                    }
                    if (rows.len() as i64) < PAGE {
                        return Ok(());
                    }
                    offset += PAGE;
                }
            }

            fn import(conn: &mut AnyConn, source: &mut dyn RowSource) -> Result<u64, StorageError> {
                let mut chunk: Vec<$row> = Vec::with_capacity(CHUNK);
                let mut n = 0u64;
                while let Some(line) = source.next_row(stringify!($table)).map_err(StorageError::Corrupt)? {
                    let row: $row = serde_json::from_slice(&line)
                        .map_err(|e| StorageError::Corrupt(format!("{} row {}: {e}", stringify!($table), n + 1)))?;
                    chunk.push(row);
                    n += 1;
                    if chunk.len() == CHUNK {
                        on_backend!(&mut *conn, |c| diesel::insert_into($table::table).values(&chunk).execute(c))?;
                        chunk.clear();
                    }
                }
                if !chunk.is_empty() {
                    on_backend!(&mut *conn, |c| diesel::insert_into($table::table).values(&chunk).execute(c))?;
                }
                Ok(n)
            }
        }
    };
}

table_rows!(PersonaRow, personas, (seq), {
    seq: i64, id: String, name: String, description: String, personality_traits: String,
    topic_preferences: String, charisma: i32, intelligence: i32, social_rank: String, model: Option<String>,
    system_prompt: Option<String>, avatar_url: Option<String>, created_at: String, updated_at: String, card: String,
});

table_rows!(InteractionStateRow, interaction_states, (persona_id), {
    persona_id: String, interest_level: f64, interaction_fatigue: f64, current_priority: String,
    available_time: f64, social_energy: f64, base_energy: f64, base_available_time: f64, cooldown_until: f64,
    version: i64,
});

table_rows!(EmotionalStateRow, emotional_states, (persona_id), {
    persona_id: String, mood: f64, energy_level: f64, stress_level: f64, curiosity: f64, social_battery: f64,
    last_updated: String, version: i64,
});

table_rows!(RelationshipRow, relationships, (persona1_id, persona2_id), {
    persona1_id: String, persona2_id: String, affinity: f64, trust: f64, respect: f64, intimacy: f64,
    relationship_type: String, interaction_count: i64, total_interaction_time: f64,
    first_meeting: Option<String>, last_interaction: Option<String>, recent_interaction_quality: Option<f64>,
});

table_rows!(InteractionRow, interactions, (seq), {
    seq: i64, persona1_id: String, persona2_id: String, quality: f64, duration_minutes: f64, context: String,
    memorable: bool, at: String,
});

table_rows!(ConversationRow, chat_conversations, (id), {
    id: String, session_id: String, persona_id: String, channel: String, summary: Option<String>,
    summarized_through: i64, created_at: String, updated_at: String,
});

table_rows!(ThreadRow, chat_threads, (id), {
    id: String, conversation_id: String, label: String, keywords: String,
    #[serde(with = "vector")]
    centroid: Option<Vec<u8>>,
    message_count: i64, summary: Option<String>, summarized_through: i64, created_at: String, last_active: String,
    // Absent from state files written before thread titles.
    #[serde(default)]
    title: Option<String>,
});

table_rows!(MessageRow, chat_messages, (seq), {
    seq: i64, conversation_id: String, role: String, content: String, sender: Option<String>,
    room_id: Option<String>, partial: bool, created_at: String,
    // Absent from state files written before topic threads.
    #[serde(default)]
    thread_id: Option<String>,
    #[serde(default = "empty_list")]
    images: String,
    // Absent from state files written before turn statistics.
    #[serde(default)]
    tokens_in: Option<i64>,
    #[serde(default)]
    tokens_out: Option<i64>,
    #[serde(default)]
    latency_seconds: Option<f64>,
    #[serde(default)]
    ttfc_seconds: Option<f64>,
    #[serde(default)]
    continue_score: Option<f64>,
    #[serde(default)]
    emotions: Option<String>,
    #[serde(default)]
    recalled: Option<String>,
});

/// An empty JSON list: the `images` of a message, or the `more_participants` of a conversation, from a state file
/// written before they existed.
fn empty_list() -> String {
    "[]".into()
}

table_rows!(MemoryRow, memories, (key), {
    key: i64, id: String, persona_id: String, content: String, memory_type: String, importance: f64,
    base_importance: f64, emotional_valence: f64, related_personas: String, visibility: String, metadata: String,
    created_at: String, accessed_count: i64, last_accessed: Option<String>,
    #[serde(with = "vector")]
    embedding: Option<Vec<u8>>,
    embedder: Option<String>,
});

table_rows!(PruneRunRow, prune_runs, (id), {
    id: i64, persona_id: String, ran_at: String, memories_before: i64, memories_after: i64,
    average_importance_pruned: f64, processing_time: f64,
});

table_rows!(DialogueRow, dialogues, (id), {
    id: String, persona1_id: String, persona2_id: String, topic: String, token_budget: i64, tokens_used: i64,
    started_at: String, ended_at: Option<String>, end_reason: Option<String>,
    #[serde(default = "empty_list")]
    more_participants: String,
});

table_rows!(DialogueTurnRow, dialogue_turns, (seq), {
    seq: i64, dialogue_id: String, speaker_id: String, content: String, continue_score: f64, tokens_used: i64,
    created_at: String,
});

table_rows!(SceneRow, scenes, (scope), {
    scope: String, persona_id: Option<String>, description: String, updated_at: String,
});

// Bots without their secrets: a loaded bot needs its password or access token set again.
table_rows!(BotRow, bots, (id), {
    id: String, persona_id: String, homeserver: String, user_id: String,
    #[serde(skip_serializing, default)]
    password: Option<String>,
    #[serde(skip_serializing, default)]
    access_token: Option<String>,
    rooms: String, invite_allowlist: String, reply_mode: String, enabled: bool, since: Option<String>,
    created_at: String, updated_at: String,
    // Absent from state files written before bots had an encryption device.
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    device_key: Option<String>,
});

/// A stored vector as a JSON array of numbers (or null), not as SQLite's little-endian bytes.
mod vector {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        bytes.as_deref().map(super::decode_vector).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Vec<f32>>::deserialize(d)?.map(|v| super::encode_vector(&v)))
    }
}

/// The serial key columns of PostgreSQL's tables, as (table, column).
const RESET_SEQUENCES: [(&str, &str); 6] = [
    ("personas", "seq"),
    ("interactions", "seq"),
    ("chat_messages", "seq"),
    ("memories", "key"),
    ("prune_runs", "id"),
    ("dialogue_turns", "seq"),
];

/// Writes every table to `sink`, in [`TABLES`] order, from one read transaction.
pub fn export(conn: &mut AnyConn, sink: &mut dyn RowSink) -> Result<(), StorageError> {
    conn.transaction(|c| {
        PersonaRow::export(c, sink)?;
        InteractionStateRow::export(c, sink)?;
        EmotionalStateRow::export(c, sink)?;
        RelationshipRow::export(c, sink)?;
        InteractionRow::export(c, sink)?;
        ConversationRow::export(c, sink)?;
        ThreadRow::export(c, sink)?;
        MessageRow::export(c, sink)?;
        MemoryRow::export(c, sink)?;
        PruneRunRow::export(c, sink)?;
        DialogueRow::export(c, sink)?;
        DialogueTurnRow::export(c, sink)?;
        BotRow::export(c, sink)?;
        SceneRow::export(c, sink)
    })
}

/// A bot's credentials, kept across an import for the same bot (id, homeserver and user).
type BotCredentials = (String, String, String, Option<String>, Option<String>);

/// Deletes every row and inserts the rows `source` yields, table by table in [`TABLES`] order, in one write
/// transaction: on any failure nothing changes. Answers the rows inserted per table. Snapshots carry no bot
/// secrets: a loaded bot that is the same bot as one here (id, homeserver and user) keeps this one's password or
/// access token.
pub fn import(conn: &mut AnyConn, source: &mut dyn RowSource) -> Result<Vec<(&'static str, u64)>, StorageError> {
    conn.transaction(|c| {
        let credentials: Vec<BotCredentials> = bots::table
            .select((bots::id, bots::homeserver, bots::user_id, bots::password, bots::access_token))
            .load(c)?;
        // Children first: every foreign key leads to a persona.
        c.batch_execute(
            "DELETE FROM scenes; DELETE FROM bots; DELETE FROM dialogue_turns; DELETE FROM dialogues; DELETE FROM prune_runs; DELETE FROM memories; \
             DELETE FROM chat_messages; DELETE FROM chat_threads; DELETE FROM chat_conversations; DELETE FROM interactions; \
             DELETE FROM relationships; DELETE FROM emotional_states; DELETE FROM interaction_states; \
             DELETE FROM personas;",
        )?;
        let counts = [
            PersonaRow::import(c, source)?,
            InteractionStateRow::import(c, source)?,
            EmotionalStateRow::import(c, source)?,
            RelationshipRow::import(c, source)?,
            InteractionRow::import(c, source)?,
            ConversationRow::import(c, source)?,
            ThreadRow::import(c, source)?,
            MessageRow::import(c, source)?,
            MemoryRow::import(c, source)?,
            PruneRunRow::import(c, source)?,
            DialogueRow::import(c, source)?,
            DialogueTurnRow::import(c, source)?,
            BotRow::import(c, source)?,
            SceneRow::import(c, source)?,
        ];
        for (id, homeserver, user_id, password, access_token) in credentials {
            let same = bots::table
                .filter(bots::id.eq(id))
                .filter(bots::homeserver.eq(homeserver))
                .filter(bots::user_id.eq(user_id));
            diesel::update(same)
                .set((bots::password.eq(password), bots::access_token.eq(access_token)))
                .execute(c)?;
        }
        if let AnyConn::Pg(pg) = c {
            // Rows came with their keys: the next key of each serial column follows the largest loaded one.
            pg.batch_execute(&RESET_SEQUENCES.map(|(t, k)| {
                format!("SELECT setval(pg_get_serial_sequence('{t}', '{k}'), COALESCE(MAX({k}), 0) + 1, false) FROM {t};")
            }).concat())?;
        }
        Ok(TABLES.iter().copied().zip(counts).collect())
    })
}
