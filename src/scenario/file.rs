//! The scenario file (TOML): personas to create, a setup (relationships, emotions, memories), steps (user chats
//! and persona-to-persona conversations, with scripted replies for the fake model and per-step expectations)
//! and final expectations (relationship, memory, emotion).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A whole scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it checks, for the report.
    pub name: String,
    /// Personas to create first (`persona.create` params); names that exist already are used as they are.
    #[serde(default)]
    pub persona: Vec<BTreeMap<String, Value>>,
    /// State before the steps.
    #[serde(default)]
    pub setup: Setup,
    /// What happens, in order.
    #[serde(default)]
    pub step: Vec<Step>,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Vec<Expect>,
}

/// State before the steps.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// `relationship.update` calls.
    #[serde(default)]
    pub relationship: Vec<RelationshipSetup>,
    /// `emotional.update_state` calls (`persona` plus any of the five fields).
    #[serde(default)]
    pub emotion: Vec<BTreeMap<String, Value>>,
    /// `memory.store` calls (`persona`, `content`, and any other `memory.store` param).
    #[serde(default)]
    pub memory: Vec<BTreeMap<String, Value>>,
}

/// Interactions between two personas before the steps.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipSetup {
    /// The two personas.
    pub personas: [String; 2],
    /// Quality of each interaction, −1..1.
    pub quality: f64,
    /// Minutes each.
    #[serde(default = "thirty")]
    pub minutes: f64,
    /// How many.
    #[serde(default = "one")]
    pub times: usize,
}

fn thirty() -> f64 {
    30.0
}

fn one() -> usize {
    1
}

/// One step: a user chat (`chat` + `message`) or a persona-to-persona conversation (`conversation`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The persona a user chats with.
    pub chat: Option<String>,
    /// What the user says.
    pub message: Option<String>,
    /// The personas of a conversation (two, or more for a chatroom).
    pub conversation: Option<Vec<String>>,
    /// The conversation's topic.
    #[serde(default = "general")]
    pub topic: String,
    /// Most turns before the runner ends the conversation.
    #[serde(default = "twenty")]
    pub turns: usize,
    /// The conversation's token budget.
    #[serde(default = "budget")]
    pub token_budget: i64,
    /// Replies the fake model gives in this step, in order (ignored with the configured model).
    #[serde(default)]
    pub replies: Vec<String>,
    /// The chat reply must contain each (case-insensitive).
    #[serde(default)]
    pub expect_reply_contains: Vec<String>,
    /// The chat reply must contain none (case-insensitive).
    #[serde(default)]
    pub expect_reply_not_contains: Vec<String>,
    /// The conversation must end by itself within this many turns.
    pub expect_ends_within: Option<usize>,
}

fn general() -> String {
    "general".into()
}

fn twenty() -> usize {
    20
}

fn budget() -> i64 {
    4000
}

/// A final expectation: about a relationship, a memory or an emotion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Two personas whose relationship is checked.
    pub relationship: Option<[String; 2]>,
    /// Its type afterwards (`friend`, `acquaintance`, …).
    #[serde(rename = "type")]
    pub relationship_type: Option<String>,
    /// How its strength moved from before the steps: `up` or `down`.
    pub strength: Option<Direction>,
    /// The persona whose memories are searched.
    pub memory: Option<String>,
    /// Words one memory must all contain (case-insensitive).
    #[serde(default)]
    pub contains: Vec<String>,
    /// That memory's visibility.
    pub visibility: Option<String>,
    /// The persona whose emotional state is checked.
    pub emotion: Option<String>,
    /// The field: mood, energy_level, stress_level, curiosity or social_battery.
    pub field: Option<String>,
    /// How it moved from before the steps.
    pub direction: Option<Direction>,
}

/// Which way a number moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher than before.
    Up,
    /// Lower than before.
    Down,
}

impl Direction {
    /// True when `after` moved this way from `before`.
    pub fn holds(self, before: f64, after: f64) -> bool {
        match self {
            Self::Up => after > before,
            Self::Down => after < before,
        }
    }
}

/// The emotional-state fields an expectation may name.
pub const EMOTION_FIELDS: [&str; 5] = ["mood", "energy_level", "stress_level", "curiosity", "social_battery"];

impl Scenario {
    /// Parses and checks a scenario; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Self, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, step) in s.step.iter().enumerate() {
            let n = i + 1;
            match (&step.chat, &step.message, &step.conversation) {
                (Some(_), Some(_), None) => {}
                (None, None, Some(c)) if c.len() >= 2 => {}
                _ => {
                    return Err(format!(
                        "step {n}: give either chat + message, or conversation (two or more personas)"
                    ))
                }
            }
        }
        for (i, e) in s.expect.iter().enumerate() {
            let n = i + 1;
            let kinds = [e.relationship.is_some(), e.memory.is_some(), e.emotion.is_some()];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return Err(format!("expect {n}: name exactly one of relationship, memory, emotion"));
            }
            if e.relationship.is_some() && e.relationship_type.is_none() && e.strength.is_none() {
                return Err(format!(
                    "expect {n}: a relationship expectation needs type and/or strength"
                ));
            }
            if e.memory.is_some() && e.contains.is_empty() {
                return Err(format!("expect {n}: a memory expectation needs contains = [words]"));
            }
            if e.emotion.is_some() {
                match (&e.field, e.direction) {
                    (Some(f), Some(_)) if EMOTION_FIELDS.contains(&f.as_str()) => {}
                    _ => {
                        return Err(format!(
                            "expect {n}: an emotion expectation needs field (one of {}) and direction (up, down)",
                            EMOTION_FIELDS.join(", ")
                        ))
                    }
                }
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scenario_parses() {
        let s = Scenario::parse(
            r#"
name = "friends"
[[persona]]
name = "Bard3"
[[setup.relationship]]
personas = ["Aria", "Kira"]
quality = 0.9
times = 2
[[step]]
chat = "Aria"
message = "Hi"
replies = ["Hello!"]
expect_reply_contains = ["hello"]
[[step]]
conversation = ["Aria", "Kira", "Bard3"]
expect_ends_within = 10
[[expect]]
relationship = ["Aria", "Kira"]
strength = "up"
[[expect]]
emotion = "Aria"
field = "mood"
direction = "down"
"#,
        )
        .unwrap();
        assert_eq!(s.step.len(), 2);
        assert_eq!(s.setup.relationship[0].times, 2);
        assert_eq!(s.expect[1].direction, Some(Direction::Down));
        assert!(Direction::Up.holds(0.1, 0.2) && !Direction::Up.holds(0.2, 0.2));
    }

    #[test]
    fn mistakes_are_named() {
        let bad_step = "name = \"x\"\n[[step]]\nchat = \"Aria\"\n";
        assert!(Scenario::parse(bad_step).unwrap_err().starts_with("step 1:"));
        let bad_expect = "name = \"x\"\n[[expect]]\nemotion = \"Aria\"\nfield = \"joy\"\ndirection = \"up\"\n";
        assert!(Scenario::parse(bad_expect).unwrap_err().starts_with("expect 1:"));
        assert!(Scenario::parse("name = \"x\"\nsurprise = 1\n").is_err());
    }
}
