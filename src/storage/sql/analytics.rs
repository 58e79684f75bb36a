//! Analytics queries: the stored chat turns (replies with their statistics), topic threads and relationship
//! interactions of a time range, for one persona or all.

use std::collections::BTreeMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::messages::StatsRow;
use super::schema::{chat_conversations as cc, chat_messages as cm, chat_threads as ct, interactions as ia};
use super::{from_text, parse_uuid, to_text, AnyConn, StorageError};
use crate::domain::analytics::{InteractionRecord, Span, ThreadActivity, TurnRow};

/// Chat conversation id → persona id, for one persona or all.
fn conversations(conn: &mut AnyConn, persona: Option<Uuid>) -> Result<BTreeMap<String, Uuid>, StorageError> {
    let mut query = cc::table.into_boxed();
    if let Some(p) = persona {
        query = query.filter(cc::persona_id.eq(p.to_string()));
    }
    query
        .select((cc::id, cc::persona_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(id, persona)| Ok((id, parse_uuid(&persona)?)))
        .collect()
}

/// The replies with statistics stored in `span`, each with its persona and conversation.
pub fn turns(conn: &mut AnyConn, persona: Option<Uuid>, span: Span) -> Result<Vec<TurnRow>, StorageError> {
    let conversations = conversations(conn, persona)?;
    let mut query = cm::table
        .filter(cm::conversation_id.eq_any(conversations.keys()))
        .filter(cm::role.eq("assistant"))
        .filter(cm::tokens_out.is_not_null())
        .into_boxed();
    if let Some(since) = span.since {
        query = query.filter(cm::created_at.ge(to_text(since)));
    }
    if let Some(until) = span.until {
        query = query.filter(cm::created_at.le(to_text(until)));
    }
    let rows: Vec<(String, String, StatsRow)> = query
        .order(cm::seq.asc())
        .select((cm::conversation_id, cm::created_at, StatsRow::as_select()))
        .load(conn)?;
    let mut turns = Vec::with_capacity(rows.len());
    for (conversation, at, stats) in rows {
        let Some(stats) = stats.into_domain()? else { continue };
        turns.push(TurnRow {
            persona_id: conversations[&conversation],
            conversation_id: parse_uuid(&conversation)?,
            at: from_text(&at)?,
            stats,
        });
    }
    Ok(turns)
}

/// The threads active in `span` (started before its end, last active after its start), most recently active
/// first.
pub fn threads(conn: &mut AnyConn, persona: Option<Uuid>, span: Span) -> Result<Vec<ThreadActivity>, StorageError> {
    let conversations = conversations(conn, persona)?;
    let mut query = ct::table
        .filter(ct::conversation_id.eq_any(conversations.keys()))
        .into_boxed();
    if let Some(since) = span.since {
        query = query.filter(ct::last_active.ge(to_text(since)));
    }
    if let Some(until) = span.until {
        query = query.filter(ct::created_at.le(to_text(until)));
    }
    query
        .order((ct::last_active.desc(), ct::id.asc()))
        .select((
            ct::conversation_id,
            ct::id,
            ct::label,
            ct::message_count,
            ct::last_active,
        ))
        .load::<(String, String, String, i64, String)>(conn)?
        .into_iter()
        .map(|(conversation, id, label, message_count, last)| {
            Ok(ThreadActivity {
                persona_id: conversations[&conversation],
                thread_id: parse_uuid(&id)?,
                label,
                message_count,
                last_active: from_text(&last)?,
            })
        })
        .collect()
}

/// The relationship interactions in `span` that involve `persona` (or anyone), oldest first.
pub fn interactions(
    conn: &mut AnyConn,
    persona: Option<Uuid>,
    span: Span,
) -> Result<Vec<InteractionRecord>, StorageError> {
    let mut query = ia::table.into_boxed();
    if let Some(p) = persona {
        let p = p.to_string();
        query = query.filter(ia::persona1_id.eq(p.clone()).or(ia::persona2_id.eq(p)));
    }
    if let Some(since) = span.since {
        query = query.filter(ia::at.ge(to_text(since)));
    }
    if let Some(until) = span.until {
        query = query.filter(ia::at.le(to_text(until)));
    }
    query
        .order(ia::seq.asc())
        .select((ia::persona1_id, ia::persona2_id, ia::quality, ia::context, ia::at))
        .load::<(String, String, f64, String, String)>(conn)?
        .into_iter()
        .map(|(a, b, quality, context, at)| {
            Ok(InteractionRecord {
                persona1_id: parse_uuid(&a)?,
                persona2_id: parse_uuid(&b)?,
                quality,
                context,
                at: from_text(&at)?,
            })
        })
        .collect()
}
