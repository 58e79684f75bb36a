//! The continue score (0..100): how much a persona wants to keep talking (DOMAIN.md "Continue score"),
//! and the per-turn costs that feed it (social energy, fatigue) and follow from it (cooldown).
//!
//! score = time pressure (0..30) + topic alignment (0..25) + social compatibility (0..20)
//! + resources (0..10) − fatigue (0..15) ± relationship history (−15..15), clamped to 0..100.
//!
//! Time pressure follows the old server: the priority's decay number is the seconds of conversation
//! that cost one point, so the 30 points are gone after 1 minute for urgent business (2 s a point),
//! 5 minutes for important work and for academic, business or no priority (10 s), and 15 minutes for
//! casual and social talk (30 s).

use super::persona::{Persona, Priority};

/// Most points from time pressure (a conversation that just started).
pub const MAX_TIME_PRESSURE: f64 = 30.0;
/// Most points from topic alignment.
pub const MAX_TOPIC: f64 = 25.0;
/// Most points from social compatibility.
pub const MAX_SOCIAL: f64 = 20.0;
/// Most points from resources (time, tokens, energy).
pub const MAX_RESOURCES: f64 = 10.0;
/// Largest fatigue penalty.
pub const MAX_FATIGUE_PENALTY: f64 = 15.0;
/// Largest relationship bonus or malus.
pub const MAX_RELATIONSHIP: f64 = 15.0;

/// Seconds of conversation per lost time-pressure point for urgent business.
pub const URGENT_SECS_PER_POINT: f64 = 2.0;
/// Seconds per lost point for important work (and academic, business or no priority).
pub const IMPORTANT_SECS_PER_POINT: f64 = 10.0;
/// Seconds per lost point for casual and social talk.
pub const CASUAL_SECS_PER_POINT: f64 = 30.0;

/// Topic preference assumed for a persona that has none for the topic.
pub const NEUTRAL_TOPIC_PREFERENCE: f64 = 50.0;
/// Weight of the mean preference in topic alignment…
pub const TOPIC_MEAN_WEIGHT: f64 = 0.7;
/// …and of the lower one, so mutual interest beats one-sided enthusiasm.
pub const TOPIC_MIN_WEIGHT: f64 = 0.3;

/// Fatigue points per penalty point.
pub const FATIGUE_PER_PENALTY_POINT: f64 = 2.0;

/// Available time (seconds) under which resource points shrink pro rata.
pub const LOW_AVAILABLE_SECS: f64 = 60.0;
/// Remaining tokens under which resource points shrink pro rata.
pub const LOW_TOKENS: f64 = 100.0;
/// Social energy under which resource points shrink pro rata (replies get shorter there too).
pub const LOW_SOCIAL_ENERGY: f64 = 30.0;

/// A persona under this score wants to end the conversation.
pub const END_BELOW: f64 = 40.0;
/// A conversation ending at or above this score was satisfying: half the cooldown.
pub const SATISFYING_FROM: f64 = 70.0;
/// A conversation ending under this score was unsatisfying: double the cooldown.
pub const UNSATISFYING_BELOW: f64 = 30.0;
/// Cooldown after a conversation, in seconds, before the score adjusts it.
pub const BASE_COOLDOWN_SECS: f64 = 300.0;

/// Social energy one chat turn costs.
pub const TURN_ENERGY_COST: f64 = 5.0;
/// Replies longer than this many characters cost extra energy.
pub const LONG_REPLY_CHARS: usize = 400;
/// Extra energy per 100 characters beyond [`LONG_REPLY_CHARS`].
pub const ENERGY_PER_EXTRA_100_CHARS: f64 = 0.5;
/// Most energy one turn can cost.
pub const MAX_TURN_ENERGY_COST: f64 = 15.0;

/// Seconds of talking per fatigue point.
pub const SECS_PER_FATIGUE_POINT: f64 = 30.0;
/// A turn counts as at least this long for fatigue.
pub const MIN_TURN_SECS: f64 = 30.0;
/// Share of the speaker's fatigue that the listener gets.
pub const LISTENER_FATIGUE_SHARE: f64 = 0.5;

