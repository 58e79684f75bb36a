//! Persona-to-persona conversations ("dialogues") and their turns, as stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A stored persona-to-persona conversation.
#[derive(Debug, Clone)]
pub struct Dialogue {
    /// Id.
    pub id: Uuid,
    /// Who started it.
    pub persona1_id: Uuid,
    /// The other participant.
    pub persona2_id: Uuid,
    /// What it is about.
    pub topic: String,
    /// Tokens the whole conversation may use.
    pub token_budget: i64,
    /// Tokens used so far.
    pub tokens_used: i64,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End, once ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Its turns, oldest first.
    pub turns: Vec<DialogueTurn>,
}

impl Dialogue {
    /// Still going.
    pub fn active(&self) -> bool {
        self.ended_at.is_none()
    }

    /// The participants.
    pub fn participants(&self) -> [Uuid; 2] {
        [self.persona1_id, self.persona2_id]
    }

    /// The continue score of `persona`'s latest turn, if it spoke yet.
    pub fn last_score_of(&self, persona: Uuid) -> Option<f64> {
        self.turns
            .iter()
            .rev()
            .find(|t| t.speaker_id == persona)
            .map(|t| t.continue_score)
    }
}

/// One turn.
#[derive(Debug, Clone)]
pub struct DialogueTurn {
    /// Who spoke.
    pub speaker_id: Uuid,
    /// What was said.
    pub content: String,
    /// The speaker's wish to go on after it (0..100).
    pub continue_score: f64,
    /// Tokens it used.
    pub tokens_used: i64,
    /// When.
    pub created_at: DateTime<Utc>,
}
