//! A persona's emotional state (DOMAIN.md "Emotional state"): five numbers that chat turns move, that
//! drift back to their defaults over hours, and that the system prompt states in words.
//!
//! A stored state is valid as of its `last_updated`; every operation that takes `now` first lets it
//! drift to `now` (half-life [`DRIFT_HALF_LIFE_HOURS`]), so reading a state means calling
//! [`EmotionalState::drift`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::persona::Persona;

/// Default (and first) mood, −1..1.
pub const DEFAULT_MOOD: f64 = 0.5;
/// Default energy level, 0..1.
pub const DEFAULT_ENERGY_LEVEL: f64 = 0.7;
/// Default stress level, 0..1.
pub const DEFAULT_STRESS_LEVEL: f64 = 0.3;
/// Default curiosity, 0..1.
pub const DEFAULT_CURIOSITY: f64 = 0.6;
/// Default social battery, 0..1.
pub const DEFAULT_SOCIAL_BATTERY: f64 = 0.8;

/// Hours for a deviation from the defaults to halve.
pub const DRIFT_HALF_LIFE_HOURS: f64 = 6.0;

/// Mood change per net positive (or negative) word in the user's message.
pub const MOOD_STEP_PER_WORD: f64 = 0.04;
/// Most one message can move the mood, either way.
pub const MAX_MOOD_SHIFT: f64 = 0.1;
/// Social battery every chat turn costs.
pub const TURN_SOCIAL_DRAIN: f64 = 0.01;
/// From this many messages on, a conversation is long…
pub const LONG_CONVERSATION_MESSAGES: usize = 20;
/// …and each turn drains this much more social battery…
pub const LONG_SOCIAL_DRAIN: f64 = 0.03;
/// …and this much energy.
pub const LONG_ENERGY_DRAIN: f64 = 0.02;
/// A topic with at least this preference is a favourite.
pub const FAVOURITE_TOPIC_MIN: f64 = 70.0;
/// Curiosity a question about a favourite topic adds.
pub const CURIOSITY_BOOST: f64 = 0.05;

const POSITIVE_WORDS: &[&str] = &[
    "love",
    "loved",
    "lovely",
    "like",
    "great",
    "good",
    "nice",
    "wonderful",
    "amazing",
    "awesome",
    "fantastic",
    "excellent",
    "brilliant",
    "beautiful",
    "happy",
    "glad",
    "delighted",
    "enjoy",
    "enjoyed",
    "fun",
    "thanks",
    "thank",
    "grateful",
    "kind",
    "sweet",
    "perfect",
];

const NEGATIVE_WORDS: &[&str] = &[
    "hate",
    "hated",
    "terrible",
    "awful",
    "horrible",
    "bad",
    "worst",
    "sad",
    "angry",
    "upset",
    "annoying",
    "annoyed",
    "boring",
    "bored",
    "stupid",
    "useless",
    "disappointed",
    "disappointing",
    "rude",
    "ugly",
    "hurt",
    "miserable",
    "furious",
];

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "don't", "dont", "doesn't", "didn't", "isn't", "wasn't", "hardly",
];

const QUESTION_WORDS: &[&str] = &["what", "why", "how", "who", "where", "when", "which"];

/// One of the five numbers of the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmotionField {
    /// −1..1.
    Mood,
    /// 0..1.
    EnergyLevel,
    /// 0..1.
    StressLevel,
    /// 0..1.
    Curiosity,
    /// 0..1.
    SocialBattery,
}

impl EmotionField {
    /// All five, in wire order.
    pub const ALL: [Self; 5] = [
        Self::Mood,
        Self::EnergyLevel,
        Self::StressLevel,
        Self::Curiosity,
        Self::SocialBattery,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mood => "mood",
            Self::EnergyLevel => "energy_level",
            Self::StressLevel => "stress_level",
            Self::Curiosity => "curiosity",
            Self::SocialBattery => "social_battery",
        }
    }

    /// The field with this wire name, `None` for any other.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// (min, max) of the field.
    pub fn range(self) -> (f64, f64) {
        match self {
            Self::Mood => (-1.0, 1.0),
            _ => (0.0, 1.0),
        }
    }

    /// The value the field starts at and drifts back to.
    pub fn default_value(self) -> f64 {
        match self {
            Self::Mood => DEFAULT_MOOD,
            Self::EnergyLevel => DEFAULT_ENERGY_LEVEL,
            Self::StressLevel => DEFAULT_STRESS_LEVEL,
            Self::Curiosity => DEFAULT_CURIOSITY,
            Self::SocialBattery => DEFAULT_SOCIAL_BATTERY,
        }
    }
}

