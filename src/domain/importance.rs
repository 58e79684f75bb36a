//! How important a new memory is: the scorer of DOMAIN.md for chat-turn memories and for
//! `memory.store` with `importance: "auto"`.
//!
//! score = base + Σ weight·factor, clamped, with every factor in 0..1 and computed by its own function
//! from the word tables below. Words are matched case-insensitively on word boundaries; a table entry
//! also matches its plural (`dragon` ↔ `dragons`, `story` ↔ `stories`), and entries of several words
//! (`first time`) match as a phrase.

use serde::Serialize;

use super::persona::Persona;

/// Emotion words and how strongly each one marks an emotional moment (the strongest one present counts).
pub const EMOTION_WORDS: &[(&str, f64)] = &[
    // overwhelming
    ("devastated", 0.95),
    ("heartbroken", 0.95),
    ("terrified", 0.95),
    ("horrified", 0.95),
    ("despair", 0.95),
    ("grief", 0.95),
    ("grieving", 0.95),
    ("love", 0.9),
    ("loved", 0.9),
    ("loving", 0.9),
    ("adore", 0.9),
    ("hate", 0.9),
    ("hated", 0.9),
    ("furious", 0.9),
    ("enraged", 0.9),
    ("ecstatic", 0.9),
    // strong
    ("thrilled", 0.8),
    ("overjoyed", 0.8),
    ("miserable", 0.8),
    ("scared", 0.8),
    ("afraid", 0.8),
    ("panic", 0.8),
    ("panicked", 0.8),
    ("desperate", 0.8),
    ("lonely", 0.8),
    ("ashamed", 0.8),
    ("jealous", 0.75),
    ("crying", 0.75),
    // clear
    ("angry", 0.7),
    ("excited", 0.7),
    ("joy", 0.7),
    ("upset", 0.7),
    ("hurt", 0.7),
    ("fear", 0.7),
    ("anxious", 0.7),
    ("proud", 0.65),
    ("happy", 0.65),
    ("sad", 0.65),
    ("frustrated", 0.65),
    ("grateful", 0.65),
    ("delighted", 0.65),
    ("worried", 0.6),
    ("worry", 0.6),
    ("nervous", 0.6),
    ("glad", 0.6),
    ("disappointed", 0.6),
    ("embarrassed", 0.6),
    ("wonderful", 0.6),
    ("amazing", 0.6),
    ("awful", 0.6),
    ("terrible", 0.6),
    ("miss", 0.6),
    ("annoyed", 0.55),
    // mild
    ("surprised", 0.5),
    ("hopeful", 0.5),
    ("relieved", 0.5),
    ("nostalgic", 0.5),
    ("curious", 0.4),
    ("interested", 0.4),
    ("enjoy", 0.4),
    ("enjoyed", 0.4),
    ("pleased", 0.4),
    ("confused", 0.4),
    ("beautiful", 0.5),
    ("laughed", 0.5),
    ("hope", 0.4),
    ("wish", 0.4),
    ("fun", 0.4),
    ("sorry", 0.4),
    ("content", 0.3),
    ("calm", 0.3),
    ("tired", 0.3),
    ("bored", 0.2),
];

/// Words that make an emotion stronger; "!!!" (in the raw text) counts as one too.
pub const INTENSIFIERS: &[&str] = &[
    "very",
    "extremely",
    "really",
    "incredibly",
    "absolutely",
    "deeply",
    "truly",
    "terribly",
    "utterly",
];
/// The run of exclamation marks that counts as an intensifier.
pub const EMPHATIC_EXCLAMATION: &str = "!!!";
/// Added to the strongest emotion when an intensifier is present (once: "really very" is not twice as
/// strong, and an intensified "excited" stays below "devastated").
pub const INTENSIFIER_BOOST: f64 = 0.1;

