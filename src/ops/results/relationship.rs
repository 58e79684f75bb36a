//! Results of `relationship.*` and `persona.relationship`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::relationship::{InteractionOutcome, Relationship, RelationshipType};
use crate::domain::relationship_stats::RelationshipStats;
use crate::domain::round3;

/// The fields every view of a relationship shows: dimensions, type, count, derived scores, last interaction.
#[derive(Serialize, JsonSchema, Clone)]
pub struct Dimensions {
    /// −1..1.
    pub affinity: f64,
    /// −1..1.
    pub trust: f64,
    /// −1..1.
    pub respect: f64,
    /// 0..1.
    pub intimacy: f64,
    /// What they are to each other.
    pub relationship_type: RelationshipType,
    /// Interactions so far.
    pub interaction_count: i64,
    /// 0..1, 3 decimals.
    pub compatibility_score: f64,
    /// −1..1, 3 decimals.
    pub relationship_strength: f64,
    /// When they last interacted.
    pub last_interaction: Option<DateTime<Utc>>,
}

impl From<&Relationship> for Dimensions {
    fn from(r: &Relationship) -> Self {
        Self {
            affinity: r.affinity,
            trust: r.trust,
            respect: r.respect,
            intimacy: r.intimacy,
            relationship_type: r.relationship_type,
            interaction_count: r.interaction_count,
            compatibility_score: round3(r.compatibility_score()),
            relationship_strength: round3(r.strength()),
            last_interaction: r.last_interaction,
        }
    }
}

/// A relationship as `relationship.get` shows it.
#[derive(Serialize, JsonSchema)]
pub struct RelationshipView {
    /// The shared fields.
    #[serde(flatten)]
    pub dimensions: Dimensions,
    /// One side.
    pub persona1_id: Uuid,
    /// The other side.
    pub persona2_id: Uuid,
    /// Minutes spent together.
    pub total_interaction_time: f64,
    /// When they first met.
    pub first_meeting: Option<DateTime<Utc>>,
    /// Quality of the last interaction, −1..1.
    pub recent_interaction_quality: Option<f64>,
}

impl From<&Relationship> for RelationshipView {
    fn from(r: &Relationship) -> Self {
        Self {
            dimensions: r.into(),
            persona1_id: r.persona1_id,
            persona2_id: r.persona2_id,
            total_interaction_time: r.total_interaction_time,
            first_meeting: r.first_meeting,
            recent_interaction_quality: r.recent_interaction_quality,
        }
    }
}

