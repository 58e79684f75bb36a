//! Relationships between two personas: the four dimensions, the strength and type derived from them,
//! and how one interaction (or one finished persona-to-persona conversation) moves them (DOMAIN.md,
//! "Relationships").
//!
//! A relationship is stored once per unordered pair: [`Relationship::new`] puts the smaller UUID first,
//! so `(a, b)` and `(b, a)` name the same record.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::continue_score::finite_or_zero;

/// Weight of affinity in [`Relationship::strength`].
pub const STRENGTH_AFFINITY_WEIGHT: f64 = 0.4;
/// Weight of trust in [`Relationship::strength`].
pub const STRENGTH_TRUST_WEIGHT: f64 = 0.3;
/// Weight of respect in [`Relationship::strength`].
pub const STRENGTH_RESPECT_WEIGHT: f64 = 0.2;
/// Weight of intimacy in [`Relationship::strength`] (signed like affinity).
pub const STRENGTH_INTIMACY_WEIGHT: f64 = 0.1;

/// Strength under this is an enemy.
pub const ENEMY_BELOW: f64 = -0.7;
/// Strength under this (and not an enemy) is a rival.
pub const RIVAL_BELOW: f64 = -0.3;
/// Strength under this (and not a rival) is a stranger.
pub const STRANGER_BELOW: f64 = 0.2;
/// Strength under this (and not a stranger) is an acquaintance.
pub const ACQUAINTANCE_BELOW: f64 = 0.5;
/// Strength under this (and not an acquaintance) is a friend; from here on a close friend.
pub const FRIEND_BELOW: f64 = 0.8;

/// Weight of |affinity| in [`Relationship::compatibility_score`].
pub const COMPATIBILITY_AFFINITY_WEIGHT: f64 = 0.3;
/// Weight of |trust| in [`Relationship::compatibility_score`].
pub const COMPATIBILITY_TRUST_WEIGHT: f64 = 0.25;
/// Weight of |respect| in [`Relationship::compatibility_score`].
pub const COMPATIBILITY_RESPECT_WEIGHT: f64 = 0.25;
/// Weight of intimacy in [`Relationship::compatibility_score`].
pub const COMPATIBILITY_INTIMACY_WEIGHT: f64 = 0.2;
/// Multiplier of the compatibility score when affinity and trust are both positive.
pub const COMPATIBILITY_MUTUAL_BONUS: f64 = 1.2;

/// An interaction this long (minutes) or longer counts fully; shorter ones count pro rata.
pub const FULL_WEIGHT_MINUTES: f64 = 30.0;
/// Affinity change per unit of quality × weight.
pub const AFFINITY_RATE: f64 = 0.05;
/// Trust change per unit of (positive) quality × weight.
pub const TRUST_RATE: f64 = 0.03;
/// Respect change per unit of quality × weight, for strong interactions only.
pub const RESPECT_RATE: f64 = 0.04;
/// Intimacy gained per unit of weight by a good, long interaction.
pub const INTIMACY_RATE: f64 = 0.02;
/// Respect moves only when |quality| is above this.
pub const RESPECT_MIN_QUALITY: f64 = 0.5;
/// Intimacy grows only when quality is above this…
pub const INTIMACY_MIN_QUALITY: f64 = 0.3;
/// …and the interaction lasted longer than this many minutes.
pub const INTIMACY_MIN_MINUTES: f64 = 10.0;
/// An interaction with |quality| above this is a memorable moment.
pub const MEMORABLE_QUALITY: f64 = 0.7;

/// The continue score (0..100) that maps to a neutral interaction quality of 0.
pub const NEUTRAL_CONTINUE_SCORE: f64 = 50.0;

/// What two personas are to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipType {
    /// Never met, or nothing came of it.
    Stranger,
    /// Know each other a little.
    Acquaintance,
    /// Like each other.
    Friend,
    /// The strongest type that follows from strength.
    CloseFriend,
    /// Dislike each other.
    Rival,
    /// The weakest type that follows from strength.
    Enemy,
    /// Set explicitly: teaches the other.
    Mentor,
    /// Set explicitly: learns from the other.
    Student,
    /// Set explicitly.
    Romantic,
    /// Set explicitly.
    Family,
}

