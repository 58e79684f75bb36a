//! Results of `persona.*` (chat apart) and `emotional.*`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::emotion::EmotionalState;
use crate::domain::persona::{InteractionState, Persona, Priority};
use crate::memory::MemoryStats;

/// One row of `persona.list`.
#[derive(Serialize, JsonSchema)]
pub struct PersonaSummary {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Free to interact now.
    pub available: bool,
    /// 0..200.
    pub social_energy: f64,
    /// What the persona is about.
    pub current_priority: Priority,
    /// Seconds of cooldown left.
    pub cooldown_remaining: f64,
}

/// `persona.list`.
#[derive(Serialize, JsonSchema)]
pub struct PersonaList {
    /// Every persona, in creation order.
    pub personas: Vec<PersonaSummary>,
    /// How many.
    pub total_count: usize,
    /// How many are available.
    pub available_count: usize,
}

/// A card with the persona's memory statistics.
#[derive(Serialize, JsonSchema)]
pub struct CardWithStats {
    /// The card.
    #[serde(flatten)]
    pub card: Persona,
    /// As `memory.stats`.
    pub memory_stats: MemoryStats,
}

/// `persona.get`.
#[derive(Serialize, JsonSchema)]
pub struct PersonaCard {
    /// The card.
    pub persona: CardWithStats,
}

/// `persona.switch`.
#[derive(Serialize, JsonSchema)]
pub struct Switched {
    /// The new current persona.
    pub persona_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Always "active".
    pub status: &'static str,
    /// 0..200.
    pub social_energy: f64,
    /// Seconds it is willing to talk.
    pub available_time: f64,
    /// What it is about.
    pub current_priority: Priority,
    /// The session handle (send it as `session_id` to come back to this session).
    pub session_id: String,
}

/// `persona.create`.
#[derive(Serialize, JsonSchema)]
pub struct Created {
    /// The new persona.
    pub persona_id: Uuid,
    /// Its name.
    pub name: String,
    /// Always true.
    pub created: bool,
}

/// `persona.update`.
#[derive(Serialize, JsonSchema)]
pub struct Updated {
    /// The card as stored.
    pub persona: Persona,
    /// Always true.
    pub updated: bool,
}

/// `persona.delete`.
#[derive(Serialize, JsonSchema)]
pub struct Deleted {
    /// The deleted persona.
    pub persona_id: Uuid,
    /// Its name.
    pub name: String,
    /// Always true.
    pub deleted: bool,
    /// "Persona NAME deleted".
    pub message: String,
}

/// The card fields `persona.status` shows.
#[derive(Serialize, JsonSchema)]
pub struct StatusCard {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Traits as given.
    pub personality_traits: Map<String, Value>,
    /// Topic → preference 0..100.
    pub topic_preferences: BTreeMap<String, f64>,
    /// 1..20.
    pub charisma: i32,
    /// 1..20.
    pub intelligence: i32,
    /// Social rank.
    pub social_rank: String,
}

impl From<&Persona> for StatusCard {
    fn from(p: &Persona) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            personality_traits: p.personality_traits.clone(),
            topic_preferences: p.topic_preferences.clone(),
            charisma: p.charisma,
            intelligence: p.intelligence,
            social_rank: p.social_rank.clone(),
        }
    }
}

/// A persona's interaction state as the clients see it.
#[derive(Serialize, JsonSchema)]
pub struct InteractionView {
    /// 0..100.
    pub interest_level: f64,
    /// ≥ 0.
    pub interaction_fatigue: f64,
    /// What it is about.
    pub current_priority: Priority,
    /// Seconds it is willing to talk.
    pub available_time: f64,
    /// 0..200.
    pub social_energy: f64,
    /// Epoch seconds; 0 when not cooling down.
    pub cooldown_until: f64,
    /// Free to interact now.
    pub is_available: bool,
}

impl InteractionView {
    /// The view of `s` at `now` (epoch seconds).
    pub fn of(s: &InteractionState, now: f64) -> Self {
        Self {
            interest_level: s.interest_level,
            interaction_fatigue: s.interaction_fatigue,
            current_priority: s.current_priority,
            available_time: s.available_time,
            social_energy: s.social_energy,
            cooldown_until: s.cooldown_until,
            is_available: s.is_available(now),
        }
    }
}

/// `persona.status`.
#[derive(Serialize, JsonSchema)]
pub struct Status {
    /// The card.
    pub persona: StatusCard,
    /// The interaction state.
    pub interaction_state: InteractionView,
    /// As `memory.stats`.
    pub memory_stats: MemoryStats,
}

/// `emotional.get_state`.
#[derive(Serialize, JsonSchema)]
pub struct Emotions {
    /// The persona.
    pub persona_id: Uuid,
    /// How it feels.
    pub emotional_state: EmotionalState,
}

/// `emotional.update_state`.
#[derive(Serialize, JsonSchema)]
pub struct EmotionsUpdated {
    /// Always true.
    pub success: bool,
    /// "Emotional state updated successfully".
    pub message: &'static str,
    /// The persona.
    pub persona_id: Uuid,
    /// The state after the update.
    pub updated_state: EmotionalState,
}