/// What a persona has left to spend on the conversation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resources {
    /// Seconds the persona is still willing to talk.
    pub available_time_secs: f64,
    /// Tokens left in the conversation's (or turn's) budget.
    pub tokens_remaining: f64,
    /// Current social energy (0..200).
    pub social_energy: f64,
}

/// Everything the continue score of one persona depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContinueInputs {
    /// The persona's current priority.
    pub priority: Priority,
    /// How long the conversation has lasted.
    pub minutes_in_conversation: f64,
    /// 0..1, e.g. [`topic_alignment`].
    pub topic_alignment: f64,
    /// 0..1, e.g. the compatibility engine's social score.
    pub social_compatibility: f64,
    /// What the persona has left.
    pub resources: Resources,
    /// The persona's interaction fatigue (≥ 0).
    pub fatigue: f64,
    /// −1..1, the relationship's strength with the other speaker (0 when none).
    pub relationship_strength: f64,
}

/// The continue score and its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContinueScore {
    /// 0..30.
    pub time_pressure: f64,
    /// 0..25.
    pub topic: f64,
    /// 0..20.
    pub social: f64,
    /// 0..10.
    pub resources: f64,
    /// 0..15, subtracted.
    pub fatigue_penalty: f64,
    /// −15..15.
    pub relationship: f64,
    /// The sum, clamped to 0..100.
    pub total: f64,
}

/// Computes the continue score. Out-of-range inputs are clamped and non-finite ones count as 0.
pub fn continue_score(inputs: &ContinueInputs) -> ContinueScore {
    let time_pressure = time_pressure_points(inputs.priority, inputs.minutes_in_conversation);
    let topic = topic_points(inputs.topic_alignment);
    let social = social_points(inputs.social_compatibility);
    let resources = resource_points(&inputs.resources);
    let fatigue_penalty = fatigue_penalty(inputs.fatigue);
    let relationship = relationship_points(inputs.relationship_strength);
    let total = (time_pressure + topic + social + resources - fatigue_penalty + relationship).clamp(0.0, 100.0);
    ContinueScore {
        time_pressure,
        topic,
        social,
        resources,
        fatigue_penalty,
        relationship,
        total,
    }
}

/// Seconds of conversation that cost one time-pressure point for a priority.
pub fn secs_per_point(priority: Priority) -> f64 {
    match priority {
        Priority::Urgent => URGENT_SECS_PER_POINT,
        Priority::Casual | Priority::Social => CASUAL_SECS_PER_POINT,
        Priority::Important | Priority::Academic | Priority::Business | Priority::None => IMPORTANT_SECS_PER_POINT,
    }
}

/// 0..30: 30 − seconds in conversation / [`secs_per_point`].
pub fn time_pressure_points(priority: Priority, minutes_in_conversation: f64) -> f64 {
    let secs = non_negative(minutes_in_conversation) * 60.0;
    (MAX_TIME_PRESSURE - secs / secs_per_point(priority)).clamp(0.0, MAX_TIME_PRESSURE)
}

/// 0..1 alignment of two personas with a topic: (0.7·mean + 0.3·min of their preferences) / 100, a
/// persona without a preference for the topic counting as 50.
pub fn topic_alignment(a: &Persona, b: &Persona, topic: &str) -> f64 {
    let [pa, pb] = [a, b].map(|p| {
        p.topic_preferences
            .get(topic)
            .map_or(NEUTRAL_TOPIC_PREFERENCE, |v| v.clamp(0.0, 100.0))
    });
    (TOPIC_MEAN_WEIGHT * (pa + pb) / 2.0 + TOPIC_MIN_WEIGHT * pa.min(pb)) / 100.0
}

/// 0..25: alignment (0..1) × 25.
pub fn topic_points(alignment: f64) -> f64 {
    unit(alignment) * MAX_TOPIC
}

/// 0..20: social compatibility (0..1) × 20.
pub fn social_points(compatibility: f64) -> f64 {
    unit(compatibility) * MAX_SOCIAL
}

