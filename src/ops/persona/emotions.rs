//! A persona's emotional state: read it, set fields and/or change them by deltas. Every change goes through the
//! persona's actor, the only writer of that state.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::actors::persona::{GetEmotions, UpdateEmotions};
use crate::app::Core;
use crate::domain::emotion::{EmotionalUpdate, UnknownField};
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::results::persona::{Emotions, EmotionsUpdated};
use crate::ops::target::{self, Target};

/// `emotional.update_state` params: absolute values and/or changes; out-of-range results are clamped.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateStateParams {
    /// Persona id or name; default: the connection's current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// New mood, −1..1.
    #[serde(default)]
    pub mood: Option<f64>,
    /// New energy level, 0..1.
    #[serde(default)]
    pub energy_level: Option<f64>,
    /// New stress level, 0..1.
    #[serde(default)]
    pub stress_level: Option<f64>,
    /// New curiosity, 0..1.
    #[serde(default)]
    pub curiosity: Option<f64>,
    /// New social battery, 0..1.
    #[serde(default)]
    pub social_battery: Option<f64>,
    /// Field name → change, applied after the absolute values.
    #[serde(default)]
    pub deltas: BTreeMap<String, f64>,
    /// Other params: ignored (old clients send extras), except numbers, which can only be a misspelt field.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: Map<String, Value>,
}

impl Input for UpdateStateParams {
    fn validate(&self) -> Result<(), AppError> {
        match self.other.iter().find(|(_, v)| v.is_number()) {
            Some((name, _)) => Err(AppError::invalid(name, UnknownField(name.clone()).to_string())),
            None => Ok(()),
        }
    }
}

impl UpdateStateParams {
    fn into_update(self) -> EmotionalUpdate {
        EmotionalUpdate {
            mood: self.mood,
            energy_level: self.energy_level,
            stress_level: self.stress_level,
            curiosity: self.curiosity,
            social_battery: self.social_battery,
            deltas: self.deltas,
        }
    }
}

/// The emotional state of the persona `who` names.
pub async fn get(core: &Core, who: Target<'_>) -> Result<Emotions, AppError> {
    let persona = target::persona(core, who).await?;
    let state = core.ask_persona(&persona, GetEmotions).await?;
    Ok(Emotions {
        persona_id: persona.id,
        emotional_state: state,
    })
}

/// Sets and changes the emotional state of the persona `who` names (`p.persona_id` is read through `who`).
pub async fn update(core: &Core, who: Target<'_>, p: UpdateStateParams) -> Result<EmotionsUpdated, AppError> {
    let persona = target::persona(core, who).await?;
    let state = core.ask_persona(&persona, UpdateEmotions(p.into_update())).await??;
    Ok(EmotionsUpdated {
        success: true,
        message: "Emotional state updated successfully",
        persona_id: persona.id,
        updated_state: state,
    })
}
