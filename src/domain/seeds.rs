//! The default personas seeded on first start (DOMAIN.md): Aria the bard and Kira the scholar.

use chrono::Utc;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::persona::{InteractionState, Persona, Priority};
use super::relationship::Relationship;

struct Seed {
    name: &'static str,
    description: &'static str,
    traits: &'static [(&'static str, u32)],
    topics: &'static [(&'static str, u32)],
    charisma: i32,
    intelligence: i32,
    social_rank: &'static str,
    priority: Priority,
    social_energy: f64,
    available_time: f64,
}

const SEEDS: [Seed; 2] = [
    Seed {
        name: "Aria",
        description: "A vibrant elven bard with sparkling eyes and an infectious laugh, who loves stories, music \
                      and meeting new people.",
        traits: &[
            ("extroverted", 90),
            ("creative", 85),
            ("empathetic", 80),
            ("curious", 75),
            ("optimistic", 85),
        ],
        topics: &[
            ("music", 95),
            ("stories", 90),
            ("travel", 85),
            ("gossip", 80),
            ("magic", 70),
            ("adventure", 85),
            ("art", 80),
            ("local_news", 75),
        ],
        charisma: 18,
        intelligence: 14,
        social_rank: "performer",
        priority: Priority::Social,
        social_energy: 150.0,
        available_time: 600.0,
    },
    Seed {
        name: "Kira",
        description: "A brilliant human scholar with a keen analytical mind, who prefers deep conversations about \
                      knowledge and discovery.",
        traits: &[
            ("introverted", 70),
            ("analytical", 95),
            ("focused", 90),
            ("methodical", 85),
            ("reserved", 75),
        ],
        topics: &[
            ("research", 95),
            ("magic", 90),
            ("history", 85),
            ("philosophy", 80),
            ("books", 85),
            ("discovery", 90),
            ("gossip", 20),
            ("small_talk", 25),
        ],
        charisma: 12,
        intelligence: 18,
        social_rank: "scholar",
        priority: Priority::Academic,
        social_energy: 80.0,
        available_time: 300.0,
    },
];

/// Aria and Kira with their initial interaction states, fresh ids and the current time.
pub fn defaults() -> Vec<(Persona, InteractionState)> {
    let now = Utc::now();
    SEEDS
        .iter()
        .map(|s| {
            let traits: Map<String, Value> = s.traits.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            let persona = Persona {
                id: Uuid::new_v4(),
                name: s.name.into(),
                description: s.description.into(),
                personality_traits: traits,
                topic_preferences: s.topics.iter().map(|(k, v)| (k.to_string(), f64::from(*v))).collect(),
                charisma: s.charisma,
                intelligence: s.intelligence,
                social_rank: s.social_rank.into(),
                model: None,
                system_prompt: None,
                avatar_url: None,
                created_at: now,
                updated_at: now,
                card: Default::default(),
            };
            (
                persona,
                InteractionState::new(s.priority, s.social_energy, s.available_time),
            )
        })
        .collect()
}

/// The acquaintance seeded between Aria and Kira (DOMAIN.md, "Personas").
pub fn acquaintance(aria: Uuid, kira: Uuid) -> Relationship {
    let mut seeded = Relationship {
        affinity: 0.3,
        trust: 0.3,
        respect: 0.4,
        intimacy: 0.1,
        ..Relationship::new(aria, kira, Utc::now())
    };
    seeded.refresh_type();
    seeded
}