/// 0..10: 10 × the share left of each scarce resource, each share being min(1, value / its low mark)
/// (60 s of time, 100 tokens, 30 social energy).
pub fn resource_points(resources: &Resources) -> f64 {
    let share = |value: f64, low: f64| (non_negative(value) / low).min(1.0);
    MAX_RESOURCES
        * share(resources.available_time_secs, LOW_AVAILABLE_SECS)
        * share(resources.tokens_remaining, LOW_TOKENS)
        * share(resources.social_energy, LOW_SOCIAL_ENERGY)
}

/// 0..15: fatigue / 2.
pub fn fatigue_penalty(fatigue: f64) -> f64 {
    (non_negative(fatigue) / FATIGUE_PER_PENALTY_POINT).min(MAX_FATIGUE_PENALTY)
}

/// −15..15: relationship strength (−1..1) × 15.
pub fn relationship_points(strength: f64) -> f64 {
    finite_or_zero(strength).clamp(-1.0, 1.0) * MAX_RELATIONSHIP
}

/// Whether a persona with this score wants to end the conversation (score < 40).
pub fn wants_to_end(score: f64) -> bool {
    score < END_BELOW
}

/// Cooldown (seconds) after a conversation that ended with `score`: half of `base_secs` when
/// satisfying (≥ 70), double when unsatisfying (< 30), else `base_secs` (normally
/// [`BASE_COOLDOWN_SECS`]).
pub fn cooldown_after(score: f64, base_secs: f64) -> f64 {
    if score >= SATISFYING_FROM {
        base_secs / 2.0
    } else if score < UNSATISFYING_BELOW {
        base_secs * 2.0
    } else {
        base_secs
    }
}

/// Social energy one chat turn costs: 5, plus 0.5 per 100 characters of reply beyond 400, at most 15.
pub fn energy_cost_for_turn(reply_chars: usize) -> f64 {
    let extra_chars = reply_chars.saturating_sub(LONG_REPLY_CHARS) as f64;
    (TURN_ENERGY_COST + extra_chars / 100.0 * ENERGY_PER_EXTRA_100_CHARS).min(MAX_TURN_ENERGY_COST)
}

/// Which side of a turn a persona was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnRole {
    /// It spoke.
    Speaker,
    /// It listened.
    Listener,
}

/// Fatigue one turn adds: one point per 30 s, a turn counting as at least 30 s; a listener gets half.
pub fn fatigue_for_turn(turn_secs: f64, role: TurnRole) -> f64 {
    let points = non_negative(turn_secs).max(MIN_TURN_SECS) / SECS_PER_FATIGUE_POINT;
    match role {
        TurnRole::Speaker => points,
        TurnRole::Listener => points * LISTENER_FATIGUE_SHARE,
    }
}

/// The value, or 0 when it is NaN or infinite (inputs are sanitised before clamping, which keeps NaN).
pub(crate) fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        0.0
    }
}

fn non_negative(value: f64) -> f64 {
    finite_or_zero(value).max(0.0)
}

