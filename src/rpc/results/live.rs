//! Results of `state.subscribe` and `visual.get`, and the `state.changed` notifications a subscription brings.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::conversation::TurnTaken;
use crate::domain::emotion::EmotionalState;
use crate::domain::scene::Scene;
use crate::ops::results::relationship::Dimensions;

/// `state.subscribe`.
#[derive(Serialize, JsonSchema)]
pub struct StateSubscribed {
    /// Whether the connection now receives `state.changed` notifications.
    pub subscribed: bool,
    /// The persona it is narrowed to, as sent (none: every persona).
    pub persona_id: Option<String>,
    /// The kinds of change it receives.
    pub events: Vec<String>,
    /// Connections subscribed now, this one included.
    pub subscribers: usize,
}

/// `visual.get`.
#[derive(Serialize, JsonSchema)]
pub struct VisualContext {
    /// The persona asked about (none: the shared scene).
    pub persona_id: Option<Uuid>,
    /// The scene that goes into its prompts now (the newer of its own and the shared one), or the shared one.
    pub scene: Option<Scene>,
    /// Every stored scene, the shared one first.
    pub scenes: Vec<Scene>,
}

/// `state.changed` params: one persona's state after a change, and what happened.
#[derive(Serialize)]
pub struct StateChanged<'a> {
    /// The persona.
    pub persona_id: Uuid,
    /// Its name.
    pub persona_name: String,
    /// The kinds of change (`emotional_state`, `energy`, …).
    pub changes: Vec<&'static str>,
    /// Its state now.
    pub state: LiveState,
    /// What happened.
    pub detail: &'a Detail,
    /// When the notification was made.
    pub timestamp: DateTime<Utc>,
}

/// A persona's live state as `state.changed` carries it.
#[derive(Serialize)]
pub struct LiveState {
    /// How it feels.
    pub emotional_state: EmotionalState,
    /// 0..200.
    pub social_energy: f64,
    /// ≥ 0.
    pub interaction_fatigue: f64,
    /// Whether it takes part in conversations now.
    pub available: bool,
    /// Seconds of cooldown left.
    pub cooldown_remaining: f64,
    /// The newest persona-to-persona conversation it is in, if any.
    pub current_conversation: Option<Uuid>,
}

/// What happened to cause a `state.changed` (its `detail`): one key naming the kind of event.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// A one-to-one chat turn.
    Chat {
        /// The chat conversation.
        conversation_id: Uuid,
    },
    /// A persona-to-persona conversation started or ended.
    Conversation(ConversationChange),
    /// A persona-to-persona conversation took a turn.
    Turn(TurnDetail),
    /// A relationship was updated.
    Relationship(Dimensions),
    /// The method that changed the state (`emotional.update_state`).
    Source(&'static str),
}

/// A persona-to-persona conversation that started (with its topic) or ended (with its reason).
#[derive(Serialize)]
pub struct ConversationChange {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its topic (when it starts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// False once it ended.
    pub active: bool,
    /// Why it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Detail {
    /// Conversation `id` started on `topic`.
    pub fn conversation_started(id: Uuid, topic: String) -> Self {
        Self::Conversation(ConversationChange {
            conversation_id: id,
            topic: Some(topic),
            active: true,
            reason: None,
        })
    }

    /// Conversation `id` ended for `reason`.
    pub fn conversation_ended(id: Uuid, reason: String) -> Self {
        Self::Conversation(ConversationChange {
            conversation_id: id,
            topic: None,
            active: false,
            reason: Some(reason),
        })
    }
}

/// A turn of a persona-to-persona conversation: who said what, and whether it ended the conversation (the turn's
/// answer without its tokens and final stats).
#[derive(Serialize)]
pub struct TurnDetail {
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
    /// 1-based.
    pub turn_number: usize,
    /// True when the turn ended the conversation.
    pub ended: bool,
    /// Why it ended.
    pub end_reason: Option<String>,
}

impl From<&TurnTaken> for TurnDetail {
    fn from(t: &TurnTaken) -> Self {
        Self {
            conversation_id: t.conversation_id,
            speaker_id: t.speaker_id,
            speaker_name: t.speaker_name.clone(),
            content: t.content.clone(),
            continue_score: t.continue_score,
            turn_number: t.turn_number,
            ended: t.ended,
            end_reason: t.end_reason.clone(),
        }
    }
}
