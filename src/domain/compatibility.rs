//! The compatibility engine: how well two personas are likely to get on, and how they should approach
//! each other (DOMAIN.md "Compatibility engine"; the report is PROTOCOL.md `relationship.compatibility`).
//!
//! overall = 0.35·personality + 0.25·social + 0.25·interests + 0.15·history, each 0..1.
//!
//! Personality compares Big-Five profiles mapped from the persona's free-form traits with
//! [`TRAIT_MAP`]: each listed trait (0..100, words such as "high" read by [`trait_score`]) feeds one
//! dimension, directly or inverted (100 − value); a dimension is the mean of its feeding traits / 100, and a
//! dimension no trait feeds is neutral (0.5). A persona none of whose traits is in the map has no profile and
//! the personality score is neutral (0.5). Trait names are matched case-insensitively, with spaces and
//! hyphens read as underscores.
//!
//! The words in the report (prediction, style, potential, frequency, challenges) are decided on the
//! rounded (3 dp) scores the report shows, so that a reader of the report can check them.

use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::emotion::join_and;
use super::persona::{trait_score, Persona};
use super::relationship::Relationship;
use super::round3;

/// Weight of personality in the overall score.
pub const PERSONALITY_WEIGHT: f64 = 0.35;
/// Weight of social attributes in the overall score.
pub const SOCIAL_WEIGHT: f64 = 0.25;
/// Weight of shared interests in the overall score.
pub const INTERESTS_WEIGHT: f64 = 0.25;
/// Weight of relationship history in the overall score.
pub const HISTORY_WEIGHT: f64 = 0.15;

/// Weight of openness in the personality score.
pub const OPENNESS_WEIGHT: f64 = 0.2;
/// Weight of conscientiousness in the personality score.
pub const CONSCIENTIOUSNESS_WEIGHT: f64 = 0.15;
/// Weight of extraversion in the personality score.
pub const EXTRAVERSION_WEIGHT: f64 = 0.25;
/// Weight of agreeableness in the personality score.
pub const AGREEABLENESS_WEIGHT: f64 = 0.25;
/// Weight of neuroticism in the personality score.
pub const NEUROTICISM_WEIGHT: f64 = 0.15;
/// Neuroticism similarity loses this × the lower of the two values: two anxious personas are no match.
pub const SHARED_NEUROTICISM_PENALTY: f64 = 0.3;

/// The neutral value of any 0..1 score or Big-Five dimension without data.
pub const NEUTRAL: f64 = 0.5;

/// Weight of charisma closeness in the social score.
pub const CHARISMA_WEIGHT: f64 = 0.4;
/// Weight of intelligence closeness in the social score.
pub const INTELLIGENCE_WEIGHT: f64 = 0.4;
/// Weight of social-rank closeness in the social score.
pub const RANK_WEIGHT: f64 = 0.2;
/// Largest possible difference of two 1..20 attributes.
pub const ATTRIBUTE_SPAN: f64 = 19.0;
/// Rank closeness for a rank difference of 0, 1 and 2 steps; [`FAR_RANK_CLOSENESS`] beyond.
pub const RANK_CLOSENESS: [f64; 3] = [1.0, 0.8, 0.6];
/// Rank closeness for ranks three or more steps apart.
pub const FAR_RANK_CLOSENESS: f64 = 0.3;

/// A shared topic counts in the interest similarity only when both preferences are above this.
pub const INTEREST_FLOOR: f64 = 20.0;
/// Bonus × (shared topics / topics of the persona with more topics).
pub const SHARED_TOPIC_BONUS: f64 = 0.2;
/// Interest score when the personas share no (sufficiently liked) topic.
pub const NO_SHARED_INTERESTS: f64 = 0.3;
/// A shared topic is recommended when both preferences are above this.
pub const RECOMMENDED_TOPIC_ABOVE: f64 = 30.0;
/// At most this many recommended topics.
pub const MAX_RECOMMENDED_TOPICS: usize = 5;
/// A persona's topic under this preference is one to avoid with it.
pub const AVOID_TOPIC_BELOW: f64 = 30.0;
/// A persona with less social energy than this gets a "keep it short" tip (100 is the default energy).
pub const LOW_SOCIAL_ENERGY: f64 = 100.0;

/// `personality_clash` when the personality score is under this.
pub const PERSONALITY_CLASH_BELOW: f64 = 0.4;
/// `social_mismatch` when the social score is under this.
pub const SOCIAL_MISMATCH_BELOW: f64 = 0.4;
/// `few_shared_interests` when the interests score is under this.
pub const FEW_SHARED_INTERESTS_BELOW: f64 = 0.3;
/// `high_stress_potential` when either persona's neuroticism is above this.
pub const HIGH_NEUROTICISM_ABOVE: f64 = 0.7;
/// `energy_level_mismatch` when the extraversion gap is above this.
pub const ENERGY_MISMATCH_ABOVE: f64 = 0.6;

