//! Conversation analytics, computed from the stored chat turns (each reply keeps its [`TurnStats`]): per persona
//! the conversations and turns, tokens in and out, reply latency and time to the first chunk (p50/p95), the
//! continue-score and emotional-state curves over time, and the memories recalled most often.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::chat::TurnStats;

/// One stored chat turn: whose, where, when, and its statistics.
#[derive(Debug, Clone)]
pub struct TurnRow {
    /// The persona that answered.
    pub persona_id: Uuid,
    /// Its chat conversation.
    pub conversation_id: Uuid,
    /// When the reply was stored.
    pub at: DateTime<Utc>,
    /// What the turn cost and did.
    pub stats: TurnStats,
}

/// A time range; either end may be open.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// From (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// To (inclusive).
    pub until: Option<DateTime<Utc>>,
}

/// One interaction of a relationship, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionRecord {
    /// One persona of the pair.
    pub persona1_id: Uuid,
    /// The other.
    pub persona2_id: Uuid,
    /// −1..1.
    pub quality: f64,
    /// What it was ("chat", "duel"…).
    pub context: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A topic thread active in a time range.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ThreadActivity {
    /// The persona of its conversation.
    #[serde(skip)]
    pub persona_id: Uuid,
    /// Thread id.
    pub thread_id: Uuid,
    /// Its label (title, or top keywords).
    pub label: String,
    /// Messages in it.
    pub message_count: i64,
    /// When a message last joined it.
    pub last_active: DateTime<Utc>,
}

/// The median and the 95th percentile of a set of values (nearest rank); none for an empty set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, JsonSchema)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
}

impl Percentiles {
    /// The percentiles of `values`.
    pub fn of(mut values: Vec<f64>) -> Self {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let n = values.len();
            (n > 0).then(|| values[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        Self {
            p50: rank(0.50),
            p95: rank(0.95),
        }
    }
}

/// The continue score after one turn.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScorePoint {
    /// When.
    pub at: DateTime<Utc>,
    /// 0..100.
    pub continue_score: f64,
}

/// How the persona felt after one turn.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EmotionPoint {
    /// When.
    pub at: DateTime<Utc>,
    /// −1..1.
    pub mood: f64,
    /// 0..1.
    pub energy_level: f64,
    /// 0..1.
    pub stress_level: f64,
    /// 0..1.
    pub curiosity: f64,
    /// 0..1.
    pub social_battery: f64,
}

/// A persona's figures over its chat turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct TurnFigures {
    /// Chat conversations with at least one turn.
    pub conversations: usize,
    /// Turns (replies).
    pub turns: usize,
    /// Prompt tokens, as far as the model server reported them.
    pub tokens_in: u64,
    /// Reply tokens.
    pub tokens_out: u64,
    /// Seconds from a turn's start to its reply's last token.
    pub latency_seconds: Percentiles,
    /// Seconds from a turn's start to its reply's first chunk.
    pub ttfc_seconds: Percentiles,
    /// The continue score after each turn, oldest first.
    pub continue_score_curve: Vec<ScorePoint>,
    /// The emotional state after each turn, oldest first.
    pub emotional_state_curve: Vec<EmotionPoint>,
    /// (memory id, times recalled into a turn's prompt), most recalled first (ties: by id).
    #[serde(skip)]
    pub recalls: Vec<(Uuid, usize)>,
}

/// Each persona's figures over `turns` (any order).
pub fn figures(turns: &[TurnRow]) -> BTreeMap<Uuid, TurnFigures> {
    let mut by_persona: BTreeMap<Uuid, Vec<&TurnRow>> = BTreeMap::new();
    for t in turns {
        by_persona.entry(t.persona_id).or_default().push(t);
    }
    by_persona
        .into_iter()
        .map(|(persona, mut rows)| {
            rows.sort_by_key(|t| t.at);
            (persona, persona_figures(&rows))
        })
        .collect()
}

fn persona_figures(rows: &[&TurnRow]) -> TurnFigures {
    let conversations: BTreeSet<Uuid> = rows.iter().map(|t| t.conversation_id).collect();
    let mut recalls: HashMap<Uuid, usize> = HashMap::new();
    for id in rows.iter().flat_map(|t| &t.stats.recalled) {
        *recalls.entry(*id).or_default() += 1;
    }
    let mut recalls: Vec<(Uuid, usize)> = recalls.into_iter().collect();
    recalls.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    TurnFigures {
        conversations: conversations.len(),
        turns: rows.len(),
        tokens_in: rows.iter().filter_map(|t| t.stats.tokens_in).map(u64::from).sum(),
        tokens_out: rows.iter().map(|t| u64::from(t.stats.tokens_out)).sum(),
        latency_seconds: Percentiles::of(rows.iter().map(|t| t.stats.latency_seconds).collect()),
        ttfc_seconds: Percentiles::of(rows.iter().filter_map(|t| t.stats.ttfc_seconds).collect()),
        continue_score_curve: rows
            .iter()
            .map(|t| ScorePoint {
                at: t.at,
                continue_score: t.stats.continue_score,
            })
            .collect(),
        emotional_state_curve: rows
            .iter()
            .map(|t| {
                let e = &t.stats.emotions;
                EmotionPoint {
                    at: t.at,
                    mood: e.mood,
                    energy_level: e.energy_level,
                    stress_level: e.stress_level,
                    curiosity: e.curiosity,
                    social_battery: e.social_battery,
                }
            })
            .collect(),
        recalls,
    }
}

