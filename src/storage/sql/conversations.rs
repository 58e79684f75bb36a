//! Chat-conversation repo: one conversation per (session, persona, channel), its messages and summary.

use super::{on_backend, AnyConn};
use chrono::Utc;
use diesel::prelude::*;
use uuid::Uuid;

use super::messages::MessageRow;
use super::schema::{chat_conversations as cc, chat_messages as cm};
use super::{parse_uuid, threads, to_text, StorageError};
use crate::domain::chat::{ChatConversation, ChatMessage, TurnStats};
use crate::domain::thread::Thread;

#[derive(Queryable, Selectable)]
#[diesel(table_name = cc)]
struct ConversationRow {
    id: String,
    session_id: String,
    persona_id: String,
    channel: String,
    summary: Option<String>,
    summarized_through: i64,
}

impl ConversationRow {
    fn into_domain(self) -> Result<ChatConversation, StorageError> {
        Ok(ChatConversation {
            id: parse_uuid(&self.id)?,
            persona_id: parse_uuid(&self.persona_id)?,
            session_id: self.session_id,
            channel: self.channel,
            summary: self.summary,
            summarized_through: self.summarized_through,
        })
    }
}

/// The columns of a reply's turn statistics (all NULL without them).
type StatsColumns = (
    Option<i64>,
    Option<i64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Option<String>,
);

fn stats_columns(stats: Option<&TurnStats>) -> Result<StatsColumns, StorageError> {
    let Some(s) = stats else {
        return Ok((None, None, None, None, None, None, None));
    };
    let json = |e: serde_json::Error| StorageError::Query(e.to_string());
    Ok((
        s.tokens_in.map(i64::from),
        Some(i64::from(s.tokens_out)),
        Some(s.latency_seconds),
        s.ttfc_seconds,
        Some(s.continue_score),
        Some(serde_json::to_string(&s.emotions).map_err(json)?),
        Some(serde_json::to_string(&s.recalled).map_err(json)?),
    ))
}

/// The conversation for this key, if it exists.
pub fn find(
    conn: &mut AnyConn,
    session_id: &str,
    persona: Uuid,
    channel: &str,
) -> Result<Option<ChatConversation>, StorageError> {
    cc::table
        .filter(cc::session_id.eq(session_id))
        .filter(cc::persona_id.eq(persona.to_string()))
        .filter(cc::channel.eq(channel))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?
        .map(ConversationRow::into_domain)
        .transpose()
}

/// Every chat conversation (of one persona, or all), most recently active first.
pub fn list(conn: &mut AnyConn, persona: Option<Uuid>) -> Result<Vec<ChatConversation>, StorageError> {
    let mut query = cc::table.into_boxed();
    if let Some(p) = persona {
        query = query.filter(cc::persona_id.eq(p.to_string()));
    }
    query
        .order((cc::updated_at.desc(), cc::id.asc()))
        .select(ConversationRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ConversationRow::into_domain)
        .collect()
}

/// One chat conversation by id.
pub fn get(conn: &mut AnyConn, id: Uuid) -> Result<Option<ChatConversation>, StorageError> {
    cc::table
        .filter(cc::id.eq(id.to_string()))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?
        .map(ConversationRow::into_domain)
        .transpose()
}

/// Stores the conversation unless one with its key exists; answers the stored id.
fn ensure(conn: &mut AnyConn, c: &ChatConversation) -> Result<Uuid, StorageError> {
    let now = to_text(Utc::now());
    let insert = diesel::insert_into(cc::table)
        .values((
            cc::id.eq(c.id.to_string()),
            cc::session_id.eq(&c.session_id),
            cc::persona_id.eq(c.persona_id.to_string()),
            cc::channel.eq(&c.channel),
            cc::created_at.eq(&now),
            cc::updated_at.eq(&now),
        ))
        .on_conflict((cc::session_id, cc::persona_id, cc::channel))
        .do_nothing();
    on_backend!(&mut *conn, |c| insert.execute(c))?;
    find(conn, &c.session_id, c.persona_id, &c.channel)?
        .map(|stored| stored.id)
        .ok_or_else(|| StorageError::Corrupt("conversation vanished after insert".into()))
}

