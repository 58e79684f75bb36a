//! Topic-thread repo: the threads of a chat conversation, their messages and their summaries.

use std::collections::BTreeMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::memories::{decode_vector, encode_vector};
use super::messages::MessageRow;
use super::schema::{chat_conversations as cc, chat_messages as cm, chat_threads as ct};
use super::{from_text, parse_uuid, to_text, StorageError};
use super::{on_backend, AnyConn};
use crate::domain::chat::ChatMessage;
use crate::domain::thread::Thread;

#[derive(Queryable, Selectable)]
#[diesel(table_name = ct)]
struct ThreadRow {
    id: String,
    conversation_id: String,
    label: String,
    keywords: String,
    centroid: Option<Vec<u8>>,
    message_count: i64,
    summary: Option<String>,
    summarized_through: i64,
    created_at: String,
    last_active: String,
    title: Option<String>,
}

impl ThreadRow {
    fn into_domain(self) -> Result<Thread, StorageError> {
        let keywords: BTreeMap<String, u32> =
            serde_json::from_str(&self.keywords).map_err(|e| StorageError::Corrupt(format!("thread keywords: {e}")))?;
        Ok(Thread {
            id: parse_uuid(&self.id)?,
            conversation_id: parse_uuid(&self.conversation_id)?,
            label: self.title.clone().unwrap_or(self.label),
            title: self.title,
            keywords,
            centroid: self.centroid.as_deref().map(decode_vector),
            message_count: self.message_count,
            summary: self.summary,
            summarized_through: self.summarized_through,
            created_at: from_text(&self.created_at)?,
            last_active: from_text(&self.last_active)?,
        })
    }
}

/// Stores a thread of conversation `conversation` (inserted or replaced), with everything but its summary.
pub fn save(conn: &mut AnyConn, conversation: Uuid, t: &Thread) -> Result<(), StorageError> {
    let keywords = serde_json::to_string(&t.keywords).map_err(|e| StorageError::Query(e.to_string()))?;
    let centroid = t.centroid.as_deref().map(encode_vector);
    let upsert = diesel::insert_into(ct::table)
        .values((
            ct::id.eq(t.id.to_string()),
            ct::conversation_id.eq(conversation.to_string()),
            ct::label.eq(&t.label),
            ct::keywords.eq(&keywords),
            ct::centroid.eq(&centroid),
            ct::message_count.eq(t.message_count),
            ct::created_at.eq(to_text(t.created_at)),
            ct::last_active.eq(to_text(t.last_active)),
        ))
        .on_conflict(ct::id)
        .do_update()
        .set((
            ct::label.eq(&t.label),
            ct::keywords.eq(&keywords),
            ct::centroid.eq(&centroid),
            ct::message_count.eq(t.message_count),
            ct::last_active.eq(to_text(t.last_active)),
        ));
    on_backend!(&mut *conn, |c| upsert.execute(c))?;
    Ok(())
}

/// Names a thread with a title from the model.
pub fn set_title(conn: &mut AnyConn, thread: Uuid, title: &str) -> Result<(), StorageError> {
    diesel::update(ct::table.filter(ct::id.eq(thread.to_string())))
        .set((ct::title.eq(title), ct::label.eq(title)))
        .execute(conn)?;
    Ok(())
}

/// The `limit` most recently active threads of a conversation, most recent first.
pub fn of_conversation(conn: &mut AnyConn, conversation: Uuid, limit: usize) -> Result<Vec<Thread>, StorageError> {
    ct::table
        .filter(ct::conversation_id.eq(conversation.to_string()))
        .order((ct::last_active.desc(), ct::id.asc()))
        .limit(limit as i64)
        .select(ThreadRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ThreadRow::into_domain)
        .collect()
}

/// Every thread of a session's chat conversations (with one persona, or all), most recently active first,
/// each with its conversation's persona.
pub fn of_session(
    conn: &mut AnyConn,
    session_id: &str,
    persona: Option<Uuid>,
) -> Result<Vec<(Thread, Uuid)>, StorageError> {
    let mut query = cc::table.filter(cc::session_id.eq(session_id)).into_boxed();
    if let Some(p) = persona {
        query = query.filter(cc::persona_id.eq(p.to_string()));
    }
    let conversations: BTreeMap<String, String> = query
        .select((cc::id, cc::persona_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    ct::table
        .filter(ct::conversation_id.eq_any(conversations.keys()))
        .order((ct::last_active.desc(), ct::id.asc()))
        .select(ThreadRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| {
            let persona = parse_uuid(&conversations[&row.conversation_id])?;
            Ok((row.into_domain()?, persona))
        })
        .collect()
}

/// The newest `limit` messages of a thread, oldest first.
pub fn recent(
    conn: &mut AnyConn,
    conversation: Uuid,
    thread: Uuid,
    limit: usize,
) -> Result<Vec<ChatMessage>, StorageError> {
    let mut rows: Vec<ChatMessage> = cm::table
        .filter(cm::conversation_id.eq(conversation.to_string()))
        .filter(cm::thread_id.eq(thread.to_string()))
        .order(cm::seq.desc())
        .limit(limit as i64)
        .select(MessageRow::as_select())
        .load(conn)?
        .into_iter()
        .map(MessageRow::into_domain)
        .collect::<Result<_, _>>()?;
    rows.reverse();
    Ok(rows)
}

/// A thread's messages after `after_seq` up to and including `through_seq`, oldest first.
pub fn range(
    conn: &mut AnyConn,
    conversation: Uuid,
    thread: Uuid,
    after_seq: i64,
    through_seq: i64,
) -> Result<Vec<ChatMessage>, StorageError> {
    cm::table
        .filter(cm::conversation_id.eq(conversation.to_string()))
        .filter(cm::thread_id.eq(thread.to_string()))
        .filter(cm::seq.gt(after_seq))
        .filter(cm::seq.le(through_seq))
        .order(cm::seq.asc())
        .select(MessageRow::as_select())
        .load(conn)?
        .into_iter()
        .map(MessageRow::into_domain)
        .collect()
}

/// Stores a thread's new summary covering its messages up to `through_seq`.
pub fn set_summary(conn: &mut AnyConn, thread: Uuid, summary: &str, through_seq: i64) -> Result<(), StorageError> {
    diesel::update(ct::table.filter(ct::id.eq(thread.to_string())))
        .set((ct::summary.eq(summary), ct::summarized_through.eq(through_seq)))
        .execute(conn)?;
    Ok(())
}
