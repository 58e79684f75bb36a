//! Chat conversations and their messages, as stored and as sent to the model.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::emotion::EmotionalState;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The person (or the other persona).
    User,
    /// The persona.
    Assistant,
}

impl Role {
    /// The wire name, as the model APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }

    /// Parses a stored role.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(Self::System),
            "user" => Some(Self::User),
            "assistant" => Some(Self::Assistant),
            _ => None,
        }
    }
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// Storage sequence number (0 before it is stored).
    pub seq: i64,
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
    /// Chat-platform sender, for bridged messages.
    pub sender: Option<String>,
    /// Chat-platform room, for bridged messages.
    pub room_id: Option<String>,
    /// True for a reply cut short (cancel, disconnect, timeout).
    pub partial: bool,
    /// The topic thread it belongs to (none for messages stored before threads existed).
    pub thread_id: Option<Uuid>,
    /// When it was said.
    pub created_at: DateTime<Utc>,
    /// Pictures sent with it: their file names under the data dir's `media/` (`<sha256>.<ext>`).
    pub images: Vec<String>,
    /// For a reply: what its turn cost and did (conversation analytics read these).
    pub stats: Option<TurnStats>,
}

/// What a chat turn cost and did, stored with its reply.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnStats {
    /// Prompt tokens, when the model server says.
    pub tokens_in: Option<u32>,
    /// Reply tokens (the server's count, else the chunk count).
    pub tokens_out: u32,
    /// Seconds from the turn's start to the reply's last token.
    pub latency_seconds: f64,
    /// Seconds from the turn's start to the reply's first chunk (none without a chunk).
    pub ttfc_seconds: Option<f64>,
    /// The persona's wish to go on after the turn (0..100).
    pub continue_score: f64,
    /// How the persona felt after the turn.
    pub emotions: EmotionalState,
    /// The memories recalled into the prompt.
    pub recalled: Vec<Uuid>,
}

impl ChatMessage {
    /// A new, not yet stored message.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            seq: 0,
            role,
            content: content.into(),
            sender: None,
            room_id: None,
            partial: false,
            thread_id: None,
            created_at: Utc::now(),
            images: Vec::new(),
            stats: None,
        }
    }
}

/// A message as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptMessage {
    /// `system`, `user` or `assistant`.
    pub role: Role,
    /// Text.
    pub content: String,
}

/// A stored chat conversation.
#[derive(Debug, Clone)]
pub struct ChatConversation {
    /// Conversation id.
    pub id: Uuid,
    /// The client session that owns it.
    pub session_id: String,
    /// The persona spoken to.
    pub persona_id: Uuid,
    /// Room/sender key for chat-platform bridges; empty for direct chats.
    pub channel: String,
    /// Running summary of messages older than the window.
    pub summary: Option<String>,
    /// Sequence number of the last message folded into the summary.
    pub summarized_through: i64,
}

impl ChatConversation {
    /// A conversation not stored yet: it is written with its first messages.
    pub fn new(session_id: &str, persona: Uuid, channel: &str) -> Self {
        Self {
            id: Uuid::new_v4(),
            session_id: session_id.to_string(),
            persona_id: persona,
            channel: channel.to_string(),
            summary: None,
            summarized_through: 0,
        }
    }
}
