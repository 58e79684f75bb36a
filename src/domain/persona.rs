//! Personas and their interaction state: the data every other domain module reads.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A character hosted by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Persona {
    /// Stable identifier.
    pub id: Uuid,
    /// Unique (case-insensitive) display name.
    pub name: String,
    /// Free-text description used in the system prompt.
    pub description: String,
    /// Trait → value as sent by the client: usually 0..100 numbers, sometimes words such as "high".
    pub personality_traits: serde_json::Map<String, Value>,
    /// Topic → preference 0..100.
    pub topic_preferences: BTreeMap<String, f64>,
    /// 1..20.
    pub charisma: i32,
    /// 1..20.
    pub intelligence: i32,
    /// commoner, performer, scholar, merchant, noble, royalty…
    pub social_rank: String,
    /// LLM model override for this persona.
    pub model: Option<String>,
    /// Extra system prompt text.
    pub system_prompt: Option<String>,
    /// URL of the avatar image, when one was uploaded.
    pub avatar_url: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Character card fields kept beyond the persona's own (greeting, scenario, tags…).
    pub card: crate::domain::card::CardExtras,
}

impl Persona {
    /// A trait's value on a 0..100 scale: numbers as given (clamped), words mapped
    /// ("very high" 90, "high" 75, "medium" 50, "low" 25, "very low" 10). `None` when absent or unreadable.
    pub fn trait_value(&self, name: &str) -> Option<f64> {
        trait_score(self.personality_traits.get(name)?)
    }

    /// Preference 0..100 for a topic, 0 when the persona has none.
    pub fn topic_preference(&self, topic: &str) -> f64 {
        self.topic_preferences.get(topic).copied().unwrap_or(0.0)
    }
}

/// Changes to a persona card: only the fields that are `Some` change (`model` and `system_prompt` may be
/// cleared with `Some(None)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonaChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New traits (replacing the old ones).
    pub personality_traits: Option<serde_json::Map<String, Value>>,
    /// New topic preferences (replacing the old ones).
    pub topic_preferences: Option<BTreeMap<String, f64>>,
    /// New charisma.
    pub charisma: Option<i32>,
    /// New intelligence.
    pub intelligence: Option<i32>,
    /// New social rank.
    pub social_rank: Option<String>,
    /// New model override (`Some(None)` clears it).
    pub model: Option<Option<String>>,
    /// New extra system prompt (`Some(None)` clears it).
    pub system_prompt: Option<Option<String>>,
    /// New avatar address (`Some(None)` removes it).
    pub avatar_url: Option<Option<String>>,
}

impl PersonaChanges {
    /// Writes the changed fields into `p`.
    pub fn apply(self, p: &mut Persona) {
        let Self {
            name,
            description,
            personality_traits,
            topic_preferences,
            charisma,
            intelligence,
            social_rank,
            model,
            system_prompt,
            avatar_url,
        } = self;
        if let Some(v) = name {
            p.name = v;
        }
        if let Some(v) = description {
            p.description = v;
        }
        if let Some(v) = personality_traits {
            p.personality_traits = v;
        }
        if let Some(v) = topic_preferences {
            p.topic_preferences = v;
        }
        if let Some(v) = charisma {
            p.charisma = v;
        }
        if let Some(v) = intelligence {
            p.intelligence = v;
        }
        if let Some(v) = social_rank {
            p.social_rank = v;
        }
        if let Some(v) = model {
            p.model = v;
        }
        if let Some(v) = system_prompt {
            p.system_prompt = v;
        }
        if let Some(v) = avatar_url {
            p.avatar_url = v;
        }
    }
}

/// Reads one trait value (number or word) on a 0..100 scale.
pub fn trait_score(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().map(|v| v.clamp(0.0, 100.0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "very high" | "very_high" | "extreme" => Some(90.0),
            "high" => Some(75.0),
            "medium" | "moderate" | "average" => Some(50.0),
            "low" => Some(25.0),
            "very low" | "very_low" | "none" => Some(10.0),
            other => other.parse::<f64>().ok().map(|v| v.clamp(0.0, 100.0)),
        },
        Value::Bool(true) => Some(75.0),
        Value::Bool(false) => Some(25.0),
        _ => None,
    }
}

/// What the persona is busy with; drives how fast its patience runs out (continue score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Drops interest fastest.
    Urgent,
    /// Work that matters.
    Important,
    /// Small talk.
    Casual,
    /// Meeting people.
    Social,
    /// Study and research.
    Academic,
    /// Trade and business.
    Business,
    /// Nothing in particular.
    None,
}

impl Priority {
    /// Parses a priority name, `None` for unknown words.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "urgent" => Self::Urgent,
            "important" => Self::Important,
            "casual" => Self::Casual,
            "social" => Self::Social,
            "academic" => Self::Academic,
            "business" => Self::Business,
            "none" => Self::None,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::Important => "important",
            Self::Casual => "casual",
            Self::Social => "social",
            Self::Academic => "academic",
            Self::Business => "business",
            Self::None => "none",
        }
    }
}

/// How ready a persona is to interact right now. Owned and written only by its `PersonaActor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionState {
    /// 0..100.
    pub interest_level: f64,
    /// ≥ 0, grows with each turn, recovers with rest.
    pub interaction_fatigue: f64,
    /// Current priority.
    pub current_priority: Priority,
    /// Seconds the persona is willing to spend talking.
    pub available_time: f64,
    /// 0..200.
    pub social_energy: f64,
    /// The level social energy regenerates to.
    pub base_energy: f64,
    /// The available time the persona returns to after rest.
    pub base_available_time: f64,
    /// Epoch seconds; 0 when not cooling down.
    pub cooldown_until: f64,
}

impl InteractionState {
    /// The state a new persona starts with.
    pub fn new(priority: Priority, social_energy: f64, available_time: f64) -> Self {
        Self {
            interest_level: 50.0,
            interaction_fatigue: 0.0,
            current_priority: priority,
            available_time,
            social_energy,
            base_energy: social_energy,
            base_available_time: available_time,
            cooldown_until: 0.0,
        }
    }

    /// Seconds of cooldown left at `now` (epoch seconds).
    pub fn cooldown_remaining(&self, now: f64) -> f64 {
        (self.cooldown_until - now).max(0.0)
    }

    /// Available for a person: not cooling down and some social energy left.
    pub fn is_available(&self, now: f64) -> bool {
        self.cooldown_remaining(now) <= 0.0 && self.social_energy > 0.0
    }

    /// Available for a persona-to-persona conversation (stricter, DOMAIN.md).
    pub fn can_converse(&self, now: f64) -> bool {
        self.cooldown_remaining(now) <= 0.0 && self.available_time > 30.0 && self.social_energy > 10.0
    }
}
