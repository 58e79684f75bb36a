//! Persona-to-persona conversations ("dialogues") and their turns, as stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::continue_score::wants_to_end;

/// A stored persona-to-persona conversation.
#[derive(Debug, Clone)]
pub struct Dialogue {
    /// Id.
    pub id: Uuid,
    /// Who started it.
    pub persona1_id: Uuid,
    /// The second participant.
    pub persona2_id: Uuid,
    /// Participants after the first two (a chatroom); empty for a conversation of two.
    pub others: Vec<Uuid>,
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

    /// The participants, in order.
    pub fn participants(&self) -> Vec<Uuid> {
        let mut all = vec![self.persona1_id, self.persona2_id];
        all.extend(&self.others);
        all
    }

    /// True when every participant has spoken and the latest turn of each wants to end (under 40): the
    /// conversation ends itself.
    pub fn all_want_to_end(&self) -> bool {
        self.participants()
            .iter()
            .all(|p| self.last_score_of(*p).is_some_and(wants_to_end))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(speaker: Uuid, score: f64) -> DialogueTurn {
        DialogueTurn {
            speaker_id: speaker,
            content: "…".into(),
            continue_score: score,
            tokens_used: 1,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn it_ends_itself_when_everyone_wants_to() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut d = Dialogue {
            id: Uuid::new_v4(),
            persona1_id: a,
            persona2_id: b,
            others: vec![c],
            topic: "music".into(),
            token_budget: 100,
            tokens_used: 0,
            started_at: Utc::now(),
            ended_at: None,
            end_reason: None,
            turns: vec![turn(a, 10.0), turn(b, 39.0)],
        };
        assert_eq!(d.participants(), vec![a, b, c]);
        assert!(!d.all_want_to_end(), "c has not spoken");
        d.turns.push(turn(c, 45.0));
        assert!(!d.all_want_to_end());
        d.turns.push(turn(c, 20.0));
        assert!(d.all_want_to_end());
        d.others.clear();
        d.turns.push(turn(b, 40.0));
        assert!(!d.all_want_to_end(), "b's latest turn wants to go on");
    }
}