/// `relationship.get`.
#[derive(Serialize, JsonSchema)]
pub struct RelationshipFound {
    /// Whether they have one.
    pub exists: bool,
    /// It, or null.
    pub relationship: Option<RelationshipView>,
    /// "No relationship found between A and B" when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One relationship of a persona, seen from its side.
#[derive(Serialize, JsonSchema)]
pub struct RelationshipRow {
    /// The shared fields.
    #[serde(flatten)]
    pub dimensions: Dimensions,
    /// The other persona.
    pub other_persona_id: Uuid,
    /// Its name.
    pub other_persona_name: Option<String>,
}

/// `relationship.list`.
#[derive(Serialize, JsonSchema)]
pub struct RelationshipList {
    /// Whose.
    pub persona_id: Uuid,
    /// How many.
    pub total_relationships: usize,
    /// Strongest first.
    pub relationships: Vec<RelationshipRow>,
}

/// The interaction `relationship.update` applied.
#[derive(Serialize, JsonSchema)]
pub struct InteractionProcessed {
    /// −1..1.
    pub quality: f64,
    /// Minutes.
    pub duration_minutes: f64,
    /// What it was.
    pub context: String,
    /// A memorable moment (|quality| > 0.7).
    pub memorable: bool,
}

impl From<InteractionOutcome> for InteractionProcessed {
    fn from(o: InteractionOutcome) -> Self {
        Self {
            quality: o.quality,
            duration_minutes: o.duration_minutes,
            context: o.context,
            memorable: o.memorable,
        }
    }
}

/// `relationship.update`.
#[derive(Serialize, JsonSchema)]
pub struct RelationshipUpdated {
    /// Always true.
    pub success: bool,
    /// "Relationship updated successfully".
    pub message: &'static str,
    /// What was applied.
    pub interaction_processed: InteractionProcessed,
    /// The relationship after it.
    pub updated_relationship: Dimensions,
    /// The two personas, as the call named them (not on the wire; whom the change is announced to).
    #[serde(skip)]
    pub personas: [Uuid; 2],
}

impl RelationshipUpdated {
    /// The answer for `r` after `outcome`, between `personas`.
    pub fn of(r: &Relationship, outcome: InteractionOutcome, personas: [Uuid; 2]) -> Self {
        Self {
            personas,
            success: true,
            message: "Relationship updated successfully",
            interaction_processed: outcome.into(),
            updated_relationship: r.into(),
        }
    }
}

/// A persona and its number of interactions.
#[derive(Serialize, JsonSchema)]
pub struct ActivePersona {
    /// The persona.
    pub persona_id: Uuid,
    /// Its interactions.
    pub interactions: i64,
}

/// The strongest relationship.
#[derive(Serialize, JsonSchema)]
pub struct Strongest {
    /// One side.
    pub persona1_id: Uuid,
    /// The other side.
    pub persona2_id: Uuid,
    /// What they are to each other.
    pub relationship_type: RelationshipType,
    /// −1..1, 3 decimals.
    pub relationship_strength: f64,
}

/// Statistics over all relationships.
#[derive(Serialize, JsonSchema)]
pub struct RelationshipStatistics {
    /// Relationships.
    pub total_relationships: usize,
    /// Type → count.
    pub relationship_types: BTreeMap<&'static str, usize>,
    /// Mean of (a+t+r+i)/4, 3 decimals.
    pub average_compatibility: f64,
    /// Interactions in all.
    pub total_interactions: i64,
    /// The five most active personas.
    pub most_active_personas: Vec<ActivePersona>,
    /// 3 decimals.
    pub average_affinity: f64,
    /// 3 decimals.
    pub average_trust: f64,
    /// The strongest relationship, if any.
    pub strongest: Option<Strongest>,
}

/// `relationship.stats`.
#[derive(Serialize, JsonSchema)]
pub struct RelationshipStatsResult {
    /// The statistics.
    pub relationship_statistics: RelationshipStatistics,
    /// Now.
    pub timestamp: DateTime<Utc>,
}

impl From<RelationshipStats> for RelationshipStatsResult {
    fn from(s: RelationshipStats) -> Self {
        Self {
            relationship_statistics: RelationshipStatistics {
                total_relationships: s.total_relationships,
                relationship_types: s.relationship_types,
                average_compatibility: round3(s.average_compatibility),
                total_interactions: s.total_interactions,
                most_active_personas: s
                    .most_active_personas
                    .iter()
                    .map(|&(persona_id, interactions)| ActivePersona {
                        persona_id,
                        interactions,
                    })
                    .collect(),
                average_affinity: round3(s.average_affinity),
                average_trust: round3(s.average_trust),
                strongest: s.strongest.as_ref().map(|r| Strongest {
                    persona1_id: r.persona1_id,
                    persona2_id: r.persona2_id,
                    relationship_type: r.relationship_type,
                    relationship_strength: round3(r.strength()),
                }),
            },
            timestamp: Utc::now(),
        }
    }
}

/// `persona.relationship`: with a target, that relationship (or null); without, all of them.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum LegacyRelationship {
    /// With `target_persona`.
    With {
        /// The persona asked about.
        current_persona: Uuid,
        /// The target.
        target_persona: Uuid,
        /// Their relationship, or null.
        relationship: Option<RelationshipView>,
    },
    /// Without.
    All {
        /// The persona asked about.
        current_persona: Uuid,
        /// Its relationships, strongest first.
        relationships: Vec<RelationshipRow>,
    },
}