impl RelationshipType {
    /// Every type, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Stranger,
        Self::Acquaintance,
        Self::Friend,
        Self::CloseFriend,
        Self::Rival,
        Self::Enemy,
        Self::Mentor,
        Self::Student,
        Self::Romantic,
        Self::Family,
    ];

    /// The wire name (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stranger => "stranger",
            Self::Acquaintance => "acquaintance",
            Self::Friend => "friend",
            Self::CloseFriend => "close_friend",
            Self::Rival => "rival",
            Self::Enemy => "enemy",
            Self::Mentor => "mentor",
            Self::Student => "student",
            Self::Romantic => "romantic",
            Self::Family => "family",
        }
    }

    /// Parses a type name, case-insensitively, accepting spaces or hyphens for underscores
    /// ("Close Friend" → `CloseFriend`); `None` for unknown words.
    pub fn parse(s: &str) -> Option<Self> {
        let wanted = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|t| t.as_str() == wanted)
    }

    /// Mentor, student, romantic and family are set by hand and never re-derived from strength.
    pub fn is_explicit(self) -> bool {
        matches!(self, Self::Mentor | Self::Student | Self::Romantic | Self::Family)
    }
}

/// The type that a relationship strength (−1..1) implies.
pub fn derive_type(strength: f64) -> RelationshipType {
    match strength {
        s if s < ENEMY_BELOW => RelationshipType::Enemy,
        s if s < RIVAL_BELOW => RelationshipType::Rival,
        s if s < STRANGER_BELOW => RelationshipType::Stranger,
        s if s < ACQUAINTANCE_BELOW => RelationshipType::Acquaintance,
        s if s < FRIEND_BELOW => RelationshipType::Friend,
        _ => RelationshipType::CloseFriend,
    }
}

/// Orders an unordered pair of persona ids the way relationships are stored: smaller UUID first.
pub fn ordered_pair(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Turns the continue scores (0..100) of a finished persona-to-persona conversation's turns into an
/// interaction quality (−1..1) for [`Relationship::apply_interaction`].
///
/// Mapping: the mean score, linearly, with 50 → 0, 100 → 1 and 0 → −1 (scores out of range are clamped,
/// non-finite ones skipped). No scores → 0. The conversation's length is deliberately not part of the
/// quality: pass it as `duration_minutes` to `apply_interaction`, whose weight `min(1, m/30)` already makes
/// short conversations count less.
pub fn conversation_quality(continue_scores: &[f64]) -> f64 {
    let (sum, count) = continue_scores
        .iter()
        .filter(|s| s.is_finite())
        .fold((0.0, 0.0), |(sum, count), s| (sum + s.clamp(0.0, 100.0), count + 1.0));
    if count == 0.0 {
        return 0.0;
    }
    ((sum / count - NEUTRAL_CONTINUE_SCORE) / NEUTRAL_CONTINUE_SCORE).clamp(-1.0, 1.0)
}

/// The relationship between two personas, stored once per unordered pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Relationship {
    /// The smaller of the two UUIDs.
    pub persona1_id: Uuid,
    /// The larger of the two UUIDs.
    pub persona2_id: Uuid,
    /// −1..1: how much they like each other.
    pub affinity: f64,
    /// −1..1: how much they rely on each other.
    pub trust: f64,
    /// −1..1: how much they esteem each other.
    pub respect: f64,
    /// 0..1: how close they are.
    pub intimacy: f64,
    /// Derived from strength unless explicit (see [`RelationshipType::is_explicit`]).
    pub relationship_type: RelationshipType,
    /// Number of interactions applied.
    pub interaction_count: i64,
    /// Total minutes of interaction.
    pub total_interaction_time: f64,
    /// When they first met.
    pub first_meeting: Option<DateTime<Utc>>,
    /// When they last interacted.
    pub last_interaction: Option<DateTime<Utc>>,
    /// Quality (−1..1) of the last interaction.
    pub recent_interaction_quality: Option<f64>,
}