fn unit(value: f64) -> f64 {
    finite_or_zero(value).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::super::compatibility::fixtures::{aria, kira, persona};
    use super::*;

    const EPS: f64 = 1e-9;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < EPS, "expected {expected}, got {actual}");
    }

    const PLENTY: Resources = Resources {
        available_time_secs: 600.0,
        tokens_remaining: 1000.0,
        social_energy: 100.0,
    };

    fn fresh(priority: Priority) -> ContinueInputs {
        ContinueInputs {
            priority,
            minutes_in_conversation: 0.0,
            topic_alignment: 0.5,
            social_compatibility: 0.5,
            resources: PLENTY,
            fatigue: 0.0,
            relationship_strength: 0.0,
        }
    }

    #[test]
    fn time_pressure_per_priority() {
        // urgent: 2 s a point → 30 points gone after 60 s
        close(time_pressure_points(Priority::Urgent, 0.0), 30.0);
        close(time_pressure_points(Priority::Urgent, 0.5), 15.0);
        close(time_pressure_points(Priority::Urgent, 1.0), 0.0);
        // important: 10 s a point → 5 minutes
        close(time_pressure_points(Priority::Important, 1.0), 24.0);
        close(time_pressure_points(Priority::Important, 5.0), 0.0);
        // casual: 30 s a point → 15 minutes
        close(time_pressure_points(Priority::Casual, 1.0), 28.0);
        close(time_pressure_points(Priority::Casual, 15.0), 0.0);
        close(time_pressure_points(Priority::Social, 7.5), 15.0);
        for p in [Priority::Academic, Priority::Business, Priority::None] {
            close(time_pressure_points(p, 2.5), 15.0);
        }
    }

    #[test]
    fn time_pressure_is_bounded() {
        close(time_pressure_points(Priority::Urgent, 1000.0), 0.0);
        close(time_pressure_points(Priority::Casual, -5.0), 30.0);
        close(time_pressure_points(Priority::Casual, f64::NAN), 30.0);
    }

    #[test]
    fn topic_alignment_favours_mutual_interest() {
        // magic: Aria 70, Kira 90 → 0.7·80 + 0.3·70 = 77
        close(topic_alignment(&aria(), &kira(), "magic"), 0.77);
        // gossip: 80 and 20 → 0.7·50 + 0.3·20 = 41
        close(topic_alignment(&aria(), &kira(), "gossip"), 0.41);
        // unknown to both → 50 each
        close(topic_alignment(&aria(), &kira(), "general"), 0.5);
        // music: Aria 95, Kira none (50) → 0.7·72.5 + 0.3·50 = 65.75
        close(topic_alignment(&kira(), &aria(), "music"), 0.6575);
        let fan = persona("Fan", &[], &[("x", 100.0)]);
        let hater = persona("Hater", &[], &[("x", 0.0)]);
        close(topic_alignment(&fan, &fan.clone(), "x"), 1.0);
        close(topic_alignment(&hater, &hater.clone(), "x"), 0.0);
        close(topic_alignment(&fan, &hater, "x"), 0.35);
    }

    #[test]
    fn topic_and_social_points_are_bounded() {
        close(topic_points(0.0), 0.0);
        close(topic_points(0.77), 19.25);
        close(topic_points(1.0), 25.0);
        close(topic_points(3.0), 25.0);
        close(topic_points(-1.0), 0.0);
        close(social_points(0.0), 0.0);
        close(social_points(0.75), 15.0);
        close(social_points(1.0), 20.0);
        close(social_points(7.0), 20.0);
        close(social_points(f64::NAN), 0.0);
    }

    #[test]
    fn resources_shrink_pro_rata_when_scarce() {
        close(resource_points(&PLENTY), 10.0);
        let half_time = Resources {
            available_time_secs: 30.0,
            ..PLENTY
        };
        close(resource_points(&half_time), 5.0);
        let scarce = Resources {
            available_time_secs: 30.0,
            tokens_remaining: 50.0,
            social_energy: 15.0,
        };
        close(resource_points(&scarce), 1.25);
        let empty = Resources {
            tokens_remaining: 0.0,
            ..PLENTY
        };
        close(resource_points(&empty), 0.0);
        let negative = Resources {
            social_energy: -10.0,
            ..PLENTY
        };
        close(resource_points(&negative), 0.0);
        let at_marks = Resources {
            available_time_secs: 60.0,
            tokens_remaining: 100.0,
            social_energy: 30.0,
        };
        close(resource_points(&at_marks), 10.0);
    }

    #[test]
    fn fatigue_penalty_is_half_the_fatigue_up_to_fifteen() {
        close(fatigue_penalty(0.0), 0.0);
        close(fatigue_penalty(10.0), 5.0);
        close(fatigue_penalty(30.0), 15.0);
        close(fatigue_penalty(500.0), 15.0);
        close(fatigue_penalty(-4.0), 0.0);
    }

    #[test]
    fn relationship_points_are_symmetric_and_bounded() {
        close(relationship_points(0.0), 0.0);
        close(relationship_points(0.3), 4.5);
        close(relationship_points(-1.0), -15.0);
        close(relationship_points(1.0), 15.0);
        close(relationship_points(-3.0), -15.0);
        close(relationship_points(f64::INFINITY), 0.0);
    }

    #[test]
    fn best_and_worst_cases_reach_the_ends_of_the_scale() {
        let best = ContinueInputs {
            topic_alignment: 1.0,
            social_compatibility: 1.0,
            relationship_strength: 1.0,
            ..fresh(Priority::Casual)
        };
        let score = continue_score(&best);
        close(score.total, 100.0);
        let worst = ContinueInputs {
            minutes_in_conversation: 60.0,
            topic_alignment: 0.0,
            social_compatibility: 0.0,
            resources: Resources {
                social_energy: 0.0,
                ..PLENTY
            },
            fatigue: 100.0,
            relationship_strength: -1.0,
            ..fresh(Priority::Urgent)
        };
        let score = continue_score(&worst);
        close(score.fatigue_penalty, 15.0);
        close(score.relationship, -15.0);
        close(score.total, 0.0);
    }

    #[test]
    fn aria_with_kira_on_magic_after_three_minutes() {
        let inputs = ContinueInputs {
            priority: Priority::Social,
            minutes_in_conversation: 3.0,
            topic_alignment: topic_alignment(&aria(), &kira(), "magic"),
            social_compatibility: 0.75,
            resources: Resources {
                available_time_secs: 420.0,
                tokens_remaining: 700.0,
                social_energy: 135.0,
            },
            fatigue: 6.0,
            relationship_strength: 0.3,
        };
        let s = continue_score(&inputs);
        // 24 (30 − 180/30) + 19.25 + 15 + 10 − 3 + 4.5
        close(s.time_pressure, 24.0);
        close(s.total, 69.75);
        assert!(!wants_to_end(s.total));
    }

    #[test]
    fn an_urgent_persona_soon_wants_to_leave() {
        let inputs = ContinueInputs {
            minutes_in_conversation: 2.0,
            ..fresh(Priority::Urgent)
        };
        // 0 + 12.5 + 10 + 10 − 0 + 0
        let s = continue_score(&inputs);
        close(s.total, 32.5);
        assert!(wants_to_end(s.total));
    }

    #[test]
    fn ending_threshold() {
        assert!(wants_to_end(39.99));
        assert!(!wants_to_end(40.0));
    }

    #[test]
    fn cooldown_halves_for_satisfying_and_doubles_for_unsatisfying_conversations() {
        close(cooldown_after(100.0, BASE_COOLDOWN_SECS), 150.0);
        close(cooldown_after(70.0, BASE_COOLDOWN_SECS), 150.0);
        close(cooldown_after(69.9, BASE_COOLDOWN_SECS), 300.0);
        close(cooldown_after(30.0, BASE_COOLDOWN_SECS), 300.0);
        close(cooldown_after(29.9, BASE_COOLDOWN_SECS), 600.0);
        close(cooldown_after(0.0, 100.0), 200.0);
    }

    #[test]
    fn energy_cost_grows_with_long_replies_up_to_a_cap() {
        close(energy_cost_for_turn(0), 5.0);
        close(energy_cost_for_turn(400), 5.0);
        close(energy_cost_for_turn(600), 6.0);
        close(energy_cost_for_turn(1400), 10.0);
        close(energy_cost_for_turn(2400), 15.0);
        close(energy_cost_for_turn(100_000), 15.0);
    }

    #[test]
    fn fatigue_per_turn_counts_at_least_thirty_seconds_and_half_for_listeners() {
        close(fatigue_for_turn(0.0, TurnRole::Speaker), 1.0);
        close(fatigue_for_turn(30.0, TurnRole::Speaker), 1.0);
        close(fatigue_for_turn(90.0, TurnRole::Speaker), 3.0);
        close(fatigue_for_turn(90.0, TurnRole::Listener), 1.5);
        close(fatigue_for_turn(f64::NAN, TurnRole::Listener), 0.5);
    }
}