/// The Big-Five dimension each trait feeds: (trait, dimension, inverted). Inverted traits count as
/// 100 − value.
pub const TRAIT_MAP: &[(&str, BigFiveDimension, bool)] = {
    use BigFiveDimension::*;
    &[
        ("openness", Openness, false),
        ("curious", Openness, false),
        ("creative", Openness, false),
        ("imaginative", Openness, false),
        ("open_minded", Openness, false),
        ("adventurous", Openness, false),
        ("artistic", Openness, false),
        ("conservative", Openness, true),
        ("conscientiousness", Conscientiousness, false),
        ("analytical", Conscientiousness, false),
        ("methodical", Conscientiousness, false),
        ("focused", Conscientiousness, false),
        ("organized", Conscientiousness, false),
        ("organised", Conscientiousness, false),
        ("disciplined", Conscientiousness, false),
        ("diligent", Conscientiousness, false),
        ("meticulous", Conscientiousness, false),
        ("impulsive", Conscientiousness, true),
        ("careless", Conscientiousness, true),
        ("extraversion", Extraversion, false),
        ("extroverted", Extraversion, false),
        ("extraverted", Extraversion, false),
        ("outgoing", Extraversion, false),
        ("sociable", Extraversion, false),
        ("talkative", Extraversion, false),
        ("introverted", Extraversion, true),
        ("reserved", Extraversion, true),
        ("shy", Extraversion, true),
        ("quiet", Extraversion, true),
        ("agreeableness", Agreeableness, false),
        ("empathetic", Agreeableness, false),
        ("kind", Agreeableness, false),
        ("friendly", Agreeableness, false),
        ("compassionate", Agreeableness, false),
        ("warm", Agreeableness, false),
        ("cooperative", Agreeableness, false),
        ("hostile", Agreeableness, true),
        ("arrogant", Agreeableness, true),
        ("neuroticism", Neuroticism, false),
        ("anxious", Neuroticism, false),
        ("neurotic", Neuroticism, false),
        ("moody", Neuroticism, false),
        ("nervous", Neuroticism, false),
        ("calm", Neuroticism, true),
        ("optimistic", Neuroticism, true),
        ("confident", Neuroticism, true),
        ("stable", Neuroticism, true),
    ]
};

/// One of the five personality dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BigFiveDimension {
    /// Curiosity, creativity.
    Openness,
    /// Order, method.
    Conscientiousness,
    /// Outgoing vs reserved.
    Extraversion,
    /// Warmth, empathy.
    Agreeableness,
    /// Anxiety, moodiness (lower is better).
    Neuroticism,
}

impl BigFiveDimension {
    /// The five, in the order of [`BigFive::values`].
    pub const ALL: [Self; 5] = [
        Self::Openness,
        Self::Conscientiousness,
        Self::Extraversion,
        Self::Agreeableness,
        Self::Neuroticism,
    ];

    /// Weight in the personality score.
    pub fn weight(self) -> f64 {
        match self {
            Self::Openness => OPENNESS_WEIGHT,
            Self::Conscientiousness => CONSCIENTIOUSNESS_WEIGHT,
            Self::Extraversion => EXTRAVERSION_WEIGHT,
            Self::Agreeableness => AGREEABLENESS_WEIGHT,
            Self::Neuroticism => NEUROTICISM_WEIGHT,
        }
    }