/// What one call of [`Relationship::apply_interaction`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionOutcome {
    /// The quality applied, after clamping to −1..1.
    pub quality: f64,
    /// The duration applied (minutes, ≥ 0).
    pub duration_minutes: f64,
    /// The caller's description of the interaction ("conversation", …).
    pub context: String,
    /// |quality| > [`MEMORABLE_QUALITY`]: worth recording as a memorable moment.
    pub memorable: bool,
    /// The type before the interaction.
    pub previous_type: RelationshipType,
    /// The type after the interaction.
    pub relationship_type: RelationshipType,
}

impl InteractionOutcome {
    /// Whether the interaction changed the relationship type.
    pub fn type_changed(&self) -> bool {
        self.previous_type != self.relationship_type
    }
}

impl Relationship {
    /// A new relationship between `a` and `b` (in either order) who meet at `now`: zero on every
    /// dimension, a stranger.
    pub fn new(a: Uuid, b: Uuid, now: DateTime<Utc>) -> Self {
        let (persona1_id, persona2_id) = ordered_pair(a, b);
        Self {
            persona1_id,
            persona2_id,
            affinity: 0.0,
            trust: 0.0,
            respect: 0.0,
            intimacy: 0.0,
            relationship_type: RelationshipType::Stranger,
            interaction_count: 0,
            total_interaction_time: 0.0,
            first_meeting: Some(now),
            last_interaction: None,
            recent_interaction_quality: None,
        }
    }

    /// The other side of the relationship as seen from `persona_id`; `None` when it is not a member.
    pub fn other_persona(&self, persona_id: Uuid) -> Option<Uuid> {
        if persona_id == self.persona1_id {
            Some(self.persona2_id)
        } else if persona_id == self.persona2_id {
            Some(self.persona1_id)
        } else {
            None
        }
    }

    /// −1..1: 0.4·affinity + 0.3·trust + 0.2·respect ± 0.1·intimacy (intimacy takes affinity's sign;
    /// zero affinity counts as positive).
    pub fn strength(&self) -> f64 {
        let intimacy_sign = if self.affinity < 0.0 { -1.0 } else { 1.0 };
        STRENGTH_AFFINITY_WEIGHT * self.affinity
            + STRENGTH_TRUST_WEIGHT * self.trust
            + STRENGTH_RESPECT_WEIGHT * self.respect
            + intimacy_sign * STRENGTH_INTIMACY_WEIGHT * self.intimacy
    }

    /// 0..1: |affinity|·0.3 + |trust|·0.25 + |respect|·0.25 + intimacy·0.2, ×1.2 when affinity and
    /// trust are both positive, capped at 1.
    pub fn compatibility_score(&self) -> f64 {
        let base = self.affinity.abs() * COMPATIBILITY_AFFINITY_WEIGHT
            + self.trust.abs() * COMPATIBILITY_TRUST_WEIGHT
            + self.respect.abs() * COMPATIBILITY_RESPECT_WEIGHT
            + self.intimacy * COMPATIBILITY_INTIMACY_WEIGHT;
        let bonus = if self.affinity > 0.0 && self.trust > 0.0 {
            COMPATIBILITY_MUTUAL_BONUS
        } else {
            1.0
        };
        (base * bonus).min(1.0)
    }

    /// Applies one interaction of quality `quality` (−1..1, clamped) lasting `duration_minutes`, at `now`.
    ///
    /// With w = min(1, m/30): affinity += 0.05·q·w; trust += 0.03·q·w when q > 0; respect += 0.04·q·w
    /// when |q| > 0.5; intimacy += 0.02·w when q > 0.3 and m > 10; each dimension stays in its range.
    /// The count, total time, meeting times and last quality are recorded and the type re-derived
    /// (explicit types are kept). Non-finite inputs count as 0.
    pub fn apply_interaction(
        &mut self,
        quality: f64,
        duration_minutes: f64,
        context: &str,
        now: DateTime<Utc>,
    ) -> InteractionOutcome {
        let quality = finite_or_zero(quality).clamp(-1.0, 1.0);
        let minutes = finite_or_zero(duration_minutes).max(0.0);
        let previous_type = self.relationship_type;
        self.move_dimensions(quality, minutes);
        self.record(quality, minutes, now);
        self.refresh_type();
        InteractionOutcome {
            quality,
            duration_minutes: minutes,
            context: context.to_owned(),
            memorable: quality.abs() > MEMORABLE_QUALITY,
            previous_type,
            relationship_type: self.relationship_type,
        }
    }