/// Keyword classes of life significance (the highest class present counts).
pub const SIGNIFICANCE_WORDS: &[(&str, f64)] = &[
    // life and death
    ("emergency", 0.9),
    ("death", 0.9),
    ("died", 0.9),
    ("dead", 0.9),
    ("dying", 0.9),
    ("funeral", 0.9),
    ("killed", 0.9),
    ("murder", 0.9),
    ("married", 0.9),
    ("marriage", 0.9),
    ("wedding", 0.9),
    ("divorce", 0.9),
    ("pregnant", 0.9),
    ("born", 0.9),
    // trust
    ("secret", 0.85),
    ("confession", 0.85),
    ("confess", 0.85),
    ("betrayal", 0.85),
    ("betrayed", 0.85),
    ("betray", 0.85),
    // milestones
    ("first time", 0.8),
    ("forever", 0.8),
    ("never forget", 0.8),
    // commitments
    ("important", 0.7),
    ("promise", 0.7),
    ("promised", 0.7),
    ("vow", 0.7),
    ("swear", 0.7),
    ("oath", 0.7),
    ("decision", 0.7),
    ("decided", 0.7),
    // conflict
    ("fight", 0.65),
    ("fought", 0.65),
    ("argument", 0.65),
    ("argued", 0.65),
    ("quarrel", 0.65),
    // the world's matters
    ("war", 0.6),
    ("magic", 0.6),
    ("dragon", 0.6),
    ("quest", 0.6),
    ("family", 0.6),
    ("mother", 0.6),
    ("father", 0.6),
    ("brother", 0.6),
    ("sister", 0.6),
    ("son", 0.6),
    ("daughter", 0.6),
    ("wife", 0.6),
    ("husband", 0.6),
    ("spell", 0.55),
    ("treasure", 0.55),
    ("kingdom", 0.55),
    ("trade", 0.55),
    ("gold", 0.55),
    ("job", 0.55),
    ("song", 0.55),
    ("music", 0.55),
    ("lute", 0.55),
    ("story", 0.55),
    ("legend", 0.55),
    ("adventure", 0.55),
    ("journey", 0.55),
    ("potion", 0.55),
    ("sword", 0.55),
    // people and places of the realm
    ("king", 0.5),
    ("queen", 0.5),
    ("mayor", 0.5),
    ("village", 0.5),
    ("capital", 0.5),
    ("tavern", 0.5),
    ("festival", 0.5),
    ("market", 0.5),
    // intentions
    ("plan", 0.5),
    ("remember", 0.5),
    ("goal", 0.5),
    ("dream", 0.5),
    ("always wanted", 0.5),
    ("learn", 0.45),
    ("idea", 0.45),
    ("project", 0.45),
];

/// Words of someone seeking information.
pub const INFORMATION_SEEKING_WORDS: &[&str] = &[
    "what",
    "why",
    "how",
    "when",
    "where",
    "who",
    "which",
    "explain",
    "tell me",
    "do you know",
    "have you heard",
    "wonder",
    "teach me",
];

/// Words of someone giving an opinion.
pub const OPINION_WORDS: &[&str] = &[
    "think",
    "believe",
    "feel",
    "opinion",
    "prefer",
    "agree",
    "disagree",
    "favourite",
    "favorite",
    "should",
    "in my view",
];

/// Engagement added per question (a run of `?`).
pub const QUESTION_BONUS: f64 = 0.1;
/// At most this much engagement from questions.
pub const QUESTION_BONUS_CAP: f64 = 0.3;
/// Engagement added per exclamation (a run of `!`).
pub const EXCLAMATION_BONUS: f64 = 0.05;
/// At most this much engagement from exclamations.
pub const EXCLAMATION_BONUS_CAP: f64 = 0.15;
/// Engagement added per distinct information-seeking or opinion word.
pub const WORD_BONUS: f64 = 0.1;
/// At most this much engagement from each of the two word lists.
pub const WORD_BONUS_CAP: f64 = 0.3;

/// Age at which the recency factor reaches 0 (it is 1 for a new memory and falls linearly).
pub const RECENCY_WINDOW_DAYS: f64 = 30.0;

