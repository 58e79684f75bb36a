//! The aggregates `relationship.stats` reports over every relationship.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::relationship::Relationship;

/// How many personas `relationship.stats` lists as the most active.
pub const MOST_ACTIVE_LIMIT: usize = 5;

/// Aggregates over every relationship, for `relationship.stats`. Means are 0 when there is no relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipStats {
    /// How many relationships exist.
    pub total_relationships: usize,
    /// Relationships per type (wire name).
    pub relationship_types: BTreeMap<&'static str, usize>,
    /// Mean of (affinity + trust + respect + intimacy) / 4.
    pub average_compatibility: f64,
    /// Mean affinity.
    pub average_affinity: f64,
    /// Mean trust.
    pub average_trust: f64,
    /// Interactions applied, over all relationships.
    pub total_interactions: i64,
    /// Personas by the interactions of their relationships, most first (then by id), at most
    /// [`MOST_ACTIVE_LIMIT`], only those with any.
    pub most_active_personas: Vec<(Uuid, i64)>,
    /// The relationship with the highest strength.
    pub strongest: Option<Relationship>,
}

impl RelationshipStats {
    /// The aggregates of `all`.
    pub fn of(all: &[Relationship]) -> Self {
        let mean = |value: fn(&Relationship) -> f64| {
            if all.is_empty() {
                0.0
            } else {
                all.iter().map(value).sum::<f64>() / all.len() as f64
            }
        };
        let mut relationship_types = BTreeMap::new();
        let mut per_persona: HashMap<Uuid, i64> = HashMap::new();
        for r in all {
            *relationship_types.entry(r.relationship_type.as_str()).or_insert(0) += 1;
            for persona in [r.persona1_id, r.persona2_id] {
                *per_persona.entry(persona).or_insert(0) += r.interaction_count;
            }
        }
        let mut most_active_personas: Vec<(Uuid, i64)> = per_persona.into_iter().filter(|&(_, n)| n > 0).collect();
        most_active_personas.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        most_active_personas.truncate(MOST_ACTIVE_LIMIT);
        Self {
            total_relationships: all.len(),
            relationship_types,
            average_compatibility: mean(|r| (r.affinity + r.trust + r.respect + r.intimacy) / 4.0),
            average_affinity: mean(|r| r.affinity),
            average_trust: mean(|r| r.trust),
            total_interactions: all.iter().map(|r| r.interaction_count).sum(),
            most_active_personas,
            strongest: all.iter().max_by(|a, b| a.strength().total_cmp(&b.strength())).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::relationship::RelationshipType;

    fn rel(a: u128, b: u128, affinity: f64, count: i64) -> Relationship {
        Relationship {
            affinity,
            trust: 0.2,
            respect: 0.0,
            intimacy: 0.2,
            interaction_count: count,
            ..Relationship::new(Uuid::from_u128(a), Uuid::from_u128(b), Utc::now())
        }
    }

    #[test]
    fn stats_of_nothing_are_zero() {
        let s = RelationshipStats::of(&[]);
        assert_eq!(s.total_relationships, 0);
        assert_eq!(s.average_compatibility, 0.0);
        assert!(s.most_active_personas.is_empty());
        assert!(s.strongest.is_none());
    }

    #[test]
    fn stats_add_up() {
        let mut rival = rel(1, 3, -0.8, 4);
        rival.relationship_type = RelationshipType::Rival;
        let all = [rel(1, 2, 0.6, 3), rival, rel(2, 3, 0.2, 0)];
        let s = RelationshipStats::of(&all);
        assert_eq!(s.total_relationships, 3);
        assert_eq!(s.relationship_types.get("stranger"), Some(&2));
        assert_eq!(s.relationship_types.get("rival"), Some(&1));
        assert_eq!(s.total_interactions, 7);
        assert!((s.average_affinity - 0.0).abs() < 1e-12);
        assert!((s.average_trust - 0.2).abs() < 1e-12);
        assert!((s.average_compatibility - 0.1).abs() < 1e-12);
        let ids = |n: u128| Uuid::from_u128(n);
        assert_eq!(s.most_active_personas, vec![(ids(1), 7), (ids(3), 4), (ids(2), 3)]);
        assert_eq!(s.strongest.map(|r| r.persona2_id), Some(ids(2)));
    }
}