/// Appends messages in one transaction (storing the conversation first if it is new, and the thread they
/// belong to); answers the stored conversation id and the messages' sequence numbers.
pub fn append(
    conn: &mut AnyConn,
    conversation: &ChatConversation,
    messages: &[ChatMessage],
    thread: Option<&Thread>,
) -> Result<(Uuid, Vec<i64>), StorageError> {
    super::write_tx(conn, |conn| {
        let stored_id = ensure(conn, conversation)?;
        if let Some(t) = thread {
            threads::save(conn, stored_id, t)?;
        }
        let id = stored_id.to_string();
        let mut seqs = Vec::with_capacity(messages.len());
        for m in messages {
            let (tokens_in, tokens_out, latency, ttfc, continue_score, emotions, recalled) =
                stats_columns(m.stats.as_ref())?;
            let seq: i64 = diesel::insert_into(cm::table)
                .values((
                    (
                        cm::conversation_id.eq(&id),
                        cm::role.eq(m.role.as_str()),
                        cm::content.eq(&m.content),
                        cm::sender.eq(&m.sender),
                        cm::room_id.eq(&m.room_id),
                        cm::partial.eq(m.partial),
                        cm::created_at.eq(to_text(m.created_at)),
                        cm::thread_id.eq(m.thread_id.map(|t| t.to_string())),
                        cm::images.eq(serde_json::to_string(&m.images).unwrap_or_else(|_| "[]".into())),
                    ),
                    (
                        cm::tokens_in.eq(tokens_in),
                        cm::tokens_out.eq(tokens_out),
                        cm::latency_seconds.eq(latency),
                        cm::ttfc_seconds.eq(ttfc),
                        cm::continue_score.eq(continue_score),
                        cm::emotions.eq(emotions),
                        cm::recalled.eq(recalled),
                    ),
                ))
                .returning(cm::seq)
                .get_result(conn)?;
            seqs.push(seq);
        }
        diesel::update(cc::table.filter(cc::id.eq(&id)))
            .set(cc::updated_at.eq(to_text(Utc::now())))
            .execute(conn)?;
        Ok((stored_id, seqs))
    })
}

/// The newest `limit` messages, oldest first.
pub fn recent(conn: &mut AnyConn, conversation: Uuid, limit: usize) -> Result<Vec<ChatMessage>, StorageError> {
    let mut rows: Vec<ChatMessage> = cm::table
        .filter(cm::conversation_id.eq(conversation.to_string()))
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

/// Messages after `after_seq` up to and including `through_seq`, oldest first (the part to summarise).
pub fn range(
    conn: &mut AnyConn,
    conversation: Uuid,
    after_seq: i64,
    through_seq: i64,
) -> Result<Vec<ChatMessage>, StorageError> {
    cm::table
        .filter(cm::conversation_id.eq(conversation.to_string()))
        .filter(cm::seq.gt(after_seq))
        .filter(cm::seq.le(through_seq))
        .order(cm::seq.asc())
        .select(MessageRow::as_select())
        .load(conn)?
        .into_iter()
        .map(MessageRow::into_domain)
        .collect()
}

/// Number of messages in a conversation.
pub fn message_count(conn: &mut AnyConn, conversation: Uuid) -> Result<i64, StorageError> {
    Ok(cm::table
        .filter(cm::conversation_id.eq(conversation.to_string()))
        .count()
        .get_result(conn)?)
}

/// Stores a new running summary covering messages up to `through_seq`.
pub fn set_summary(
    conn: &mut AnyConn,
    conversation: Uuid,
    summary: &str,
    through_seq: i64,
) -> Result<(), StorageError> {
    diesel::update(cc::table.filter(cc::id.eq(conversation.to_string())))
        .set((cc::summary.eq(summary), cc::summarized_through.eq(through_seq)))
        .execute(conn)?;
    Ok(())
}