/// The weights of the importance score (DOMAIN.md numbers; settings under `memory`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ImportanceWeights {
    /// Every memory starts here.
    pub base: f64,
    /// Weight of [`emotion`].
    pub emotion: f64,
    /// Weight of [`significance`].
    pub significance: f64,
    /// Weight of the speaker's [`interest`].
    pub speaker_interest: f64,
    /// Weight of the listener's [`interest`].
    pub listener_interest: f64,
    /// Weight of [`engagement`].
    pub engagement: f64,
    /// Weight of [`relationship`].
    pub relationship: f64,
    /// Weight of [`recency`].
    pub recency: f64,
    /// Lowest score.
    pub min: f64,
    /// Highest score.
    pub max: f64,
}

impl Default for ImportanceWeights {
    fn default() -> Self {
        Self {
            base: 0.3,
            emotion: 0.25,
            significance: 0.20,
            speaker_interest: 0.10,
            listener_interest: 0.05,
            engagement: 0.10,
            relationship: 0.10,
            recency: 0.05,
            min: 0.1,
            max: 1.0,
        }
    }
}

/// What the scorer looks at.
#[derive(Debug, Clone, Copy)]
pub struct ImportanceInput<'a> {
    /// The memory's text (for a chat turn: the user's message and the reply).
    pub text: &'a str,
    /// The persona the memory belongs to (the one speaking in the exchange).
    pub speaker: Option<&'a Persona>,
    /// The other persona of a persona-to-persona conversation; `None` when talking with a person.
    pub listener: Option<&'a Persona>,
    /// Strength (−1..1) of the relationship with the related personas, 0 when there is none.
    pub relationship_strength: f64,
    /// Age of the memory in days (0 when scoring a new one).
    pub age_days: f64,
}

impl<'a> ImportanceInput<'a> {
    /// A new memory of `text` with no personas and no relationship.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            speaker: None,
            listener: None,
            relationship_strength: 0.0,
            age_days: 0.0,
        }
    }
}

/// Every factor (0..1) and the resulting score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ImportanceBreakdown {
    /// [`emotion`].
    pub emotion: f64,
    /// [`significance`].
    pub significance: f64,
    /// [`interest`] of the speaker.
    pub speaker_interest: f64,
    /// [`interest`] of the listener.
    pub listener_interest: f64,
    /// [`engagement`].
    pub engagement: f64,
    /// [`relationship`].
    pub relationship: f64,
    /// [`recency`].
    pub recency: f64,
    /// The weighted sum, clamped to `[min, max]`.
    pub total: f64,
}

/// Scores a memory.
pub fn score(input: &ImportanceInput<'_>, weights: &ImportanceWeights) -> ImportanceBreakdown {
    let mut b = ImportanceBreakdown {
        emotion: emotion(input.text),
        significance: significance(input.text),
        speaker_interest: interest(input.speaker, input.text),
        listener_interest: interest(input.listener, input.text),
        engagement: engagement(input.text),
        relationship: relationship(input.relationship_strength),
        recency: recency(input.age_days),
        total: 0.0,
    };
    let sum = weights.base
        + weights.emotion * b.emotion
        + weights.significance * b.significance
        + weights.speaker_interest * b.speaker_interest
        + weights.listener_interest * b.listener_interest
        + weights.engagement * b.engagement
        + weights.relationship * b.relationship
        + weights.recency * b.recency;
    b.total = sum.clamp(weights.min, weights.max);
    b
}

/// The strongest emotion word present, raised by [`INTENSIFIER_BOOST`] when an intensifier
/// ([`INTENSIFIERS`], "!!!") is present too; 0 without emotion words.
pub fn emotion(text: &str) -> f64 {
    let words = words(text);
    let strongest = strongest(&words, EMOTION_WORDS);
    if strongest == 0.0 {
        return 0.0;
    }
    let intensified = text.contains(EMPHATIC_EXCLAMATION) || count_present(&words, INTENSIFIERS) > 0;
    if intensified {
        (strongest + INTENSIFIER_BOOST).min(1.0)
    } else {
        strongest
    }
}

/// The highest keyword class of [`SIGNIFICANCE_WORDS`] present, 0 when none.
pub fn significance(text: &str) -> f64 {
    strongest(&words(text), SIGNIFICANCE_WORDS)
}