    /// Re-derives the type from strength, unless it is explicit.
    pub fn refresh_type(&mut self) {
        if !self.relationship_type.is_explicit() {
            self.relationship_type = derive_type(self.strength());
        }
    }

    fn move_dimensions(&mut self, quality: f64, minutes: f64) {
        let weight = (minutes / FULL_WEIGHT_MINUTES).min(1.0);
        let step = quality * weight;
        self.affinity = signed_unit(self.affinity + AFFINITY_RATE * step);
        if quality > 0.0 {
            self.trust = signed_unit(self.trust + TRUST_RATE * step);
        }
        if quality.abs() > RESPECT_MIN_QUALITY {
            self.respect = signed_unit(self.respect + RESPECT_RATE * step);
        }
        if quality > INTIMACY_MIN_QUALITY && minutes > INTIMACY_MIN_MINUTES {
            self.intimacy = (self.intimacy + INTIMACY_RATE * weight).clamp(0.0, 1.0);
        }
    }

    fn record(&mut self, quality: f64, minutes: f64, now: DateTime<Utc>) {
        self.interaction_count = self.interaction_count.saturating_add(1);
        self.total_interaction_time += minutes;
        self.first_meeting.get_or_insert(now);
        self.last_interaction = Some(now);
        self.recent_interaction_quality = Some(quality);
    }
}

