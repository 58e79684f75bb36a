//! A row of `chat_messages` and the domain message it holds, read by conversations and by their threads.

use diesel::prelude::*;

use super::schema::chat_messages as cm;
use super::{from_text, parse_uuid, StorageError};
use crate::domain::chat::{ChatMessage, Role, TurnStats};

/// One stored chat message.
#[derive(Queryable, Selectable)]
#[diesel(table_name = cm)]
pub(super) struct MessageRow {
    seq: i64,
    role: String,
    content: String,
    sender: Option<String>,
    room_id: Option<String>,
    partial: bool,
    created_at: String,
    thread_id: Option<String>,
    images: String,
    #[diesel(embed)]
    stats: StatsRow,
}

/// A reply's turn statistics, as stored (every column NULL on user messages and older replies).
#[derive(Queryable, Selectable)]
#[diesel(table_name = cm)]
pub(super) struct StatsRow {
    tokens_in: Option<i64>,
    tokens_out: Option<i64>,
    latency_seconds: Option<f64>,
    ttfc_seconds: Option<f64>,
    continue_score: Option<f64>,
    emotions: Option<String>,
    recalled: Option<String>,
}

impl StatsRow {
    /// The statistics, when the row has them.
    pub(super) fn into_domain(self) -> Result<Option<TurnStats>, StorageError> {
        let (Some(tokens_out), Some(latency_seconds), Some(continue_score), Some(emotions)) = (
            self.tokens_out,
            self.latency_seconds,
            self.continue_score,
            self.emotions,
        ) else {
            return Ok(None);
        };
        let corrupt = |what: &str, e: serde_json::Error| StorageError::Corrupt(format!("turn {what}: {e}"));
        Ok(Some(TurnStats {
            tokens_in: self.tokens_in.and_then(|t| u32::try_from(t).ok()),
            tokens_out: u32::try_from(tokens_out).unwrap_or(u32::MAX),
            latency_seconds,
            ttfc_seconds: self.ttfc_seconds,
            continue_score,
            emotions: serde_json::from_str(&emotions).map_err(|e| corrupt("emotions", e))?,
            recalled: match self.recalled {
                Some(ids) => serde_json::from_str(&ids).map_err(|e| corrupt("recalled memories", e))?,
                None => Vec::new(),
            },
        }))
    }
}

impl MessageRow {
    pub(super) fn into_domain(self) -> Result<ChatMessage, StorageError> {
        Ok(ChatMessage {
            seq: self.seq,
            role: Role::parse(&self.role).ok_or_else(|| StorageError::Corrupt(format!("role {:?}", self.role)))?,
            content: self.content,
            sender: self.sender,
            room_id: self.room_id,
            partial: self.partial,
            thread_id: self.thread_id.as_deref().map(parse_uuid).transpose()?,
            created_at: from_text(&self.created_at)?,
            images: serde_json::from_str(&self.images)
                .map_err(|e| StorageError::Corrupt(format!("message images {:?}: {e}", self.images)))?,
            stats: self.stats.into_domain()?,
        })
    }
}
