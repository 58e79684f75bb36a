//! Results of `conversation.analytics`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::analytics::{RelationshipChange, ThreadActivity, TurnFigures};

/// `conversation.analytics`.
#[derive(Serialize, JsonSchema)]
pub struct ConversationAnalytics {
    /// The range's start, as asked (none: from the first turn).
    pub since: Option<DateTime<Utc>>,
    /// The range's end, as asked (none: up to now).
    pub until: Option<DateTime<Utc>>,
    /// One entry per persona (the one asked for, or every persona, by name).
    pub personas: Vec<PersonaAnalytics>,
}

/// One persona's conversations in the range.
#[derive(Serialize, JsonSchema)]
pub struct PersonaAnalytics {
    /// The persona.
    pub persona_id: Uuid,
    /// Its name.
    pub name: String,
    /// Conversations, turns, tokens, latency and time to first chunk, continue-score and emotional-state curves.
    #[serde(flatten)]
    pub figures: TurnFigures,
    /// Its topic threads active in the range, with their labels, most recently active first.
    pub threads: Vec<ThreadActivity>,
    /// Its relationship interactions in the range, per partner.
    pub relationship_changes: Vec<RelationshipChange>,
    /// The memories recalled into its prompts most often in the range, most first.
    pub most_recalled_memories: Vec<RecalledMemory>,
}

/// A memory recalled into chat prompts.
#[derive(Serialize, JsonSchema)]
pub struct RecalledMemory {
    /// The memory.
    pub memory_id: Uuid,
    /// Turns whose prompt it was recalled into.
    pub recalls: usize,
    /// Its content (none once it was deleted).
    pub content: Option<String>,
}