fn signed_unit(value: f64) -> f64 {
    value.clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const EPS: f64 = 1e-9;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, hour, 0, 0)
            .single()
            .expect("valid test time")
    }

    fn ids() -> (Uuid, Uuid) {
        let low = Uuid::from_u128(1);
        let high = Uuid::from_u128(2);
        (low, high)
    }

    fn with_dims(affinity: f64, trust: f64, respect: f64, intimacy: f64) -> Relationship {
        let (a, b) = ids();
        Relationship {
            affinity,
            trust,
            respect,
            intimacy,
            ..Relationship::new(a, b, at(0))
        }
    }

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < EPS, "expected {expected}, got {actual}");
    }

    #[test]
    fn new_orders_the_pair_and_starts_as_a_stranger_at_zero() {
        let (low, high) = ids();
        let r = Relationship::new(high, low, at(3));
        assert_eq!((r.persona1_id, r.persona2_id), (low, high));
        assert_eq!(r, Relationship::new(low, high, at(3)));
        assert_eq!(r.relationship_type, RelationshipType::Stranger);
        assert_eq!((r.affinity, r.trust, r.respect, r.intimacy), (0.0, 0.0, 0.0, 0.0));
        assert_eq!(r.interaction_count, 0);
        assert_eq!(r.first_meeting, Some(at(3)));
        assert_eq!(r.last_interaction, None);
        assert_eq!(r.recent_interaction_quality, None);
    }

    #[test]
    fn other_persona_is_seen_from_either_side() {
        let (low, high) = ids();
        let r = Relationship::new(low, high, at(0));
        assert_eq!(r.other_persona(low), Some(high));
        assert_eq!(r.other_persona(high), Some(low));
        assert_eq!(r.other_persona(Uuid::from_u128(3)), None);
    }

    #[test]
    fn strength_of_the_seeded_aria_kira_acquaintance() {
        let r = with_dims(0.3, 0.3, 0.4, 0.1);
        close(r.strength(), 0.30);
        assert_eq!(derive_type(r.strength()), RelationshipType::Acquaintance);
    }

    #[test]
    fn intimacy_takes_the_sign_of_affinity() {
        close(with_dims(0.5, 0.0, 0.0, 1.0).strength(), 0.3);
        close(with_dims(-0.5, 0.0, 0.0, 1.0).strength(), -0.3);
        close(with_dims(0.0, 0.0, 0.0, 1.0).strength(), 0.1);
        close(with_dims(1.0, 1.0, 1.0, 1.0).strength(), 1.0);
        close(with_dims(-1.0, -1.0, -1.0, 1.0).strength(), -1.0);
    }

    #[test]
    fn derive_type_at_every_threshold() {
        use RelationshipType::*;
        let cases = [
            (-1.0, Enemy),
            (-0.700_001, Enemy),
            (-0.7, Rival),
            (-0.300_001, Rival),
            (-0.3, Stranger),
            (0.0, Stranger),
            (0.199_999, Stranger),
            (0.2, Acquaintance),
            (0.499_999, Acquaintance),
            (0.5, Friend),
            (0.799_999, Friend),
            (0.8, CloseFriend),
            (1.0, CloseFriend),
        ];
        for (strength, expected) in cases {
            assert_eq!(derive_type(strength), expected, "strength {strength}");
        }
    }

    #[test]
    fn type_names_round_trip_and_serde_uses_snake_case() {
        for t in RelationshipType::ALL {
            assert_eq!(RelationshipType::parse(t.as_str()), Some(t));
            let json = serde_json::to_value(t).expect("serializes");
            assert_eq!(json, serde_json::Value::String(t.as_str().to_owned()));
        }
        assert_eq!(
            RelationshipType::parse(" Close Friend "),
            Some(RelationshipType::CloseFriend)
        );
        assert_eq!(
            RelationshipType::parse("close-friend"),
            Some(RelationshipType::CloseFriend)
        );
        assert_eq!(RelationshipType::parse("frenemy"), None);
    }

    #[test]
    fn explicit_types_are_the_four_set_by_hand() {
        let explicit: Vec<_> = RelationshipType::ALL.into_iter().filter(|t| t.is_explicit()).collect();
        use RelationshipType::*;
        assert_eq!(explicit, vec![Mentor, Student, Romantic, Family]);
    }

    #[test]
    fn compatibility_score_with_and_without_the_mutual_bonus() {
        // 0.3·0.3 + 0.25·0.3 + 0.25·0.4 + 0.2·0.1 = 0.285, ×1.2 = 0.342
        close(with_dims(0.3, 0.3, 0.4, 0.1).compatibility_score(), 0.342);
        // negative affinity: absolute values, no bonus: 0.15 + 0.05 + 0.0 + 0 = 0.2
        close(with_dims(-0.5, 0.2, 0.0, 0.0).compatibility_score(), 0.2);
        // zero trust: no bonus
        close(with_dims(1.0, 0.0, 0.0, 0.0).compatibility_score(), 0.3);
        // everything maxed: 1.0 × 1.2 capped at 1
        close(with_dims(1.0, 1.0, 1.0, 1.0).compatibility_score(), 1.0);
    }

    #[test]
    fn one_full_positive_interaction_moves_every_dimension() {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        let out = r.apply_interaction(0.9, 30.0, "conversation", at(5));
        close(r.affinity, 0.045);
        close(r.trust, 0.027);
        close(r.respect, 0.036);
        close(r.intimacy, 0.02);
        assert_eq!(r.interaction_count, 1);
        close(r.total_interaction_time, 30.0);
        assert_eq!(r.last_interaction, Some(at(5)));
        assert_eq!(r.recent_interaction_quality, Some(0.9));
        assert!(out.memorable);
        assert_eq!(out.context, "conversation");
        assert!(!out.type_changed());
    }

    #[test]
    fn short_interactions_are_weighted_pro_rata() {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        r.apply_interaction(0.6, 15.0, "chat", at(1));
        // w = 0.5: affinity 0.05·0.6·0.5, trust 0.03·0.6·0.5, respect 0.04·0.6·0.5, intimacy 0.02·0.5
        close(r.affinity, 0.015);
        close(r.trust, 0.009);
        close(r.respect, 0.012);
        close(r.intimacy, 0.01);
    }

    #[test]
    fn long_interactions_count_no_more_than_thirty_minutes() {
        let mut long = with_dims(0.0, 0.0, 0.0, 0.0);
        let mut full = long.clone();
        long.apply_interaction(0.9, 300.0, "c", at(1));
        full.apply_interaction(0.9, 30.0, "c", at(1));
        close(long.affinity, full.affinity);
        close(long.total_interaction_time, 300.0);
    }

    #[test]
    fn mild_quality_moves_affinity_and_trust_only() {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        let out = r.apply_interaction(0.3, 30.0, "c", at(1));
        close(r.affinity, 0.015);
        close(r.trust, 0.009);
        assert_eq!(r.respect, 0.0, "|q| = 0.3 is not above 0.5");
        assert_eq!(r.intimacy, 0.0, "q = 0.3 is not above 0.3");
        assert!(!out.memorable);
    }

    #[test]
    fn intimacy_needs_more_than_ten_minutes() {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        r.apply_interaction(0.9, 10.0, "c", at(1));
        assert_eq!(r.intimacy, 0.0);
        r.apply_interaction(0.9, 12.0, "c", at(2));
        close(r.intimacy, 0.008); // 0.02 · 12/30
    }

    #[test]
    fn negative_quality_lowers_affinity_and_respect_but_never_trust_or_intimacy() {
        let mut r = with_dims(0.2, 0.2, 0.2, 0.2);
        let out = r.apply_interaction(-0.8, 30.0, "argument", at(1));
        close(r.affinity, 0.16);
        close(r.trust, 0.2);
        close(r.respect, 0.168);
        close(r.intimacy, 0.2);
        assert!(out.memorable);
    }

    #[test]
    fn memorable_only_strictly_above_seven_tenths() {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        assert!(!r.apply_interaction(0.7, 5.0, "c", at(1)).memorable);
        assert!(!r.apply_interaction(-0.7, 5.0, "c", at(1)).memorable);
        assert!(r.apply_interaction(-0.71, 5.0, "c", at(1)).memorable);
    }

    #[test]
    fn inputs_are_clamped_and_sanitised() {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        let out = r.apply_interaction(5.0, -3.0, "c", at(1));
        assert_eq!(out.quality, 1.0);
        assert_eq!(out.duration_minutes, 0.0);
        assert_eq!(r.affinity, 0.0, "zero minutes carry no weight");
        let out = r.apply_interaction(f64::NAN, f64::INFINITY, "c", at(1));
        assert_eq!((out.quality, out.duration_minutes), (0.0, 0.0));
        assert_eq!(r.interaction_count, 2);
    }

    #[test]
    fn dimensions_stay_in_range() {
        let mut r = with_dims(0.99, 0.99, 0.99, 0.99);
        r.apply_interaction(1.0, 30.0, "c", at(1));
        assert_eq!((r.affinity, r.trust, r.respect, r.intimacy), (1.0, 1.0, 1.0, 1.0));
        let mut r = with_dims(-0.99, -0.99, -0.99, 0.0);
        r.apply_interaction(-1.0, 30.0, "c", at(1));
        assert_eq!((r.affinity, r.respect), (-1.0, -1.0));
    }

    #[test]
    fn first_meeting_is_kept_and_filled_when_missing() {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        r.apply_interaction(0.5, 5.0, "c", at(4));
        assert_eq!(r.first_meeting, Some(at(0)));
        r.first_meeting = None;
        r.apply_interaction(0.5, 5.0, "c", at(6));
        assert_eq!(r.first_meeting, Some(at(6)));
        assert_eq!(r.last_interaction, Some(at(6)));
    }

    /// Each interaction of quality 0.9 over 30 min adds 0.4·0.045 + 0.3·0.027 + 0.2·0.036 + 0.1·0.02
    /// = 0.0353 to the strength until a dimension reaches its bound.
    fn interactions_until_type(quality: f64, wanted: RelationshipType) -> Option<usize> {
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        (1..=100).find(|_| r.apply_interaction(quality, 30.0, "c", at(1)).relationship_type == wanted)
    }

    #[test]
    fn repeated_good_interactions_make_friends_at_the_documented_thresholds() {
        use RelationshipType::*;
        // 0.2 / 0.0353 = 5.67 → the 6th interaction (0.2118)
        assert_eq!(interactions_until_type(0.9, Acquaintance), Some(6));
        // 0.5 / 0.0353 = 14.2 → the 15th (0.5295); after 14 it is 0.4942
        assert_eq!(interactions_until_type(0.9, Friend), Some(15));
        // Affinity hits 1 on the 23rd (1.035 → 1), leaving 0.7979 < 0.8; the 24th gives 0.8152.
        assert_eq!(interactions_until_type(0.9, CloseFriend), Some(24));
    }

    #[test]
    fn repeated_bad_interactions_make_rivals_but_never_enemies() {
        use RelationshipType::*;
        // Per interaction: affinity −0.045, respect −0.036 → strength −0.0252; −0.3 crossed on the 12th.
        assert_eq!(interactions_until_type(-0.9, Rival), Some(12));
        // Trust never falls from interactions, so strength bottoms out at −0.4 − 0.2 = −0.6.
        assert_eq!(interactions_until_type(-0.9, Enemy), None);
        let mut r = with_dims(0.0, 0.0, 0.0, 0.0);
        for _ in 0..100 {
            r.apply_interaction(-0.9, 30.0, "c", at(1));
        }
        close(r.strength(), -0.6);
        assert_eq!(r.relationship_type, Rival);
    }

    #[test]
    fn a_type_change_is_reported() {
        let mut r = with_dims(0.0, 0.49, 0.0, 0.0);
        // strength 0.147 → after q = 1, 30 min: 0.4·0.05 + 0.3·0.52 + 0.2·0.04 + 0.1·0.02 = 0.186
        assert!(!r.apply_interaction(1.0, 30.0, "c", at(1)).type_changed());
        let out = r.apply_interaction(1.0, 30.0, "c", at(1));
        assert_eq!(out.previous_type, RelationshipType::Stranger);
        assert_eq!(out.relationship_type, RelationshipType::Acquaintance);
        assert!(out.type_changed());
    }

    #[test]
    fn explicit_types_survive_interactions() {
        let mut r = with_dims(-0.9, -0.9, -0.9, 0.0);
        r.relationship_type = RelationshipType::Family;
        let out = r.apply_interaction(-1.0, 30.0, "feud", at(1));
        assert_eq!(out.relationship_type, RelationshipType::Family);
        assert!(!out.type_changed());
    }

    #[test]
    fn refresh_type_follows_strength() {
        let mut r = with_dims(-1.0, -1.0, -1.0, 0.0);
        r.refresh_type();
        assert_eq!(r.relationship_type, RelationshipType::Enemy);
    }

    #[test]
    fn conversation_quality_maps_the_mean_score_linearly() {
        close(conversation_quality(&[50.0]), 0.0);
        close(conversation_quality(&[100.0, 100.0]), 1.0);
        close(conversation_quality(&[0.0]), -1.0);
        close(conversation_quality(&[80.0, 60.0]), 0.4);
        close(conversation_quality(&[30.0, 40.0]), -0.3);
        close(conversation_quality(&[]), 0.0);
        // out of range clamped, non-finite skipped: mean(100, 0) = 50
        close(conversation_quality(&[250.0, -10.0, f64::NAN]), 0.0);
    }

    #[test]
    fn serde_round_trip_keeps_field_names() {
        let mut r = with_dims(0.3, 0.3, 0.4, 0.1);
        r.refresh_type();
        let json = serde_json::to_value(&r).expect("serializes");
        for field in [
            "persona1_id",
            "persona2_id",
            "affinity",
            "trust",
            "respect",
            "intimacy",
            "relationship_type",
            "interaction_count",
            "total_interaction_time",
            "first_meeting",
            "last_interaction",
            "recent_interaction_quality",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        assert_eq!(json["relationship_type"], "acquaintance");
        let back: Relationship = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, r);
    }
}