/// How engaged the text is: questions, exclamations, information-seeking and opinion words, each capped.
pub fn engagement(text: &str) -> f64 {
    let words = words(text);
    let total = capped(runs_of(text, '?'), QUESTION_BONUS, QUESTION_BONUS_CAP)
        + capped(runs_of(text, '!'), EXCLAMATION_BONUS, EXCLAMATION_BONUS_CAP)
        + capped(
            count_present(&words, INFORMATION_SEEKING_WORDS),
            WORD_BONUS,
            WORD_BONUS_CAP,
        )
        + capped(count_present(&words, OPINION_WORDS), WORD_BONUS, WORD_BONUS_CAP);
    total.min(1.0)
}

/// The persona's best topic preference among the topics the text mentions, / 100; 0 without a persona
/// or a matching topic. A topic matches when its name appears in the text, `local_news` as "local news"
/// (or "local_news"), plurals included.
pub fn interest(persona: Option<&Persona>, text: &str) -> f64 {
    let Some(persona) = persona else {
        return 0.0;
    };
    let words = words(text);
    persona
        .topic_preferences
        .iter()
        .filter(|(topic, _)| {
            let topic_words = self::words(topic);
            !topic_words.is_empty() && contains(&words, topic_words.iter().map(String::as_str))
        })
        .map(|(_, preference)| (preference / 100.0).clamp(0.0, 1.0))
        .fold(0.0, f64::max)
}

/// The relationship factor: the strength's magnitude, capped at 1 — an enemy's words are as memorable as
/// a friend's. 0 for no relationship (or a non-finite strength).
pub fn relationship(strength: f64) -> f64 {
    if strength.is_finite() {
        strength.abs().min(1.0)
    } else {
        0.0
    }
}

/// 1 for a new memory, falling linearly to 0 at [`RECENCY_WINDOW_DAYS`].
pub fn recency(age_days: f64) -> f64 {
    if age_days > 0.0 {
        (1.0 - age_days / RECENCY_WINDOW_DAYS).max(0.0)
    } else {
        1.0
    }
}

/// Lower-cased words: letters, digits and apostrophes (typographic ones made plain).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.replace('’', "'").trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `token` is `word` or its plural, either way round (`dragon`/`dragons`, `story`/`stories`).
fn is_form_of(token: &str, word: &str) -> bool {
    /// Words ending in "s" that are not plurals ("new" is not the singular of "news").
    const NOT_PLURALS: &[&str] = &[
        "news", "yes", "this", "his", "has", "was", "is", "us", "bus", "gas", "its", "less",
    ];
    fn plural_of(plural: &str, singular: &str) -> bool {
        if NOT_PLURALS.contains(&plural) {
            return false;
        }
        plural
            .strip_prefix(singular)
            .is_some_and(|rest| rest == "s" || rest == "es")
            || singular
                .strip_suffix('y')
                .and_then(|stem| plural.strip_prefix(stem))
                .is_some_and(|rest| rest == "ies")
    }
    token == word || plural_of(token, word) || plural_of(word, token)
}

/// Whether the words hold `phrase` (one or more words) in a row.
fn contains<'p>(words: &[String], phrase: impl IntoIterator<Item = &'p str>) -> bool {
    let phrase: Vec<&str> = phrase.into_iter().collect();
    !phrase.is_empty()
        && words
            .windows(phrase.len())
            .any(|window| window.iter().zip(&phrase).all(|(t, p)| is_form_of(t, p)))
}

/// The highest level among the table entries present, 0 when none.
fn strongest(words: &[String], table: &[(&str, f64)]) -> f64 {
    table
        .iter()
        .filter(|(phrase, _)| contains(words, phrase.split_whitespace()))
        .map(|(_, level)| *level)
        .fold(0.0, f64::max)
}

/// How many entries of `list` are present.
fn count_present(words: &[String], list: &[&str]) -> usize {
    list.iter()
        .filter(|phrase| contains(words, phrase.split_whitespace()))
        .count()
}

/// Runs of `mark` in `text` ("??" is one question).
fn runs_of(text: &str, mark: char) -> usize {
    text.split(|c| c != mark).filter(|run| !run.is_empty()).count()
}

