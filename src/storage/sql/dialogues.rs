//! Repo of persona-to-persona conversations ("dialogues") and their turns.

use super::AnyConn;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{dialogue_turns as dt, dialogues as d};
use super::{from_text, parse_uuid, to_text, StorageError};
use crate::domain::dialogue::{Dialogue, DialogueTurn};

type DialogueRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
);
type TurnRow = (String, String, f64, i64, String);

fn turns_of(conn: &mut AnyConn, id: &str) -> Result<Vec<DialogueTurn>, StorageError> {
    let rows: Vec<TurnRow> = dt::table
        .filter(dt::dialogue_id.eq(id))
        .order(dt::seq.asc())
        .select((
            dt::speaker_id,
            dt::content,
            dt::continue_score,
            dt::tokens_used,
            dt::created_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(speaker, content, score, tokens, at)| {
            Ok(DialogueTurn {
                speaker_id: parse_uuid(&speaker)?,
                content,
                continue_score: score,
                tokens_used: tokens,
                created_at: from_text(&at)?,
            })
        })
        .collect()
}

fn into_domain(conn: &mut AnyConn, row: DialogueRow) -> Result<Dialogue, StorageError> {
    let (id, p1, p2, topic, budget, used, started, ended, reason, more) = row;
    let others: Vec<String> =
        serde_json::from_str(&more).map_err(|e| StorageError::Corrupt(format!("more_participants {more:?}: {e}")))?;
    Ok(Dialogue {
        others: others.iter().map(|p| parse_uuid(p)).collect::<Result<_, _>>()?,
        turns: turns_of(conn, &id)?,
        id: parse_uuid(&id)?,
        persona1_id: parse_uuid(&p1)?,
        persona2_id: parse_uuid(&p2)?,
        topic,
        token_budget: budget,
        tokens_used: used,
        started_at: from_text(&started)?,
        ended_at: ended.as_deref().map(from_text).transpose()?,
        end_reason: reason,
    })
}

/// Ids as a JSON list of strings.
fn json_ids(ids: &[Uuid]) -> String {
    serde_json::to_string(&ids.iter().map(Uuid::to_string).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

/// Stores a new conversation.
pub fn insert(conn: &mut AnyConn, dl: &Dialogue) -> Result<(), StorageError> {
    diesel::insert_into(d::table)
        .values((
            d::id.eq(dl.id.to_string()),
            d::persona1_id.eq(dl.persona1_id.to_string()),
            d::persona2_id.eq(dl.persona2_id.to_string()),
            d::topic.eq(&dl.topic),
            d::token_budget.eq(dl.token_budget),
            d::tokens_used.eq(dl.tokens_used),
            d::started_at.eq(to_text(dl.started_at)),
            d::more_participants.eq(json_ids(&dl.others)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The conversation with its turns.
pub fn get(conn: &mut AnyConn, id: Uuid) -> Result<Option<Dialogue>, StorageError> {
    let row: Option<DialogueRow> = d::table
        .filter(d::id.eq(id.to_string()))
        .select(d::all_columns)
        .first(conn)
        .optional()?;
    row.map(|r| into_domain(conn, r)).transpose()
}

/// Conversations, newest first, optionally of one persona and/or only active ones.
pub fn list(conn: &mut AnyConn, persona: Option<Uuid>, active_only: bool) -> Result<Vec<Dialogue>, StorageError> {
    let mut q = d::table.select(d::all_columns).order(d::started_at.desc()).into_boxed();
    if let Some(p) = persona {
        let p = p.to_string();
        let among_others = format!("%\"{p}\"%");
        q = q.filter(
            d::persona1_id
                .eq(p.clone())
                .or(d::persona2_id.eq(p))
                .or(d::more_participants.like(among_others)),
        );
    }
    if active_only {
        q = q.filter(d::ended_at.is_null());
    }
    let rows: Vec<DialogueRow> = q.load(conn)?;
    rows.into_iter().map(|r| into_domain(conn, r)).collect()
}

/// Appends a turn and counts its tokens, in one transaction.
pub fn add_turn(conn: &mut AnyConn, id: Uuid, turn: &DialogueTurn) -> Result<(), StorageError> {
    let key = id.to_string();
    super::write_tx(conn, |conn| {
        diesel::insert_into(dt::table)
            .values((
                dt::dialogue_id.eq(&key),
                dt::speaker_id.eq(turn.speaker_id.to_string()),
                dt::content.eq(&turn.content),
                dt::continue_score.eq(turn.continue_score),
                dt::tokens_used.eq(turn.tokens_used),
                dt::created_at.eq(to_text(turn.created_at)),
            ))
            .execute(conn)?;
        diesel::update(d::table.filter(d::id.eq(&key)))
            .set(d::tokens_used.eq(d::tokens_used + turn.tokens_used))
            .execute(conn)?;
        Ok(())
    })
}

/// Marks a conversation ended.
pub fn end(conn: &mut AnyConn, id: Uuid, at: DateTime<Utc>, reason: &str) -> Result<(), StorageError> {
    diesel::update(d::table.filter(d::id.eq(id.to_string())))
        .set((d::ended_at.eq(to_text(at)), d::end_reason.eq(reason)))
        .execute(conn)?;
    Ok(())
}

/// Removes the chatrooms a persona took part in beyond the first two participants (those of the first two go
/// with the persona by cascade); their turns go by cascade.
pub fn delete_rooms_of(conn: &mut AnyConn, persona: Uuid) -> Result<(), StorageError> {
    let rooms: Vec<String> = d::table
        .filter(d::more_participants.like(format!("%\"{persona}\"%")))
        .select(d::id)
        .load(conn)?;
    diesel::delete(d::table.filter(d::id.eq_any(&rooms))).execute(conn)?;
    Ok(())
}

/// Number of active conversations.
pub fn active_count(conn: &mut AnyConn) -> Result<i64, StorageError> {
    Ok(d::table.filter(d::ended_at.is_null()).count().get_result(conn)?)
}