/// One interaction of a relationship, in a change curve.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InteractionPoint {
    /// When.
    pub at: DateTime<Utc>,
    /// −1..1.
    pub quality: f64,
    /// What it was.
    pub context: String,
}

/// How a persona's relationship with one partner changed in the range.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RelationshipChange {
    /// The other persona.
    pub partner_id: Uuid,
    /// Interactions applied.
    pub interactions: usize,
    /// Their mean quality.
    pub average_quality: f64,
    /// Each interaction, oldest first.
    pub changes: Vec<InteractionPoint>,
}

/// `persona`'s relationship changes from `records` (oldest first), one entry per partner, by partner id.
pub fn relationship_changes(persona: Uuid, records: &[InteractionRecord]) -> Vec<RelationshipChange> {
    let mut by_partner: BTreeMap<Uuid, Vec<InteractionPoint>> = BTreeMap::new();
    for r in records {
        let partner = match (r.persona1_id == persona, r.persona2_id == persona) {
            (true, _) => r.persona2_id,
            (_, true) => r.persona1_id,
            _ => continue,
        };
        by_partner.entry(partner).or_default().push(InteractionPoint {
            at: r.at,
            quality: r.quality,
            context: r.context.clone(),
        });
    }
    by_partner
        .into_iter()
        .map(|(partner_id, changes)| RelationshipChange {
            partner_id,
            interactions: changes.len(),
            average_quality: super::round3(changes.iter().map(|c| c.quality).sum::<f64>() / changes.len() as f64),
            changes,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::emotion::EmotionalState;

    fn turn(persona: u128, conversation: u128, minute: i64, latency: f64, recalled: &[u128]) -> TurnRow {
        let at = DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap();
        TurnRow {
            persona_id: Uuid::from_u128(persona),
            conversation_id: Uuid::from_u128(conversation),
            at,
            stats: TurnStats {
                tokens_in: (minute % 2 == 0).then_some(10),
                tokens_out: 5,
                latency_seconds: latency,
                ttfc_seconds: Some(latency / 10.0),
                continue_score: minute as f64,
                emotions: EmotionalState::initial(at),
                recalled: recalled.iter().map(|&m| Uuid::from_u128(m)).collect(),
            },
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let p = Percentiles::of((1..=20).map(f64::from).collect());
        assert_eq!((p.p50, p.p95), (Some(10.0), Some(19.0)));
        let one = Percentiles::of(vec![3.0]);
        assert_eq!((one.p50, one.p95), (Some(3.0), Some(3.0)));
        assert_eq!(Percentiles::of(Vec::new()), Percentiles::default());
    }

    #[test]
    fn figures_add_up_per_persona_with_curves_in_time_order() {
        let turns = vec![
            turn(1, 10, 3, 0.3, &[7]),
            turn(1, 10, 1, 0.1, &[7, 8]),
            turn(1, 11, 2, 0.2, &[9, 7]),
            turn(2, 20, 0, 1.0, &[]),
        ];
        let all = figures(&turns);
        let one = &all[&Uuid::from_u128(1)];
        assert_eq!((one.conversations, one.turns), (2, 3));
        assert_eq!((one.tokens_in, one.tokens_out), (10, 15));
        assert_eq!(one.latency_seconds.p50, Some(0.2));
        assert_eq!(one.latency_seconds.p95, Some(0.3));
        assert_eq!(one.ttfc_seconds.p50.map(|v| (v * 100.0).round()), Some(2.0));
        let scores: Vec<f64> = one.continue_score_curve.iter().map(|p| p.continue_score).collect();
        assert_eq!(scores, [1.0, 2.0, 3.0]);
        assert_eq!(one.emotional_state_curve.len(), 3);
        assert_eq!(
            one.recalls,
            [
                (Uuid::from_u128(7), 3),
                (Uuid::from_u128(8), 1),
                (Uuid::from_u128(9), 1)
            ]
        );
        let two = &all[&Uuid::from_u128(2)];
        assert_eq!(two.ttfc_seconds.p95, Some(0.1));
        assert_eq!((two.conversations, two.turns, two.tokens_in), (1, 1, 10));
    }

    #[test]
    fn relationship_changes_group_by_partner() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let record = |a: u128, b: u128, quality: f64| InteractionRecord {
            persona1_id: Uuid::from_u128(a),
            persona2_id: Uuid::from_u128(b),
            quality,
            context: "chat".into(),
            at,
        };
        let records = [
            record(1, 2, 0.5),
            record(3, 4, 1.0),
            record(0, 1, -0.2),
            record(1, 2, 0.1),
        ];
        let changes = relationship_changes(Uuid::from_u128(1), &records);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].partner_id, Uuid::from_u128(0));
        assert_eq!((changes[1].interactions, changes[1].average_quality), (2, 0.3));
    }
}