/// `count · each`, at most `cap`.
fn capped(count: usize, each: f64, cap: f64) -> f64 {
    (count as f64 * each).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use std::collections::BTreeMap;
    use uuid::Uuid;

    const EPS: f64 = 1e-9;

    fn persona(name: &str, topics: &[(&str, f64)]) -> Persona {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("valid date");
        Persona {
            id: Uuid::from_u128(name.len() as u128),
            name: name.to_owned(),
            description: String::new(),
            personality_traits: serde_json::Map::new(),
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
            created_at: t,
            updated_at: t,
            card: Default::default(),
        }
    }

    fn aria() -> Persona {
        persona(
            "Aria",
            &[
                ("music", 95.0),
                ("stories", 90.0),
                ("travel", 85.0),
                ("gossip", 80.0),
                ("magic", 70.0),
                ("adventure", 85.0),
                ("art", 80.0),
                ("local_news", 75.0),
            ],
        )
    }

    fn kira() -> Persona {
        persona(
            "Kira",
            &[
                ("research", 95.0),
                ("magic", 90.0),
                ("history", 85.0),
                ("philosophy", 80.0),
                ("books", 85.0),
                ("discovery", 90.0),
                ("gossip", 20.0),
                ("small_talk", 25.0),
            ],
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    #[test]
    fn weights_default_to_domain_numbers() {
        let w = ImportanceWeights::default();
        let factor_sum = w.emotion
            + w.significance
            + w.speaker_interest
            + w.listener_interest
            + w.engagement
            + w.relationship
            + w.recency;
        assert!(close(w.base, 0.3));
        assert!(close(factor_sum, 0.85), "0.25+0.20+0.10+0.05+0.10+0.10+0.05");
        assert!(close(w.min, 0.1) && close(w.max, 1.0));
    }

    #[test]
    fn words_are_lowercased_on_boundaries() {
        assert_eq!(
            words("I'm DEVASTATED—truly! (it’s over)"),
            vec!["i'm", "devastated", "truly", "it's", "over"]
        );
        assert!(words("  ...  ").is_empty());
    }

    #[test]
    fn matching_respects_word_boundaries_and_plurals() {
        let w = words("Dragons and stories of the lovely news");
        assert!(contains(&w, ["dragon"]));
        assert!(contains(&w, ["story"]));
        assert!(!contains(&w, ["love"]), "lovely is not love");
        assert!(!contains(&w, ["new"]), "news is not the plural of new");
        assert!(contains(&w, ["news"]));
        assert!(contains(&w, "the lovely".split_whitespace()));
        assert!(!contains(&w, "lovely the".split_whitespace()));
        assert!(!contains(&w, std::iter::empty()));
        assert!(is_form_of("wishes", "wish"));
        assert!(is_form_of("arts", "art"));
        assert!(is_form_of("art", "arts"));
        assert!(!is_form_of("this", "thi"));
        assert!(!is_form_of("sadness", "sad"));
    }

    #[test]
    fn emotion_takes_the_strongest_word() {
        assert!(close(emotion("I am happy but tired"), 0.65));
        assert!(close(emotion("I HATE this"), 0.9));
        assert!(close(emotion("a calm evening"), 0.3));
        assert_eq!(emotion("the cart has four wheels"), 0.0);
    }

    #[test]
    fn intensifiers_raise_emotion_once() {
        assert!(close(emotion("I am very happy"), 0.75));
        assert!(close(emotion("I am happy!!!"), 0.75));
        assert!(close(emotion("I am happy!!"), 0.65), "two marks are no intensifier");
        assert!(close(emotion("really very extremely happy!!!"), 0.75), "counted once");
        assert!(close(emotion("utterly devastated"), 1.0), "never above 1");
        assert_eq!(emotion("very big!!!"), 0.0, "intensifiers alone are no emotion");
    }

    #[test]
    fn significance_takes_the_highest_class() {
        assert!(close(significance("It's an emergency"), 0.9));
        assert!(close(significance("can you keep a secret"), 0.85));
        assert!(close(significance("the first time I saw the sea"), 0.8));
        assert!(close(significance("I promise"), 0.7));
        assert!(close(significance("we had a fight"), 0.65));
        assert!(close(significance("dragons over the hills"), 0.6));
        assert!(close(significance("a trade deal"), 0.55));
        assert!(close(significance("my plan and my idea"), 0.5));
        assert!(close(significance("an idea"), 0.45));
        assert!(close(significance("my father died"), 0.9));
        assert_eq!(
            significance("first there was time"),
            0.0,
            "phrase words must be adjacent"
        );
        assert_eq!(significance("nice weather"), 0.0);
    }

    #[test]
    fn engagement_counts_questions_exclamations_and_words() {
        assert_eq!(engagement("ok"), 0.0);
        // one question + "what"
        assert!(close(engagement("what is that?"), 0.2));
        // questions cap at 0.3; "why" 0.1
        assert!(close(engagement("why? ? ? ? ?"), 0.4));
        // "??" is one question, "!!" one exclamation
        assert!(close(engagement("really?? wow!!"), 0.15));
        // exclamations cap at 0.15
        assert!(close(engagement("a! b! c! d! e!"), 0.15));
        // opinion: think, should
        assert!(close(engagement("I think we should go"), 0.2));
        // info words cap at 0.3
        assert!(close(engagement("who what when where why how"), 0.3));
        // everything at once stays within 1
        let all = "what why how? who? when? where?! think believe feel prefer! agree! wow!";
        assert!(close(engagement(all), 1.0));
    }

    #[test]
    fn interest_uses_the_best_matching_topic() {
        let a = aria();
        assert!(close(interest(Some(&a), "Play me some music about magic"), 0.95));
        assert!(close(interest(Some(&a), "a story of the road"), 0.9), "plural topic");
        assert!(close(interest(Some(&a), "any local news today?"), 0.75));
        assert!(close(interest(Some(&a), "any local_news today?"), 0.75));
        assert_eq!(interest(Some(&a), "any news today?"), 0.0, "the whole name must appear");
        assert_eq!(interest(Some(&a), "the price of grain"), 0.0);
        assert_eq!(interest(None, "music"), 0.0);
        let k = kira();
        assert!(close(interest(Some(&k), "just small talk"), 0.25));
        assert!(close(interest(Some(&k), "MAGIC"), 0.9));
        let odd = persona("Odd", &[("music", 150.0), ("__", 90.0)]);
        assert!(close(interest(Some(&odd), "music"), 1.0), "clamped");
        assert_eq!(interest(Some(&odd), "__ anything"), 0.0, "empty topic never matches");
    }

    #[test]
    fn relationship_and_recency_factors() {
        assert_eq!(relationship(0.0), 0.0);
        assert!(close(relationship(0.45), 0.45));
        assert!(close(relationship(-0.8), 0.8));
        assert_eq!(relationship(3.0), 1.0);
        assert_eq!(relationship(f64::NAN), 0.0);
        assert_eq!(recency(0.0), 1.0);
        assert_eq!(recency(-1.0), 1.0);
        assert!(close(recency(15.0), 0.5));
        assert_eq!(recency(45.0), 0.0);
    }

    #[test]
    fn score_is_the_weighted_sum() {
        let a = aria();
        let k = kira();
        let text = "I love the magic of music! What do you think?";
        let input = ImportanceInput {
            text,
            speaker: Some(&a),
            listener: Some(&k),
            relationship_strength: 0.5,
            age_days: 0.0,
        };
        let b = score(&input, &ImportanceWeights::default());
        // emotion: love 0.9; significance: magic 0.6; Aria: music 0.95; Kira: magic 0.9;
        // engagement: 1 question 0.1 + 1 exclamation 0.05 + what 0.1 + think 0.1 = 0.35
        assert!(close(b.emotion, 0.9));
        assert!(close(b.significance, 0.6));
        assert!(close(b.speaker_interest, 0.95));
        assert!(close(b.listener_interest, 0.9));
        assert!(close(b.engagement, 0.35));
        assert!(close(b.relationship, 0.5));
        assert!(close(b.recency, 1.0));
        let expected = 0.3 + 0.25 * 0.9 + 0.20 * 0.6 + 0.10 * 0.95 + 0.05 * 0.9 + 0.10 * 0.35 + 0.10 * 0.5 + 0.05 * 1.0;
        assert!(close(b.total, expected), "{} != {expected}", b.total);
    }

    #[test]
    fn score_is_clamped() {
        let input = ImportanceInput::new("ok");
        let high = ImportanceWeights {
            base: 2.0,
            ..ImportanceWeights::default()
        };
        assert_eq!(score(&input, &high).total, 1.0);
        let low = ImportanceWeights {
            base: -1.0,
            ..ImportanceWeights::default()
        };
        assert!(close(score(&input, &low).total, 0.1));
    }

    /// The distribution on realistic chat lines: ordinary chat in 0.45..0.8, trivia lower, grief highest.
    #[test]
    fn distribution_on_chat_lines_is_sensible() {
        let a = aria();
        let w = ImportanceWeights::default();
        let s = |text: &str| {
            score(
                &ImportanceInput {
                    speaker: Some(&a),
                    ..ImportanceInput::new(text)
                },
                &w,
            )
            .total
        };

        let trivial = ["ok", "lol", "hm, sure", "bye"];
        let typical = [
            "Hi Aria, what songs do you know about dragons?",
            "Tell me a story from your travels!",
            "I think the music at the tavern was better last night.",
            "Have you heard the local news about the mayor?",
            "How does magic work where you come from?",
            "I'm so happy to see you again! How was the festival?",
            "We had a fight with the innkeeper about the bill.",
            "I was worried you wouldn't come. Why were you late?",
            "Can you teach me a song on the lute? I've always wanted to learn.",
            "My plan is to trade furs in the capital next spring.",
            "I'm really excited about the adventure tomorrow!!!",
        ];
        let grief = "my father died, I'm devastated";

        let trivial_scores: Vec<f64> = trivial.iter().map(|t| s(t)).collect();
        let typical_scores: Vec<f64> = typical.iter().map(|t| s(t)).collect();
        let grief_score = s(grief);

        for (t, v) in trivial.iter().zip(&trivial_scores) {
            assert!(*v < 0.4, "trivial {t:?} scored {v}");
        }
        for (t, v) in typical.iter().zip(&typical_scores) {
            assert!((0.45..=0.8).contains(v), "typical {t:?} scored {v}");
        }
        let max_trivial = trivial_scores.iter().copied().fold(0.0, f64::max);
        let min_typical = typical_scores.iter().copied().fold(1.0, f64::min);
        let max_typical = typical_scores.iter().copied().fold(0.0, f64::max);
        assert!(max_trivial < min_typical);
        assert!(grief_score >= 0.7, "grief scored {grief_score}");
        assert!(
            grief_score > max_typical,
            "grief {grief_score} vs typical max {max_typical}"
        );
        // Typical chat spreads out rather than collapsing on one value.
        assert!(max_typical - min_typical > 0.1, "{min_typical}..{max_typical}");
    }

    #[test]
    fn interests_and_relationship_raise_the_score() {
        let a = aria();
        let k = kira();
        let w = ImportanceWeights::default();
        let text = "Shall we talk about magic?";
        let plain = score(&ImportanceInput::new(text), &w).total;
        let with_speaker = score(
            &ImportanceInput {
                speaker: Some(&a),
                ..ImportanceInput::new(text)
            },
            &w,
        )
        .total;
        let with_both = score(
            &ImportanceInput {
                speaker: Some(&a),
                listener: Some(&k),
                ..ImportanceInput::new(text)
            },
            &w,
        )
        .total;
        let with_friend = score(
            &ImportanceInput {
                speaker: Some(&a),
                listener: Some(&k),
                relationship_strength: 0.6,
                ..ImportanceInput::new(text)
            },
            &w,
        )
        .total;
        let old = score(
            &ImportanceInput {
                age_days: 30.0,
                ..ImportanceInput::new(text)
            },
            &w,
        )
        .total;
        assert!(close(with_speaker - plain, 0.10 * 0.7));
        assert!(close(with_both - with_speaker, 0.05 * 0.9));
        assert!(close(with_friend - with_both, 0.10 * 0.6));
        assert!(close(plain - old, 0.05));
    }
}
