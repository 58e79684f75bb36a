//! What the operator reads of conversations (the admin API's `/conversations`): chats and persona-to-persona
//! conversations as rows, and one with its transcript.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::conversation::DialogueStatus;
use crate::domain::chat::{ChatConversation, ChatMessage};

/// A chat: a client (or a Matrix room's speaker) with a persona.
#[derive(Serialize, JsonSchema)]
pub struct ChatRow {
    /// Conversation id.
    pub id: Uuid,
    /// Always `chat`.
    pub kind: &'static str,
    /// The persona.
    pub persona_id: Uuid,
    /// The client's session.
    pub session_id: String,
    /// Where it happens (a connection, a Matrix room and speaker).
    pub channel: String,
    /// The summary of its older messages.
    pub summary: Option<String>,
}

impl From<&ChatConversation> for ChatRow {
    fn from(c: &ChatConversation) -> Self {
        Self {
            id: c.id,
            kind: "chat",
            persona_id: c.persona_id,
            session_id: c.session_id.clone(),
            channel: c.channel.clone(),
            summary: c.summary.clone(),
        }
    }
}

/// A persona-to-persona conversation: the row of `conversation.list`.
#[derive(Serialize, JsonSchema)]
pub struct DialogueRow {
    /// As `conversation.status`.
    #[serde(flatten)]
    pub status: DialogueStatus,
    /// Always `dialogue`.
    pub kind: &'static str,
}

/// A row of the list of conversations.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ConversationRow {
    /// A chat.
    Chat(ChatRow),
    /// A persona-to-persona conversation.
    Dialogue(DialogueRow),
}

/// A chat message.
#[derive(Serialize, JsonSchema)]
pub struct MessageRow {
    /// Its place in the conversation.
    pub seq: i64,
    /// user, assistant or system.
    pub role: &'static str,
    /// The text.
    pub content: String,
    /// Who wrote it (a Matrix user), when known.
    pub sender: Option<String>,
    /// The Matrix room, when it came from one.
    pub room_id: Option<String>,
    /// A reply cut short.
    pub partial: bool,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Pictures sent with it: file names under the data dir's `media/` (`<sha256>.<ext>`).
    pub images: Vec<String>,
}

impl From<&ChatMessage> for MessageRow {
    fn from(m: &ChatMessage) -> Self {
        Self {
            seq: m.seq,
            role: m.role.as_str(),
            content: m.content.clone(),
            sender: m.sender.clone(),
            room_id: m.room_id.clone(),
            partial: m.partial,
            created_at: m.created_at,
            images: m.images.clone(),
        }
    }
}

/// A turn of a persona-to-persona conversation.
#[derive(Serialize, JsonSchema)]
pub struct TurnRow {
    /// Who spoke.
    pub speaker_id: Uuid,
    /// What they said.
    pub content: String,
    /// Their wish to go on, 0..1.
    pub continue_score: f64,
    /// Tokens the turn used.
    pub tokens_used: i64,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A conversation with its transcript.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Transcript {
    /// A chat and its messages.
    Chat {
        /// The chat.
        #[serde(flatten)]
        chat: ChatRow,
        /// Its messages, oldest first.
        messages: Vec<MessageRow>,
    },
    /// A persona-to-persona conversation and its turns.
    Dialogue {
        /// The conversation.
        #[serde(flatten)]
        dialogue: DialogueRow,
        /// Its turns, oldest first.
        messages: Vec<TurnRow>,
    },
}