/// A delta named a field that does not exist; the RPC layer answers -32602 naming it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown emotional state field: {0} (expected mood, energy_level, stress_level, curiosity or social_battery)")]
pub struct UnknownField(pub String);

/// An `emotional.update_state` request: absolute values and/or changes, by field. Deserializable from the
/// request's params (extra params are ignored; unknown names inside `deltas` are kept so that
/// [`EmotionalState::apply_update`] can report them).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EmotionalUpdate {
    /// New mood.
    pub mood: Option<f64>,
    /// New energy level.
    pub energy_level: Option<f64>,
    /// New stress level.
    pub stress_level: Option<f64>,
    /// New curiosity.
    pub curiosity: Option<f64>,
    /// New social battery.
    pub social_battery: Option<f64>,
    /// Field name → change, applied after the absolute values.
    #[serde(default)]
    pub deltas: BTreeMap<String, f64>,
}

impl EmotionalUpdate {
    fn absolute(&self, field: EmotionField) -> Option<f64> {
        match field {
            EmotionField::Mood => self.mood,
            EmotionField::EnergyLevel => self.energy_level,
            EmotionField::StressLevel => self.stress_level,
            EmotionField::Curiosity => self.curiosity,
            EmotionField::SocialBattery => self.social_battery,
        }
    }

    fn parsed_deltas(&self) -> Result<Vec<(EmotionField, f64)>, UnknownField> {
        self.deltas
            .iter()
            .map(|(name, &change)| {
                EmotionField::parse(name)
                    .map(|field| (field, change))
                    .ok_or_else(|| UnknownField(name.clone()))
            })
            .collect()
    }
}

/// How a persona feels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EmotionalState {
    /// −1 (miserable) .. 1 (elated).
    pub mood: f64,
    /// 0..1.
    pub energy_level: f64,
    /// 0..1.
    pub stress_level: f64,
    /// 0..1.
    pub curiosity: f64,
    /// 0..1: the wish for company left.
    pub social_battery: f64,
    /// When the numbers were last computed.
    pub last_updated: DateTime<Utc>,
}

impl EmotionalState {
    /// The first state of a persona: every field at its default.
    pub fn initial(now: DateTime<Utc>) -> Self {
        Self {
            mood: DEFAULT_MOOD,
            energy_level: DEFAULT_ENERGY_LEVEL,
            stress_level: DEFAULT_STRESS_LEVEL,
            curiosity: DEFAULT_CURIOSITY,
            social_battery: DEFAULT_SOCIAL_BATTERY,
            last_updated: now,
        }
    }

    /// The value of one field.
    pub fn get(&self, field: EmotionField) -> f64 {
        match field {
            EmotionField::Mood => self.mood,
            EmotionField::EnergyLevel => self.energy_level,
            EmotionField::StressLevel => self.stress_level,
            EmotionField::Curiosity => self.curiosity,
            EmotionField::SocialBattery => self.social_battery,
        }
    }

    fn field_mut(&mut self, field: EmotionField) -> &mut f64 {
        match field {
            EmotionField::Mood => &mut self.mood,
            EmotionField::EnergyLevel => &mut self.energy_level,
            EmotionField::StressLevel => &mut self.stress_level,
            EmotionField::Curiosity => &mut self.curiosity,
            EmotionField::SocialBattery => &mut self.social_battery,
        }
    }

    /// Brings every field into its range (NaN becomes the default).
    pub fn clamp(&mut self) {
        for field in EmotionField::ALL {
            let (min, max) = field.range();
            let value = self.field_mut(field);
            *value = if value.is_nan() {
                field.default_value()
            } else {
                value.clamp(min, max)
            };
        }
    }

