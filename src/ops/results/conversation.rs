//! The conversation operations' results: what the persona-to-persona `conversation.*` methods answer.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::actors::dialogue::EndReport;
use crate::domain::relationship::Relationship;

/// How a conversation went, in numbers.
#[derive(Serialize, JsonSchema)]
pub struct FinalStats {
    /// Seconds from start to end.
    pub duration: f64,
    /// Turns taken.
    pub turns: usize,
    /// Tokens used.
    pub tokens_used: i64,
}

impl From<&EndReport> for FinalStats {
    fn from(r: &EndReport) -> Self {
        Self {
            duration: r.duration,
            turns: r.turns,
            tokens_used: r.tokens_used,
        }
    }
}

/// `conversation.start`.
#[derive(Serialize, JsonSchema)]
pub struct Started {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its personas (two, or more in a chatroom); the first speaks first.
    pub participants: Vec<Uuid>,
    /// Their names.
    pub participant_names: Vec<String>,
    /// What they talk about.
    pub topic: String,
    /// Tokens the whole conversation may use.
    pub token_budget: i64,
    /// Always true.
    pub started: bool,
}

/// `conversation.turn`.
#[derive(Serialize, JsonSchema)]
pub struct TurnTaken {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Who spoke.
    pub speaker_id: Uuid,
    /// Its name.
    pub speaker_name: String,
    /// What it said.
    pub content: String,
    /// Its wish to go on, 0..100.
    pub continue_score: f64,
    /// Tokens the turn used.
    pub tokens_used: i64,
    /// 1-based.
    pub turn_number: usize,
    /// The conversation ended with this turn.
    pub ended: bool,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// When it ended: its numbers.
    pub final_stats: Option<FinalStats>,
}

/// `conversation.end`.
#[derive(Serialize, JsonSchema)]
pub struct Ended {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Always true.
    pub ended: bool,
    /// Why it ended (the first reason given, when ended twice).
    pub reason: String,
    /// Its numbers.
    pub final_stats: FinalStats,
    /// The personas' relationship after it.
    pub relationship: Option<Relationship>,
}

/// `conversation.status`, and one row of `conversation.list`.
#[derive(Serialize, JsonSchema)]
pub struct DialogueStatus {
    /// The conversation.
    pub id: Uuid,
    /// The same.
    pub conversation_id: Uuid,
    /// Its personas (two, or more in a chatroom).
    pub participants: Vec<Uuid>,
    /// What they talk about.
    pub topic: String,
    /// Turns taken.
    pub turn_count: usize,
    /// Seconds so far (or until it ended).
    pub duration: f64,
    /// The last speaker's wish to go on.
    pub continue_score: Option<f64>,
    /// Tokens left.
    pub tokens_remaining: i64,
    /// Tokens used.
    pub tokens_used: i64,
    /// Whether another turn makes sense.
    pub should_continue: bool,
    /// Not ended.
    pub active: bool,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

/// `conversation.list`.
#[derive(Serialize, JsonSchema)]
pub struct DialogueList {
    /// The conversations.
    pub conversations: Vec<DialogueStatus>,
    /// How many.
    pub total: usize,
}
