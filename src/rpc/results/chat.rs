//! Results of the one-to-one chat methods.

use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::actors::turn::ChatOutcome;
use crate::domain::persona::Persona;

/// The persona's state after a turn.
#[derive(Serialize, JsonSchema)]
pub struct PersonaStateView {
    /// 0..200.
    pub social_energy: f64,
    /// Seconds it is still willing to talk.
    pub available_time: f64,
    /// ≥ 0.
    pub interaction_fatigue: f64,
}

/// `persona.chat`.
#[derive(Serialize, JsonSchema)]
pub struct ChatReply {
    /// The persona's reply.
    pub response: String,
    /// Always "direct".
    pub response_type: &'static str,
    /// The persona's wish to go on, 0..100.
    pub continue_score: f64,
    /// Tokens the reply used.
    pub tokens_used: u32,
    /// Seconds the turn took.
    pub processing_time: f64,
    /// The persona after the turn.
    pub persona_state: PersonaStateView,
    /// The topic thread the exchange joined (see `conversation.threads`).
    pub thread_id: Uuid,
}

impl From<&ChatOutcome> for ChatReply {
    fn from(o: &ChatOutcome) -> Self {
        Self {
            response: o.response.clone(),
            response_type: "direct",
            continue_score: o.continue_score,
            tokens_used: o.tokens_used,
            processing_time: o.processing_time,
            persona_state: PersonaStateView {
                social_energy: o.persona_state.social_energy,
                available_time: o.persona_state.available_time,
                interaction_fatigue: o.persona_state.interaction_fatigue,
            },
            thread_id: o.thread_id,
        }
    }
}

/// The `data` of a `stream_complete` event, and the result of `persona_chat_stream` as an MCP tool.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StreamComplete {
    /// The whole reply.
    pub full_response: String,
    /// Chunks sent.
    pub chunk_count: usize,
    /// Seconds the turn took.
    pub processing_time: f64,
    /// Characters in the reply.
    pub response_length: usize,
    /// Tokens the reply used.
    pub tokens_used: u32,
    /// Who answered.
    pub persona_name: String,
    /// Its id.
    pub persona_id: Uuid,
    /// The persona's wish to go on, 0..100.
    pub continue_score: f64,
    /// The topic thread the exchange joined (see `conversation.threads`).
    pub thread_id: Uuid,
}

impl StreamComplete {
    /// The completion of `o`, answered by `persona`.
    pub fn of(o: &ChatOutcome, persona: &Persona) -> Self {
        Self {
            full_response: o.response.clone(),
            chunk_count: o.chunk_count,
            processing_time: o.processing_time,
            response_length: o.response.chars().count(),
            tokens_used: o.tokens_used,
            persona_name: persona.name.clone(),
            persona_id: persona.id,
            continue_score: o.continue_score,
            thread_id: o.thread_id,
        }
    }
}

/// `persona.chat_cancel`.
#[derive(Serialize, JsonSchema)]
pub struct Cancelled {
    /// False when no stream of this connection had that id.
    pub cancelled: bool,
    /// The stream.
    pub stream_id: String,
}

/// `conversation.send_message`.
#[derive(Serialize, JsonSchema)]
pub struct MessageReply {
    /// The persona's reply.
    pub response: String,
    /// Who answered.
    pub persona_id: Uuid,
    /// Milliseconds from the request to the reply.
    pub response_time_ms: u64,
    /// True when the exchange became a memory.
    pub memory_stored: bool,
    /// The stored chat conversation (one per room and sender).
    pub conversation_id: Uuid,
}