    /// Applies an `emotional.update_state` request at `now`: drift to `now`, then the absolute values,
    /// then the deltas, then clamping. An unknown field in the deltas is an error and changes nothing.
    pub fn apply_update(&mut self, update: &EmotionalUpdate, now: DateTime<Utc>) -> Result<(), UnknownField> {
        let deltas = update.parsed_deltas()?;
        let mut next = self.drift(now);
        for field in EmotionField::ALL {
            if let Some(value) = update.absolute(field) {
                *next.field_mut(field) = value;
            }
        }
        for (field, change) in deltas {
            *next.field_mut(field) += change;
        }
        next.clamp();
        *self = next;
        Ok(())
    }

    /// The state at `now` after a chat turn: drift to `now`, then positive/negative words in the user's
    /// message move mood (±0.04 per net word, at most ±0.1; a word after "not", "never"… counts the other
    /// way), every turn costs 0.01 social battery and turns of a long conversation (≥ 20 messages,
    /// `conversation_len` counting this one) 0.03 more and 0.02 energy, and a question about one of the
    /// persona's favourite topics (preference ≥ 70) adds 0.05 curiosity.
    pub fn after_chat_turn(
        &self,
        user_message: &str,
        persona: &Persona,
        conversation_len: usize,
        now: DateTime<Utc>,
    ) -> EmotionalState {
        let words = words(user_message);
        let mut next = self.drift(now);
        next.mood += mood_shift(&words);
        next.social_battery -= TURN_SOCIAL_DRAIN;
        if conversation_len >= LONG_CONVERSATION_MESSAGES {
            next.social_battery -= LONG_SOCIAL_DRAIN;
            next.energy_level -= LONG_ENERGY_DRAIN;
        }
        if is_question(user_message, &words) && mentions_favourite_topic(&words, persona) {
            next.curiosity += CURIOSITY_BOOST;
        }
        next.clamp();
        next
    }

    /// The state at `now`: each field's distance from its default halves every
    /// [`DRIFT_HALF_LIFE_HOURS`]. A `now` before `last_updated` changes nothing.
    pub fn drift(&self, now: DateTime<Utc>) -> EmotionalState {
        if now <= self.last_updated {
            return self.clone();
        }
        let hours = (now - self.last_updated).num_milliseconds() as f64 / 3_600_000.0;
        let keep = 0.5_f64.powf(hours / DRIFT_HALF_LIFE_HOURS);
        let mut next = self.clone();
        for field in EmotionField::ALL {
            let default = field.default_value();
            let value = next.field_mut(field);
            *value = default + (*value - default) * keep;
        }
        next.last_updated = now;
        next
    }

    /// The state in one sentence for the system prompt, e.g. "You feel cheerful but tired."
    pub fn describe(&self) -> String {
        let (mood, mood_is_positive) = mood_word(self.mood);
        let (same, contrasting): (Vec<_>, Vec<_>) = self
            .qualifiers()
            .into_iter()
            .partition(|&(_, positive)| positive == mood_is_positive);
        let mut feelings = vec![mood];
        feelings.extend(same.into_iter().map(|(word, _)| word));
        let mut sentence = format!("You feel {}", join_and(&feelings));
        if !contrasting.is_empty() {
            let words: Vec<_> = contrasting.into_iter().map(|(word, _)| word).collect();
            sentence.push_str(" but ");
            sentence.push_str(&join_and(&words));
        }
        sentence.push('.');
        sentence
    }

    /// Notable feelings besides the mood, each with whether it is a pleasant one.
    fn qualifiers(&self) -> Vec<(&'static str, bool)> {
        [
            (self.energy_level < 0.3, ("tired", false)),
            (self.energy_level >= 0.85, ("full of energy", true)),
            (self.stress_level > 0.7, ("stressed", false)),
            (self.stress_level < 0.1, ("relaxed", true)),
            (self.curiosity >= 0.8, ("curious", true)),
            (self.social_battery < 0.3, ("in need of some time alone", false)),
        ]
        .into_iter()
        .filter_map(|(present, qualifier)| present.then_some(qualifier))
        .collect()
    }
}