    /// 0..1 compatibility of two values of this dimension: similarity (1 − |a − b|), except that
    /// neuroticism also loses [`SHARED_NEUROTICISM_PENALTY`] × the lower value.
    pub fn compatibility(self, a: f64, b: f64) -> f64 {
        let similarity = 1.0 - (a - b).abs();
        let penalty = match self {
            Self::Neuroticism => SHARED_NEUROTICISM_PENALTY * a.min(b),
            _ => 0.0,
        };
        (similarity - penalty).clamp(0.0, 1.0)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A Big-Five profile, each dimension 0..1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BigFive {
    /// Values indexed like [`BigFiveDimension::ALL`].
    pub values: [f64; 5],
}

impl BigFive {
    /// Every dimension neutral.
    pub const NEUTRAL: Self = Self { values: [NEUTRAL; 5] };

    /// The profile of a persona, `None` when none of its traits is in [`TRAIT_MAP`].
    pub fn of(persona: &Persona) -> Option<Self> {
        let mut sums = [(0.0, 0u32); 5];
        for (name, value) in &persona.personality_traits {
            let Some((dimension, inverted)) = map_trait(name) else {
                continue;
            };
            let Some(score) = trait_score(value) else {
                continue;
            };
            let slot = &mut sums[dimension.index()];
            slot.0 += if inverted { 100.0 - score } else { score };
            slot.1 += 1;
        }
        if sums.iter().all(|&(_, count)| count == 0) {
            return None;
        }
        Some(Self {
            values: sums.map(|(sum, count)| {
                if count == 0 {
                    NEUTRAL
                } else {
                    sum / f64::from(count) / 100.0
                }
            }),
        })
    }

    /// The value of one dimension.
    pub fn get(&self, dimension: BigFiveDimension) -> f64 {
        self.values[dimension.index()]
    }
}

fn map_trait(name: &str) -> Option<(BigFiveDimension, bool)> {
    let key = name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    TRAIT_MAP
        .iter()
        .find(|(trait_name, _, _)| *trait_name == key)
        .map(|&(_, dimension, inverted)| (dimension, inverted))
}

/// 0..1 personality compatibility: the weighted mean of the per-dimension compatibilities; neutral when
/// either persona has no profile.
pub fn personality_compatibility(a: &Persona, b: &Persona) -> f64 {
    match (BigFive::of(a), BigFive::of(b)) {
        (Some(pa), Some(pb)) => profile_compatibility(&pa, &pb),
        _ => NEUTRAL,
    }
}

fn profile_compatibility(a: &BigFive, b: &BigFive) -> f64 {
    let (score, weight) = BigFiveDimension::ALL.iter().fold((0.0, 0.0), |(score, weight), &d| {
        let w = d.weight();
        (score + w * d.compatibility(a.get(d), b.get(d)), weight + w)
    });
    score / weight
}

/// 0..1 social compatibility: 0.4 charisma closeness + 0.4 intelligence closeness + 0.2 rank closeness,
/// where the closeness of two 1..20 attributes is 1 − |difference| / 19.
pub fn social_compatibility(a: &Persona, b: &Persona) -> f64 {
    CHARISMA_WEIGHT * attribute_closeness(a.charisma, b.charisma)
        + INTELLIGENCE_WEIGHT * attribute_closeness(a.intelligence, b.intelligence)
        + RANK_WEIGHT * rank_closeness(&a.social_rank, &b.social_rank)
}

fn attribute_closeness(a: i32, b: i32) -> f64 {
    let difference = (f64::from(a) - f64::from(b)).abs();
    (1.0 - difference / ATTRIBUTE_SPAN).clamp(0.0, 1.0)
}

/// The step of a social rank on the ladder peasant 0 < commoner, performer 1 < artisan, merchant,
/// scholar 2 < noble 3 < royalty 4; unknown ranks stand with commoners.
pub fn rank_level(rank: &str) -> u8 {
    match rank.trim().to_ascii_lowercase().as_str() {
        "peasant" => 0,
        "artisan" | "merchant" | "scholar" => 2,
        "noble" => 3,
        "royalty" => 4,
        _ => 1,
    }
}

/// 0..1 closeness of two social ranks: 1, 0.8, 0.6 for 0, 1, 2 steps apart, 0.3 beyond.
pub fn rank_closeness(a: &str, b: &str) -> f64 {
    let steps = usize::from(rank_level(a).abs_diff(rank_level(b)));
    RANK_CLOSENESS.get(steps).copied().unwrap_or(FAR_RANK_CLOSENESS)
}

/// 0..1 interest compatibility: over the topics both have, the similarity 1 − |p1 − p2|/100 weighted by
/// the mean preference (only topics both rate above 20; 0.3 when there are none), plus 0.2 × the share
/// of topics in common (relative to the persona with more topics). Neutral when either has no topics,
/// 0.3 when no topic is shared.
pub fn interest_compatibility(a: &Persona, b: &Persona) -> f64 {
    let (ta, tb) = (&a.topic_preferences, &b.topic_preferences);
    if ta.is_empty() || tb.is_empty() {
        return NEUTRAL;
    }
    let common = common_topics(a, b);
    if common.is_empty() {
        return NO_SHARED_INTERESTS;
    }
    let (weighted, weights) = common
        .iter()
        .filter(|&&(_, x, y)| x > INTEREST_FLOOR && y > INTEREST_FLOOR)
        .fold((0.0, 0.0), |(weighted, weights), &(_, x, y)| {
            let weight = (x + y) / 200.0;
            (weighted + weight * (1.0 - (x - y).abs() / 100.0), weights + weight)
        });
    let similarity = if weights > 0.0 {
        weighted / weights
    } else {
        NO_SHARED_INTERESTS
    };
    let share = common.len() as f64 / ta.len().max(tb.len()) as f64;
    (similarity + SHARED_TOPIC_BONUS * share).clamp(0.0, 1.0)
}

/// (topic, preference of a, preference of b) for every topic both personas have, preferences clamped
/// to 0..100.
fn common_topics<'p>(a: &'p Persona, b: &Persona) -> Vec<(&'p str, f64, f64)> {
    a.topic_preferences
        .iter()
        .filter_map(|(topic, &x)| {
            let y = *b.topic_preferences.get(topic)?;
            Some((topic.as_str(), x.clamp(0.0, 100.0), y.clamp(0.0, 100.0)))
        })
        .collect()
}

/// 0..1 history score: (strength + 1) / 2 of the existing relationship, neutral without one.
pub fn history_score(existing: Option<&Relationship>) -> f64 {
    existing.map_or(NEUTRAL, |r| ((r.strength() + 1.0) / 2.0).clamp(0.0, 1.0))
}

/// The four component scores, unrounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompatibilityScores {
    /// 0..1.
    pub personality: f64,
    /// 0..1.
    pub social: f64,
    /// 0..1.
    pub interests: f64,
    /// 0..1.
    pub history: f64,
}

impl CompatibilityScores {
    /// Computes the four components for two personas and their relationship, if any.
    pub fn of(a: &Persona, b: &Persona, existing: Option<&Relationship>) -> Self {
        Self {
            personality: personality_compatibility(a, b),
            social: social_compatibility(a, b),
            interests: interest_compatibility(a, b),
            history: history_score(existing),
        }
    }

