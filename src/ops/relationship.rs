//! Relationships between two personas: read, list, analyse, apply an interaction, statistics, and the legacy
//! `persona.relationship` view. Updates of one pair are serialised by the store (see
//! `storage::Relationships::record_interaction`).

use std::collections::HashMap;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use crate::actors::persona::GetSnapshot;
use crate::app::Core;
use crate::domain::compatibility::{self, CompatibilityReport, Party};
use crate::domain::persona::Persona;
use crate::domain::relationship::Relationship;
use crate::error::AppError;
use crate::ops::input::{non_empty, Input};
use crate::ops::results::relationship::{
    LegacyRelationship, RelationshipFound, RelationshipList, RelationshipRow, RelationshipStatsResult,
    RelationshipUpdated, RelationshipView,
};
use crate::ops::target::{self, Target};

/// Two personas.
#[derive(Deserialize, JsonSchema)]
pub struct PairParams {
    /// Persona id or name.
    pub persona1_id: String,
    /// Persona id or name; a different persona.
    pub persona2_id: String,
}
impl Input for PairParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("persona1_id", &self.persona1_id)?;
        non_empty("persona2_id", &self.persona2_id)
    }
}

/// `relationship.update` params.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateParams {
    /// The two personas.
    #[serde(flatten)]
    pub pair: PairParams,
    /// −1..1: how the interaction went.
    #[serde(default)]
    pub interaction_quality: f64,
    /// Minutes the interaction lasted (≥ 0); 30 or more count fully.
    #[serde(default = "default_duration")]
    pub duration_minutes: f64,
    /// What kind of interaction it was.
    #[serde(default = "default_context")]
    pub context: String,
}

fn default_duration() -> f64 {
    5.0
}

fn default_context() -> String {
    "conversation".into()
}

impl Input for UpdateParams {
    fn validate(&self) -> Result<(), AppError> {
        self.pair.validate()?;
        if !(-1.0..=1.0).contains(&self.interaction_quality) {
            return Err(AppError::invalid(
                "interaction_quality",
                "interaction_quality must be a number between -1.0 and 1.0",
            ));
        }
        if !(self.duration_minutes.is_finite() && self.duration_minutes >= 0.0) {
            return Err(AppError::invalid(
                "duration_minutes",
                "duration_minutes must be a non-negative number",
            ));
        }
        Ok(())
    }
}

/// `persona.relationship` params.
#[derive(Deserialize, JsonSchema, Default)]
pub struct LegacyParams {
    /// Persona id or name; without it, every relationship of the persona.
    #[serde(default)]
    pub target_persona: Option<String>,
    /// The persona whose relationships (id or name); default: the connection's current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
}
impl Input for LegacyParams {}

/// Fails with -32602 naming `field` when both name the same persona.
fn distinct(field: &str, a: &Persona, b: &Persona) -> Result<(), AppError> {
    if a.id == b.id {
        Err(AppError::invalid(
            field,
            format!("{field} must name a persona other than {}", a.name),
        ))
    } else {
        Ok(())
    }
}

/// Resolves both personas of a pair (-32001 for an unknown one) and checks they differ.
async fn resolve_pair(core: &Core, pair: &PairParams) -> Result<(Persona, Persona), AppError> {
    let first = core.resolve_persona(&pair.persona1_id).await?;
    let second = core.resolve_persona(&pair.persona2_id).await?;
    distinct("persona2_id", &first, &second)?;
    Ok((first, second))
}

async fn find(core: &Core, a: Uuid, b: Uuid) -> Result<Option<Relationship>, AppError> {
    Ok(core.store.relationships().get(a, b).await?)
}

/// A persona's relationships as `relationship.list` shows them, strongest first.
async fn relationships_of(core: &Core, persona: Uuid) -> Result<Vec<RelationshipRow>, AppError> {
    let mut all = core.store.relationships().list_for(persona).await?;
    let everyone = core.store.personas().list().await?;
    let names: HashMap<Uuid, String> = everyone.into_iter().map(|p| (p.id, p.name)).collect();
    all.sort_by(|a, b| b.strength().total_cmp(&a.strength()));
    Ok(all
        .iter()
        .filter_map(|r| {
            let other = r.other_persona(persona)?;
            Some(RelationshipRow {
                dimensions: r.into(),
                other_persona_id: other,
                other_persona_name: names.get(&other).cloned(),
            })
        })
        .collect())
}

/// The relationship between two personas (either order).
pub async fn get(core: &Core, p: PairParams) -> Result<RelationshipFound, AppError> {
    let (first, second) = resolve_pair(core, &p).await?;
    Ok(match find(core, first.id, second.id).await? {
        Some(r) => RelationshipFound {
            exists: true,
            relationship: Some((&r).into()),
            message: None,
        },
        None => RelationshipFound {
            exists: false,
            relationship: None,
            message: Some(format!(
                "No relationship found between {} and {}",
                p.persona1_id, p.persona2_id
            )),
        },
    })
}

/// Every relationship of the persona `who` names, strongest first.
pub async fn list(core: &Core, who: Target<'_>) -> Result<RelationshipList, AppError> {
    let persona = target::persona(core, who).await?;
    let rows = relationships_of(core, persona.id).await?;
    Ok(RelationshipList {
        persona_id: persona.id,
        total_relationships: rows.len(),
        relationships: rows,
    })
}

/// How well two personas are likely to get on, and how they should approach each other.
pub async fn compatibility(core: &Core, p: PairParams) -> Result<CompatibilityReport, AppError> {
    let (first, second) = resolve_pair(core, &p).await?;
    let existing = find(core, first.id, second.id).await?;
    let energy = |persona: Persona| async move {
        let snapshot = core.ask_persona(&persona, GetSnapshot).await?;
        Ok::<_, AppError>(snapshot.state.social_energy)
    };
    let (energy1, energy2) = futures_util::try_join!(energy(first.clone()), energy(second.clone()))?;
    Ok(compatibility::analyze(
        Party::with_energy(&first, energy1),
        Party::with_energy(&second, energy2),
        existing.as_ref(),
    ))
}

/// Applies one interaction between two personas to their relationship.
pub async fn update(core: &Core, p: UpdateParams) -> Result<RelationshipUpdated, AppError> {
    let (first, second) = resolve_pair(core, &p.pair).await?;
    let (quality, minutes, context) = (p.interaction_quality, p.duration_minutes, p.context);
    let (r, outcome) = core
        .store
        .relationships()
        .record_interaction((first.id, second.id), quality, minutes, context, Utc::now())
        .await?;
    Ok(RelationshipUpdated::of(&r, outcome, [first.id, second.id]))
}

/// Statistics over all relationships.
pub async fn stats(core: &Core) -> Result<RelationshipStatsResult, AppError> {
    Ok(core.store.relationships().stats().await?.into())
}

/// The legacy view: the relationship of the persona `who` names with `target`, or all of them without one.
pub async fn legacy(core: &Core, who: Target<'_>, target: Option<&str>) -> Result<LegacyRelationship, AppError> {
    let current = target::persona(core, who).await?;
    match target.filter(|t| !t.trim().is_empty()) {
        Some(key) => {
            let target = core.resolve_persona(key).await?;
            distinct("target_persona", &current, &target)?;
            let found = find(core, current.id, target.id).await?;
            Ok(LegacyRelationship::With {
                current_persona: current.id,
                target_persona: target.id,
                relationship: found.as_ref().map(RelationshipView::from),
            })
        }
        None => Ok(LegacyRelationship::All {
            current_persona: current.id,
            relationships: relationships_of(core, current.id).await?,
        }),
    }
}