/// The mood in a word, and whether that word is a pleasant one.
fn mood_word(mood: f64) -> (&'static str, bool) {
    match mood {
        m if m >= 0.6 => ("cheerful", true),
        m if m >= 0.2 => ("content", true),
        m if m > -0.2 => ("calm", true),
        m if m > -0.6 => ("gloomy", false),
        _ => ("miserable", false),
    }
}

/// Joins words as an English list: "a", "a and b", "a, b and c".
pub fn join_and(words: &[&str]) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Lower-case words (letters, digits, apostrophes) of a message.
fn words(message: &str) -> Vec<String> {
    message
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().replace('’', "'"))
        .collect()
}

/// ±0.04 per net sentiment word, a negation flipping the next word, at most ±0.1.
fn mood_shift(words: &[String]) -> f64 {
    let net: i32 = words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let polarity = sentiment(word);
            let negated = i > 0 && NEGATIONS.contains(&words[i - 1].as_str());
            if negated {
                -polarity
            } else {
                polarity
            }
        })
        .sum();
    (f64::from(net) * MOOD_STEP_PER_WORD).clamp(-MAX_MOOD_SHIFT, MAX_MOOD_SHIFT)
}

fn sentiment(word: &str) -> i32 {
    if POSITIVE_WORDS.contains(&word) {
        1
    } else if NEGATIVE_WORDS.contains(&word) {
        -1
    } else {
        0
    }
}

fn is_question(message: &str, words: &[String]) -> bool {
    message.contains('?') || words.first().is_some_and(|w| QUESTION_WORDS.contains(&w.as_str()))
}

/// Whether the words mention a topic the persona rates ≥ 70. A topic's words ("local_news" → local,
/// news) must appear in a row; a word matches its plural ("story" / "stories").
fn mentions_favourite_topic(words: &[String], persona: &Persona) -> bool {
    persona
        .topic_preferences
        .iter()
        .filter(|&(_, &preference)| preference >= FAVOURITE_TOPIC_MIN)
        .any(|(topic, _)| mentions(words, topic))
}

fn mentions(words: &[String], topic: &str) -> bool {
    let topic = topic.to_lowercase();
    let wanted: Vec<&str> = topic.split(['_', ' ', '-']).filter(|w| !w.is_empty()).collect();
    !wanted.is_empty()
        && words
            .windows(wanted.len())
            .any(|window| window.iter().zip(&wanted).all(|(word, want)| same_word(word, want)))
}

fn same_word(word: &str, wanted: &str) -> bool {
    singular(word) == singular(wanted)
}