    /// 0.35·personality + 0.25·social + 0.25·interests + 0.15·history.
    pub fn overall(&self) -> f64 {
        PERSONALITY_WEIGHT * self.personality
            + SOCIAL_WEIGHT * self.social
            + INTERESTS_WEIGHT * self.interests
            + HISTORY_WEIGHT * self.history
    }
}

/// The old server's one-word forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// overall > 0.8.
    Excellent,
    /// overall > 0.65.
    VeryGood,
    /// overall > 0.5.
    Good,
    /// overall > 0.35.
    Challenging,
    /// Anything lower.
    Difficult,
}

impl Prediction {
    /// The prediction for an overall score.
    pub fn from_overall(overall: f64) -> Self {
        match overall {
            o if o > 0.8 => Self::Excellent,
            o if o > 0.65 => Self::VeryGood,
            o if o > 0.5 => Self::Good,
            o if o > 0.35 => Self::Challenging,
            _ => Self::Difficult,
        }
    }
}

/// The four bands that fix interaction style, relationship potential and frequency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// overall > 0.8.
    Excellent,
    /// overall > 0.6.
    Friendly,
    /// overall > 0.4.
    Cordial,
    /// Anything lower.
    Distant,
}

impl Band {
    /// The band of an overall score.
    pub fn from_overall(overall: f64) -> Self {
        match overall {
            o if o > 0.8 => Self::Excellent,
            o if o > 0.6 => Self::Friendly,
            o if o > 0.4 => Self::Cordial,
            _ => Self::Distant,
        }
    }

    /// `interaction_style` word.
    pub fn interaction_style(self) -> &'static str {
        match self {
            Self::Excellent => "collaborative_enthusiastic",
            Self::Friendly => "friendly_engaging",
            Self::Cordial => "respectful_cautious",
            Self::Distant => "formal_distant",
        }
    }

    /// `relationship_potential` word.
    pub fn relationship_potential(self) -> &'static str {
        match self {
            Self::Excellent => "excellent_friends",
            Self::Friendly => "good_friends",
            Self::Cordial => "cordial_acquaintances",
            Self::Distant => "professional_only",
        }
    }

    /// `interaction_frequency` word.
    pub fn interaction_frequency(self) -> &'static str {
        match self {
            Self::Excellent => "frequent",
            Self::Friendly => "regular",
            Self::Cordial => "occasional",
            Self::Distant => "minimal",
        }
    }
}

/// A likely difficulty between the two personas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    /// Personality score under 0.4.
    PersonalityClash,
    /// Social score under 0.4.
    SocialMismatch,
    /// Interests score under 0.3.
    FewSharedInterests,
    /// Either persona's neuroticism above 0.7.
    HighStressPotential,
    /// Extraversion gap above 0.6.
    EnergyLevelMismatch,
}

/// One persona as the engine sees it: its card and, when known, its current social energy (0..200).
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    /// The persona.
    pub persona: &'a Persona,
    /// Current social energy, for the "keep it short" tip.
    pub social_energy: Option<f64>,
}

impl<'a> Party<'a> {
    /// A party whose social energy is known.
    pub fn with_energy(persona: &'a Persona, social_energy: f64) -> Self {
        Self {
            persona,
            social_energy: Some(social_energy),
        }
    }
}

impl<'a> From<&'a Persona> for Party<'a> {
    fn from(persona: &'a Persona) -> Self {
        Self {
            persona,
            social_energy: None,
        }
    }
}

/// `{id, name}` of a persona in the report.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PersonaRef {
    /// Persona id.
    pub id: Uuid,
    /// Persona name.
    pub name: String,
}

impl From<&Persona> for PersonaRef {
    fn from(p: &Persona) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
        }
    }
}

/// `compatibility_analysis`: the scores rounded to 3 dp and the prediction.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CompatibilityAnalysis {
    /// 0..1.
    pub overall: f64,
    /// 0..1.
    pub personality: f64,
    /// 0..1.
    pub social: f64,
    /// 0..1.
    pub interests: f64,
    /// 0..1.
    pub history: f64,
    /// From the rounded overall score.
    pub prediction: Prediction,
}

impl CompatibilityAnalysis {
    /// Rounds the scores and predicts.
    pub fn from_scores(scores: &CompatibilityScores) -> Self {
        let overall = round3(scores.overall());
        Self {
            overall,
            personality: round3(scores.personality),
            social: round3(scores.social),
            interests: round3(scores.interests),
            history: round3(scores.history),
            prediction: Prediction::from_overall(overall),
        }
    }
}

/// `interaction_suggestions`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InteractionSuggestions {
    /// See [`Band::interaction_style`].
    pub interaction_style: &'static str,
    /// Topics both rate above 30, best first (combined preference), at most 5.
    pub recommended_topics: Vec<String>,
    /// Likely difficulties.
    pub potential_challenges: Vec<Challenge>,
    /// See [`Band::relationship_potential`].
    pub relationship_potential: &'static str,
    /// See [`Band::interaction_frequency`].
    pub interaction_frequency: &'static str,
    /// Sentences for a human or a prompt: topics both like, topics to avoid, how to approach.
    pub tips: Vec<String>,
}

