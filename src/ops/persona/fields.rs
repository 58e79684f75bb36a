//! The typed inputs of `persona.create` and `persona.update`: the card's fields and their checks.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::persona::PersonaChanges;
use crate::error::AppError;
use crate::ops::input::{non_empty, Input};

/// Fields of a persona card, all optional (create requires `name`).
#[derive(Deserialize, JsonSchema, Default, PartialEq)]
pub struct CardFields {
    /// Unique name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description for the system prompt.
    #[serde(default)]
    pub description: Option<String>,
    /// Trait → 0..100 (or words such as "high"), kept as sent.
    #[serde(default)]
    pub personality_traits: Option<Map<String, Value>>,
    /// Topic → preference 0..100.
    #[serde(default)]
    pub topic_preferences: Option<BTreeMap<String, f64>>,
    /// 1..20.
    #[serde(default)]
    pub charisma: Option<i64>,
    /// 1..20.
    #[serde(default)]
    pub intelligence: Option<i64>,
    /// commoner, performer, scholar, merchant, noble, royalty…
    #[serde(default)]
    pub social_rank: Option<String>,
    /// LLM model for this persona.
    #[serde(default)]
    pub model: Option<String>,
    /// Extra system prompt.
    #[serde(default)]
    pub system_prompt: Option<String>,
}

impl CardFields {
    /// Checks the values; an error names the field as `at` followed by its name (`at` is "" or "updates.").
    fn validate(&self, at: &str) -> Result<(), AppError> {
        let field = |name: &str| format!("{at}{name}");
        if let Some(name) = &self.name {
            let f = field("name");
            non_empty(&f, name)?;
            if name.chars().count() > 100 {
                return Err(AppError::invalid(&f, format!("{f} must be at most 100 characters")));
            }
        }
        for (name, value) in [("charisma", self.charisma), ("intelligence", self.intelligence)] {
            if let Some(v) = value.filter(|v| !(1..=20).contains(v)) {
                let f = field(name);
                return Err(AppError::invalid(
                    &f,
                    format!("{f} must be an integer between 1 and 20, got {v}"),
                ));
            }
        }
        if let Some(traits) = &self.personality_traits {
            if let Some((t, v)) = traits.iter().find(|(_, v)| !is_trait_value(v)) {
                let f = field("personality_traits");
                return Err(AppError::invalid(
                    &f,
                    format!("{f}.{t} must be a number between 0 and 100 or a word such as \"high\", got {v}"),
                ));
            }
        }
        if let Some(topics) = &self.topic_preferences {
            if let Some((t, v)) = topics.iter().find(|(_, v)| !(0.0..=100.0).contains(*v)) {
                let f = field("topic_preferences");
                return Err(AppError::invalid(
                    &f,
                    format!("{f}.{t} must be a number between 0 and 100, got {v}"),
                ));
            }
        }
        if self.social_rank.as_ref().is_some_and(|r| r.trim().is_empty()) {
            let f = field("social_rank");
            return Err(AppError::invalid(&f, format!("{f} must not be blank")));
        }
        if self.description.as_ref().is_some_and(|d| d.len() > 16 * 1024) {
            let f = field("description");
            return Err(AppError::invalid(&f, format!("{f} must be at most 16 KiB")));
        }
        Ok(())
    }

    /// The given fields as changes to a card (blank `model` and `system_prompt` clear them).
    pub fn into_changes(self) -> PersonaChanges {
        let blank_to_none = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        PersonaChanges {
            name: self.name.map(|v| v.trim().to_string()),
            description: self.description,
            personality_traits: self.personality_traits,
            topic_preferences: self.topic_preferences,
            charisma: self.charisma.map(|v| v as i32),
            intelligence: self.intelligence.map(|v| v as i32),
            social_rank: self.social_rank,
            model: self.model.map(blank_to_none),
            system_prompt: self.system_prompt.map(blank_to_none),
            avatar_url: None,
        }
    }
}

/// A trait value a persona can be read by: a number 0..100, a word kept as sent ("high") or true/false.
fn is_trait_value(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_some_and(|n| (0.0..=100.0).contains(&n)),
        Value::String(s) => !s.trim().is_empty(),
        Value::Bool(_) => true,
        _ => false,
    }
}

/// `persona.create` params.
#[derive(Deserialize, JsonSchema)]
pub struct CreateParams {
    /// The card.
    #[serde(flatten)]
    pub fields: CardFields,
}
impl Input for CreateParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("name", self.fields.name.as_deref().unwrap_or(""))?;
        self.fields.validate("")
    }
}

/// `persona.update` params: the fields to change beside `persona_id`, or in an `updates` object.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateParams {
    /// Persona id or name.
    // Required, but an `Option` to serde: a wrong field beside it is then reported as itself, not as a missing
    // `persona_id` (serde checks the required fields before it reads the flattened ones).
    #[schemars(required)]
    pub persona_id: Option<String>,
    /// The fields to change as one object, instead of beside `persona_id`.
    #[serde(default)]
    pub updates: Option<CardFields>,
    /// Fields to change.
    #[serde(flatten)]
    pub fields: CardFields,
}
impl Input for UpdateParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("persona_id", self.persona_id.as_deref().unwrap_or_default())?;
        match &self.updates {
            Some(_) if self.fields != CardFields::default() => Err(AppError::invalid(
                "updates",
                "give the fields to change either in updates or beside persona_id, not both",
            )),
            Some(updates) => updates.validate("updates."),
            None => self.fields.validate(""),
        }
    }
}