/// A crude singular: "stories" → "story", "books" → "book".
fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else {
        word.strip_suffix('s').unwrap_or(word).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::compatibility::fixtures::{aria, kira};
    use super::*;
    use chrono::{Duration, TimeZone};

    const EPS: f64 = 1e-9;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < EPS, "expected {expected}, got {actual}");
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0)
            .single()
            .expect("valid test time")
    }

    fn state(mood: f64, energy_level: f64, stress_level: f64, curiosity: f64, social_battery: f64) -> EmotionalState {
        EmotionalState {
            mood,
            energy_level,
            stress_level,
            curiosity,
            social_battery,
            last_updated: t0(),
        }
    }

    fn assert_values(s: &EmotionalState, expected: [f64; 5]) {
        for (field, want) in EmotionField::ALL.into_iter().zip(expected) {
            close(s.get(field), want);
        }
    }

    #[test]
    fn initial_state_has_the_defaults_and_field_names() {
        let s = EmotionalState::initial(t0());
        assert_eq!(s, state(0.5, 0.7, 0.3, 0.6, 0.8));
        let json = serde_json::to_value(&s).expect("serializes");
        for field in EmotionField::ALL {
            close(json[field.as_str()].as_f64().expect("number"), field.default_value());
        }
        assert_eq!(json["last_updated"], "2025-01-01T12:00:00Z");
        let back: EmotionalState = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, s);
    }

    #[test]
    fn field_names_round_trip() {
        for field in EmotionField::ALL {
            assert_eq!(EmotionField::parse(field.as_str()), Some(field));
        }
        assert_eq!(EmotionField::parse("happiness"), None);
        assert_eq!(EmotionField::parse("Mood"), None);
    }

    #[test]
    fn clamp_keeps_every_field_in_range() {
        let mut s = state(-3.0, 1.5, -0.2, f64::NAN, f64::INFINITY);
        s.clamp();
        assert_eq!(s, state(-1.0, 1.0, 0.0, DEFAULT_CURIOSITY, 1.0));
    }

    #[test]
    fn update_sets_absolutes_then_adds_deltas_and_clamps() {
        let mut s = EmotionalState::initial(t0());
        let update = EmotionalUpdate {
            mood: Some(0.9),
            stress_level: Some(2.0),
            deltas: [("mood".to_owned(), 0.3), ("curiosity".to_owned(), -0.1)].into(),
            ..EmotionalUpdate::default()
        };
        s.apply_update(&update, t0()).expect("known fields");
        assert_values(&s, [1.0, 0.7, 1.0, 0.5, 0.8]);
    }

    #[test]
    fn update_with_an_unknown_delta_names_it_and_changes_nothing() {
        let mut s = EmotionalState::initial(t0());
        let update = EmotionalUpdate {
            mood: Some(-1.0),
            deltas: [("mood".to_owned(), 0.1), ("joy".to_owned(), 0.5)].into(),
            ..EmotionalUpdate::default()
        };
        let later = t0() + Duration::hours(1);
        assert_eq!(s.apply_update(&update, later), Err(UnknownField("joy".to_owned())));
        assert_eq!(s, EmotionalState::initial(t0()));
    }

    #[test]
    fn update_deserializes_from_request_params() {
        let params = serde_json::json!({
            "persona_id": "Aria",
            "energy_level": 0.2,
            "deltas": {"social_battery": -0.5}
        });
        let update: EmotionalUpdate = serde_json::from_value(params).expect("deserializes");
        assert_eq!(update.energy_level, Some(0.2));
        assert_eq!(update.mood, None);
        let mut s = EmotionalState::initial(t0());
        s.apply_update(&update, t0()).expect("known fields");
        close(s.energy_level, 0.2);
        close(s.social_battery, 0.3);
    }

    #[test]
    fn update_drifts_to_now_first() {
        let mut s = state(1.0, 0.7, 0.3, 0.6, 0.8);
        let update = EmotionalUpdate {
            deltas: [("mood".to_owned(), -0.25)].into(),
            ..EmotionalUpdate::default()
        };
        let later = t0() + Duration::hours(6);
        s.apply_update(&update, later).expect("known fields");
        // mood 1.0 drifts to 0.75 in one half-life, then −0.25
        close(s.mood, 0.5);
        assert_eq!(s.last_updated, later);
    }

    #[test]
    fn drift_halves_the_distance_every_six_hours() {
        let s = state(-0.5, 0.1, 0.9, 1.0, 0.0);
        let six = s.drift(t0() + Duration::hours(6));
        assert_values(&six, [0.0, 0.4, 0.6, 0.8, 0.4]);
        assert_eq!(six.last_updated, t0() + Duration::hours(6));
        let twelve = s.drift(t0() + Duration::hours(12));
        close(twelve.mood, 0.25);
        close(twelve.social_battery, 0.6);
        // drifting in two steps equals drifting at once
        let stepwise = six.drift(t0() + Duration::hours(12));
        close(stepwise.mood, twelve.mood);
        let week = s.drift(t0() + Duration::days(7));
        let defaults = EmotionField::ALL.map(EmotionField::default_value);
        for (field, default) in EmotionField::ALL.into_iter().zip(defaults) {
            assert!((week.get(field) - default).abs() < 1e-6);
        }
    }

    #[test]
    fn drift_backwards_or_at_once_changes_nothing() {
        let s = state(-0.5, 0.1, 0.9, 1.0, 0.0);
        assert_eq!(s.drift(t0()), s);
        assert_eq!(s.drift(t0() - Duration::hours(3)), s);
    }

    #[test]
    fn positive_and_negative_words_move_mood_up_to_a_tenth() {
        let s = EmotionalState::initial(t0());
        let after = |msg: &str| s.after_chat_turn(msg, &kira(), 2, t0()).mood;
        close(after("Good morning"), 0.54);
        close(after("I love it, thanks, what a wonderful, amazing day"), 0.6);
        close(after("That was terrible."), 0.46);
        close(after("I hate this, it's boring, awful and stupid"), 0.4);
        close(after("good but bad"), 0.5);
        close(after("I am not happy"), 0.46);
        close(after("I don't hate it"), 0.54);
        close(after("The weather"), 0.5);
    }

    #[test]
    fn mood_stays_in_range() {
        let s = state(0.98, 0.7, 0.3, 0.6, 0.8);
        close(s.after_chat_turn("great great great", &kira(), 1, t0()).mood, 1.0);
    }

    #[test]
    fn every_turn_costs_some_social_battery_and_long_ones_energy() {
        let s = EmotionalState::initial(t0());
        let short = s.after_chat_turn("hello", &kira(), 19, t0());
        close(short.social_battery, 0.79);
        close(short.energy_level, 0.7);
        let long = s.after_chat_turn("hello", &kira(), 20, t0());
        close(long.social_battery, 0.76);
        close(long.energy_level, 0.68);
        let empty = state(0.5, 0.0, 0.3, 0.6, 0.0).after_chat_turn("hi", &kira(), 99, t0());
        assert_eq!((empty.energy_level, empty.social_battery), (0.0, 0.0));
    }

    #[test]
    fn questions_about_favourite_topics_raise_curiosity() {
        let s = EmotionalState::initial(t0());
        let curiosity = |msg: &str, p: &Persona| s.after_chat_turn(msg, p, 1, t0()).curiosity;
        // Kira: magic 90, research 95; gossip 20; small_talk 25
        close(curiosity("What do you know about magic?", &kira()), 0.65);
        close(curiosity("how is your research going", &kira()), 0.65);
        close(curiosity("Any gossip?", &kira()), 0.6);
        close(curiosity("Magic is everywhere.", &kira()), 0.6);
        close(curiosity("Tell me about the weather?", &kira()), 0.6);
        // Aria: local_news 75, stories 90, magic 70 (at the threshold)
        close(curiosity("Heard any local news today?", &aria()), 0.65);
        close(curiosity("Know any good story?", &aria()), 0.65);
        close(curiosity("Do you do magic?", &aria()), 0.65);
        close(curiosity("Any news?", &aria()), 0.6);
    }

    #[test]
    fn a_chat_turn_drifts_first() {
        let s = state(-0.5, 0.7, 0.3, 0.6, 0.8);
        let next = s.after_chat_turn("thanks", &kira(), 1, t0() + Duration::hours(6));
        close(next.mood, 0.04);
        assert_eq!(next.last_updated, t0() + Duration::hours(6));
    }

    #[test]
    fn describe_in_words() {
        let cases = [
            (state(0.5, 0.7, 0.3, 0.6, 0.8), "You feel content."),
            (state(0.8, 0.2, 0.3, 0.6, 0.8), "You feel cheerful but tired."),
            (
                state(0.0, 0.9, 0.05, 0.9, 0.8),
                "You feel calm, full of energy, relaxed and curious.",
            ),
            (
                state(-0.4, 0.2, 0.8, 0.9, 0.2),
                "You feel gloomy, tired, stressed and in need of some time alone but curious.",
            ),
            (state(-0.9, 0.5, 0.3, 0.5, 0.5), "You feel miserable."),
            (state(0.2, 0.5, 0.3, 0.5, 0.5), "You feel content."),
            (state(0.19, 0.5, 0.3, 0.5, 0.5), "You feel calm."),
            (state(-0.2, 0.5, 0.3, 0.5, 0.5), "You feel gloomy."),
            (state(0.6, 0.5, 0.3, 0.5, 0.5), "You feel cheerful."),
        ];
        for (s, want) in cases {
            assert_eq!(s.describe(), want, "{s:?}");
        }
    }

    #[test]
    fn join_and_reads_naturally() {
        assert_eq!(join_and(&[]), "");
        assert_eq!(join_and(&["music"]), "music");
        assert_eq!(join_and(&["a", "b"]), "a and b");
        assert_eq!(join_and(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn words_are_lowercased_and_split_on_punctuation() {
        assert_eq!(
            words("Don’t STOP-believing, ok?"),
            vec!["don't", "stop", "believing", "ok"]
        );
    }
}