/// The `relationship.compatibility` result.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CompatibilityReport {
    /// The first persona.
    pub persona1: PersonaRef,
    /// The second persona.
    pub persona2: PersonaRef,
    /// Scores and prediction.
    pub compatibility_analysis: CompatibilityAnalysis,
    /// How they should interact.
    pub interaction_suggestions: InteractionSuggestions,
    /// Whether a relationship already exists.
    pub existing_relationship: bool,
}

/// Analyses two personas (and their relationship, if any) into the `relationship.compatibility` report.
pub fn analyze(p1: Party, p2: Party, existing: Option<&Relationship>) -> CompatibilityReport {
    let scores = CompatibilityScores::of(p1.persona, p2.persona, existing);
    let analysis = CompatibilityAnalysis::from_scores(&scores);
    let profiles = [p1, p2].map(|p| BigFive::of(p.persona).unwrap_or(BigFive::NEUTRAL));
    let band = Band::from_overall(analysis.overall);
    let recommended_topics = recommended_topics(p1.persona, p2.persona);
    let potential_challenges = challenges(&analysis, &profiles);
    let tips = tips(&[p1, p2], &recommended_topics, &profiles);
    CompatibilityReport {
        persona1: p1.persona.into(),
        persona2: p2.persona.into(),
        interaction_suggestions: InteractionSuggestions {
            interaction_style: band.interaction_style(),
            recommended_topics,
            potential_challenges,
            relationship_potential: band.relationship_potential(),
            interaction_frequency: band.interaction_frequency(),
            tips,
        },
        compatibility_analysis: analysis,
        existing_relationship: existing.is_some(),
    }
}

/// Topics both personas rate above 30, by combined preference (then name), at most five.
pub fn recommended_topics(a: &Persona, b: &Persona) -> Vec<String> {
    let mut shared: Vec<_> = common_topics(a, b)
        .into_iter()
        .filter(|&(_, x, y)| x > RECOMMENDED_TOPIC_ABOVE && y > RECOMMENDED_TOPIC_ABOVE)
        .collect();
    shared.sort_by(|l, r| (r.1 + r.2).total_cmp(&(l.1 + l.2)).then(l.0.cmp(r.0)));
    shared
        .into_iter()
        .take(MAX_RECOMMENDED_TOPICS)
        .map(|(topic, _, _)| topic.to_owned())
        .collect()
}

fn challenges(analysis: &CompatibilityAnalysis, profiles: &[BigFive; 2]) -> Vec<Challenge> {
    let neuroticism = profiles.map(|p| p.get(BigFiveDimension::Neuroticism));
    let extraversion_gap = extraversion_gap(profiles);
    [
        (
            analysis.personality < PERSONALITY_CLASH_BELOW,
            Challenge::PersonalityClash,
        ),
        (analysis.social < SOCIAL_MISMATCH_BELOW, Challenge::SocialMismatch),
        (
            analysis.interests < FEW_SHARED_INTERESTS_BELOW,
            Challenge::FewSharedInterests,
        ),
        (
            neuroticism.iter().any(|&n| n > HIGH_NEUROTICISM_ABOVE),
            Challenge::HighStressPotential,
        ),
        (extraversion_gap > ENERGY_MISMATCH_ABOVE, Challenge::EnergyLevelMismatch),
    ]
    .into_iter()
    .filter_map(|(present, challenge)| present.then_some(challenge))
    .collect()
}

fn extraversion_gap(profiles: &[BigFive; 2]) -> f64 {
    let [a, b] = profiles.map(|p| p.get(BigFiveDimension::Extraversion));
    (a - b).abs()
}

fn tips(parties: &[Party; 2], shared: &[String], profiles: &[BigFive; 2]) -> Vec<String> {
    let mut tips = Vec::new();
    match shared.first() {
        Some(first) => {
            tips.push(format!("Topics both like: {}.", join_topics(shared)));
            tips.push(format!("Start with {}.", readable(first)));
        }
        None => tips.push("No favourite topic in common: ask about each other's interests.".into()),
    }
    for party in parties {
        let disliked = disliked_topics(party.persona);
        if !disliked.is_empty() {
            tips.push(format!(
                "Avoid {}: {} is not interested.",
                join_topics(&disliked),
                party.persona.name
            ));
        }
    }
    if let Some(tip) = lead_tip(parties, profiles) {
        tips.push(tip);
    }
    for party in parties {
        if party.social_energy.is_some_and(|e| e < LOW_SOCIAL_ENERGY) {
            tips.push(format!("Keep it short: {} has low social energy.", party.persona.name));
        }
    }
    tips
}

/// When extraversion differs enough to be a challenge, the more outgoing persona should lead.
fn lead_tip(parties: &[Party; 2], profiles: &[BigFive; 2]) -> Option<String> {
    if extraversion_gap(profiles) <= ENERGY_MISMATCH_ABOVE {
        return None;
    }
    let [a, b] = profiles.map(|p| p.get(BigFiveDimension::Extraversion));
    let (outgoing, reserved) = if a >= b {
        (parties[0], parties[1])
    } else {
        (parties[1], parties[0])
    };
    Some(format!(
        "Let {} lead: {} is more reserved.",
        outgoing.persona.name, reserved.persona.name
    ))
}

fn disliked_topics(persona: &Persona) -> Vec<String> {
    persona
        .topic_preferences
        .iter()
        .filter(|&(_, &preference)| preference < AVOID_TOPIC_BELOW)
        .map(|(topic, _)| topic.clone())
        .collect()
}

fn readable(topic: &str) -> String {
    topic.replace('_', " ")
}

fn join_topics(topics: &[String]) -> String {
    let words: Vec<String> = topics.iter().map(|t| readable(t)).collect();
    join_and(&words.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Personas for the domain tests: the seeded Aria and Kira, and a builder for others.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use serde_json::{Map, Value};
    use uuid::Uuid;

    use super::super::persona::Persona;
    use super::super::seeds;

    /// A persona with the given traits (name → JSON value) and topics, charisma and intelligence 10, a
    /// commoner.
    pub(crate) fn persona(name: &str, traits: &[(&str, Value)], topics: &[(&str, f64)]) -> Persona {
        let time = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .expect("valid fixture time");
        Persona {
            id: Uuid::from_u128(name.bytes().map(u128::from).sum()),
            name: name.to_owned(),
            description: String::new(),
            personality_traits: traits
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<Map<_, _>>(),
            topic_preferences: topics
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>(),
            charisma: 10,
            intelligence: 10,
            social_rank: "commoner".to_owned(),
            model: None,
            system_prompt: None,
            avatar_url: None,
            created_at: time,
            updated_at: time,
            card: Default::default(),
        }
    }

    fn seeded(name: &str) -> Persona {
        seeds::defaults()
            .into_iter()
            .map(|(persona, _)| persona)
            .find(|p| p.name == name)
            .expect("seeded persona")
    }

    /// The seeded elven bard.
    pub(crate) fn aria() -> Persona {
        seeded("Aria")
    }

    /// The seeded human scholar.
    pub(crate) fn kira() -> Persona {
        seeded("Kira")
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{aria, kira, persona};
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    const EPS: f64 = 1e-9;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < EPS, "expected {expected}, got {actual}");
    }

    fn seeded_relationship() -> Relationship {
        let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("valid time");
        let mut r = Relationship::new(aria().id, kira().id, now);
        (r.affinity, r.trust, r.respect, r.intimacy) = (0.3, 0.3, 0.4, 0.1);
        r.refresh_type();
        r
    }

    fn profile(p: &Persona) -> BigFive {
        BigFive::of(p).expect("has a profile")
    }

    #[test]
    fn big_five_of_aria_and_kira() {
        let a = profile(&aria());
        // openness = mean(creative 85, curious 75); no conscientiousness trait → neutral;
        // neuroticism = 100 − optimistic 85.
        for (got, want) in a.values.iter().zip([0.8, 0.5, 0.9, 0.8, 0.15]) {
            close(*got, want);
        }
        let k = profile(&kira());
        // conscientiousness = mean(95, 85, 90); extraversion = mean(100 − 70, 100 − 75).
        for (got, want) in k.values.iter().zip([0.5, 0.9, 0.275, 0.5, 0.5]) {
            close(*got, want);
        }
    }

    #[test]
    fn trait_names_are_matched_loosely_and_words_are_read() {
        let p = persona(
            "P",
            &[
                ("Open-Minded", json!("high")),
                (" EXTROVERTED ", json!(true)),
                ("nonsense", json!(99)),
                ("shy", json!(null)),
            ],
            &[],
        );
        let big = profile(&p);
        close(big.get(BigFiveDimension::Openness), 0.75);
        close(big.get(BigFiveDimension::Extraversion), 0.75);
        close(big.get(BigFiveDimension::Agreeableness), NEUTRAL);
    }

    #[test]
    fn no_mapped_trait_means_no_profile_and_neutral_personality() {
        let blank = persona("Blank", &[("hungry", json!(90))], &[]);
        assert_eq!(BigFive::of(&blank), None);
        close(personality_compatibility(&blank, &aria()), NEUTRAL);
        close(personality_compatibility(&aria(), &blank), NEUTRAL);
    }

    #[test]
    fn personality_of_aria_and_kira() {
        // O 0.2·0.7 + C 0.15·0.6 + E 0.25·(1 − 0.625) + A 0.25·0.7 + N 0.15·(1 − 0.35 − 0.3·0.15)
        // = 0.14 + 0.09 + 0.09375 + 0.175 + 0.09075 = 0.5895
        close(personality_compatibility(&aria(), &kira()), 0.5895);
        close(personality_compatibility(&kira(), &aria()), 0.5895);
    }

    #[test]
    fn identical_profiles_score_high_unless_both_anxious() {
        let calm = persona("Calm", &[("calm", json!(100)), ("kind", json!(60))], &[]);
        // every dimension identical; neuroticism 0 → no penalty
        close(personality_compatibility(&calm, &calm.clone()), 1.0);
        let anxious = persona("Anx", &[("anxious", json!(100))], &[]);
        // neuroticism 1 and 1: 1 − 0 − 0.3·1 = 0.7 → 1 − 0.15·0.3 = 0.955
        close(personality_compatibility(&anxious, &anxious.clone()), 0.955);
    }

    #[test]
    fn dimension_compatibility_bounds() {
        use BigFiveDimension::*;
        close(Openness.compatibility(0.0, 1.0), 0.0);
        close(Openness.compatibility(0.3, 0.3), 1.0);
        close(Neuroticism.compatibility(1.0, 1.0), 0.7);
        close(Neuroticism.compatibility(0.0, 1.0), 0.0);
        close(Neuroticism.compatibility(0.2, 0.6), 0.54);
        let total: f64 = BigFiveDimension::ALL.iter().map(|d| d.weight()).sum();
        close(total, 1.0);
    }

    #[test]
    fn social_of_aria_and_kira() {
        // 0.4·(1 − 6/19) + 0.4·(1 − 4/19) + 0.2·0.8 (performer 1, scholar 2)
        close(
            social_compatibility(&aria(), &kira()),
            0.4 * 13.0 / 19.0 + 0.4 * 15.0 / 19.0 + 0.16,
        );
    }

    #[test]
    fn social_bounds() {
        let mut low = persona("Low", &[], &[]);
        (low.charisma, low.intelligence, low.social_rank) = (1, 1, "peasant".into());
        let mut high = persona("High", &[], &[]);
        (high.charisma, high.intelligence, high.social_rank) = (20, 20, "royalty".into());
        close(social_compatibility(&low, &high), 0.2 * 0.3);
        close(social_compatibility(&high, &high.clone()), 1.0);
        high.charisma = 90; // out of range input stays bounded
        close(attribute_closeness(high.charisma, low.charisma), 0.0);
    }

    #[test]
    fn rank_ladder_and_closeness() {
        assert_eq!(rank_level("Noble"), 3);
        assert_eq!(rank_level("wizard"), rank_level("commoner"));
        close(rank_closeness("commoner", "performer"), 1.0);
        close(rank_closeness("commoner", "merchant"), 0.8);
        close(rank_closeness("peasant", "merchant"), 0.6);
        close(rank_closeness("commoner", "royalty"), 0.3);
    }

    #[test]
    fn interests_of_aria_and_kira() {
        // shared: magic (70, 90) and gossip (80, 20); gossip is not above 20 for Kira so only magic
        // counts: similarity 0.8; share 2/8 → + 0.05
        close(interest_compatibility(&aria(), &kira()), 0.85);
    }

    #[test]
    fn interest_edge_cases() {
        let none = persona("None", &[], &[]);
        let music = persona("M", &[], &[("music", 90.0)]);
        let books = persona("B", &[], &[("books", 90.0)]);
        let dislikes_music = persona("D", &[], &[("music", 10.0), ("books", 50.0)]);
        close(interest_compatibility(&none, &music), NEUTRAL);
        close(interest_compatibility(&music, &books), NO_SHARED_INTERESTS);
        // shared but not liked by both: 0.3 + 0.2·1/2
        close(interest_compatibility(&music, &dislikes_music), 0.4);
        // identical single topic: 1 + 0.2 capped at 1
        close(interest_compatibility(&music, &music.clone()), 1.0);
    }

    #[test]
    fn history_from_the_relationship() {
        close(history_score(None), NEUTRAL);
        close(history_score(Some(&seeded_relationship())), 0.65);
    }

    #[test]
    fn aria_and_kira_are_very_good_friendly_partners() {
        let report = analyze(
            Party::with_energy(&aria(), 150.0),
            Party::with_energy(&kira(), 80.0),
            Some(&seeded_relationship()),
        );
        let a = &report.compatibility_analysis;
        // 0.35·0.5895 + 0.25·0.749474 + 0.25·0.85 + 0.15·0.65 = 0.70369
        assert_eq!(
            (a.overall, a.personality, a.social, a.interests, a.history),
            // 0.5895 is stored as 0.58949999…, so it rounds down
            (0.704, 0.589, 0.749, 0.85, 0.65)
        );
        assert_eq!(a.prediction, Prediction::VeryGood);
        let s = &report.interaction_suggestions;
        assert_eq!(s.interaction_style, "friendly_engaging");
        assert_eq!(s.relationship_potential, "good_friends");
        assert_eq!(s.interaction_frequency, "regular");
        assert_eq!(s.recommended_topics, vec!["magic"]);
        // extraversion 0.9 vs 0.275
        assert_eq!(s.potential_challenges, vec![Challenge::EnergyLevelMismatch]);
        assert_eq!(
            s.tips,
            vec![
                "Topics both like: magic.",
                "Start with magic.",
                "Avoid gossip and small talk: Kira is not interested.",
                "Let Aria lead: Kira is more reserved.",
                "Keep it short: Kira has low social energy.",
            ]
        );
        assert!(report.existing_relationship);
        assert_eq!(report.persona1.name, "Aria");
        assert_eq!(report.persona2.name, "Kira");
    }

    #[test]
    fn without_a_relationship_history_is_neutral_and_energy_unknown_gives_no_tip() {
        let report = analyze((&kira()).into(), (&aria()).into(), None);
        assert!(!report.existing_relationship);
        assert_eq!(report.compatibility_analysis.history, 0.5);
        assert!(report
            .interaction_suggestions
            .tips
            .iter()
            .all(|t| !t.contains("Keep it short")));
        assert_eq!(
            report.interaction_suggestions.tips.last().map(String::as_str),
            Some("Let Aria lead: Kira is more reserved.")
        );
    }

    #[test]
    fn prediction_at_every_threshold() {
        use Prediction::*;
        for (overall, want) in [
            (0.81, Excellent),
            (0.8, VeryGood),
            (0.651, VeryGood),
            (0.65, Good),
            (0.501, Good),
            (0.5, Challenging),
            (0.351, Challenging),
            (0.35, Difficult),
            (0.0, Difficult),
        ] {
            assert_eq!(Prediction::from_overall(overall), want, "overall {overall}");
        }
    }

    #[test]
    fn bands_at_every_threshold() {
        for (overall, style, potential, frequency) in [
            (0.81, "collaborative_enthusiastic", "excellent_friends", "frequent"),
            (0.8, "friendly_engaging", "good_friends", "regular"),
            (0.61, "friendly_engaging", "good_friends", "regular"),
            (0.6, "respectful_cautious", "cordial_acquaintances", "occasional"),
            (0.41, "respectful_cautious", "cordial_acquaintances", "occasional"),
            (0.4, "formal_distant", "professional_only", "minimal"),
        ] {
            let band = Band::from_overall(overall);
            assert_eq!(
                (
                    band.interaction_style(),
                    band.relationship_potential(),
                    band.interaction_frequency()
                ),
                (style, potential, frequency),
                "overall {overall}"
            );
        }
    }

    #[test]
    fn a_bad_match_lists_every_challenge() {
        let mut a = persona(
            "Grim",
            &[
                ("anxious", json!(90)),
                ("shy", json!(100)),
                ("hostile", json!(100)),
                ("conservative", json!(100)),
            ],
            &[
                ("war", 100.0),
                ("t1", 50.0),
                ("t2", 50.0),
                ("t3", 50.0),
                ("t4", 50.0),
                ("t5", 50.0),
                ("t6", 50.0),
                ("t7", 50.0),
                ("t8", 50.0),
                ("t9", 50.0),
            ],
        );
        (a.charisma, a.intelligence, a.social_rank) = (1, 1, "peasant".into());
        let mut b = persona(
            "Bright",
            &[("outgoing", json!(100)), ("kind", json!(100)), ("curious", json!(100))],
            &[("war", 21.0), ("flowers", 90.0)],
        );
        (b.charisma, b.intelligence, b.social_rank) = (20, 20, "royalty".into());
        let report = analyze((&a).into(), (&b).into(), None);
        use Challenge::*;
        assert_eq!(
            report.interaction_suggestions.potential_challenges,
            vec![
                PersonalityClash,
                SocialMismatch,
                FewSharedInterests,
                HighStressPotential,
                EnergyLevelMismatch
            ]
        );
        assert_eq!(report.compatibility_analysis.prediction, Prediction::Difficult);
        assert_eq!(report.interaction_suggestions.interaction_style, "formal_distant");
        assert!(report.interaction_suggestions.recommended_topics.is_empty());
        // war is shared but Bright rates it 21: similarity 0.21 + 0.2·1/10
        close(interest_compatibility(&a, &b), 0.23);
        assert_eq!(
            report.interaction_suggestions.tips,
            vec![
                "No favourite topic in common: ask about each other's interests.",
                "Avoid war: Bright is not interested.",
                "Let Bright lead: Grim is more reserved.",
            ]
        );
    }

    #[test]
    fn recommended_topics_best_first_at_most_five() {
        let topics = [
            ("a", 40.0),
            ("b", 90.0),
            ("c", 60.0),
            ("d", 31.0),
            ("e", 70.0),
            ("f", 80.0),
            ("g", 30.0),
        ];
        let x = persona("X", &[], &topics);
        let y = persona("Y", &[], &topics);
        assert_eq!(recommended_topics(&x, &y), vec!["b", "f", "e", "c", "a"]);
    }

    #[test]
    fn report_serializes_with_the_protocol_field_names() {
        let report = analyze((&aria()).into(), (&kira()).into(), None);
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["persona1"]["name"], "Aria");
        assert!(json["persona2"]["id"].is_string());
        for field in ["overall", "personality", "social", "interests", "history", "prediction"] {
            assert!(json["compatibility_analysis"].get(field).is_some(), "missing {field}");
        }
        for field in [
            "interaction_style",
            "recommended_topics",
            "potential_challenges",
            "relationship_potential",
            "interaction_frequency",
            "tips",
        ] {
            assert!(json["interaction_suggestions"].get(field).is_some(), "missing {field}");
        }
        assert_eq!(json["compatibility_analysis"]["prediction"], "very_good");
        assert_eq!(
            json["interaction_suggestions"]["potential_challenges"],
            json!(["energy_level_mismatch"])
        );
        assert_eq!(json["existing_relationship"], false);
    }

    #[test]
    fn join_topics_makes_topics_readable() {
        let topics = ["a", "local_news", "small_talk"].map(String::from);
        assert_eq!(join_topics(&topics), "a, local news and small talk");
    }
}
