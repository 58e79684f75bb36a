//! Whether a reply keeps its persona's identity (`make bench-llm`'s identity check and `tests/embedded_model.rs`).
//!
//! The rule, in full:
//! - A *word* is a run of letters; anything else separates words (`I'm` is `I` and `m`, `Aria's` is `Aria`
//!   and `s`).
//! - A word is *name-like* when it starts with a capital letter and its lower-case form is not *allowed*. Allowed
//!   are the ordinary English words of [`ORDINARY`] (pronouns, articles, greetings, common verbs and adverbs that
//!   start sentences), the words of the persona's own description, traits, topics and social rank, and the names
//!   of the server's personas (`known`: they are not invented).
//! - A reply *keeps its identity* when it contains the persona's name as a word (capitalised as the name is) and
//!   no name-like word. "I am Elara" fails (no "Aria"); "I'm Aria, daughter of Elion" fails (an invented
//!   name); "I'm Aria, an elven bard" passes.
//!
//! The allow-list only ever holds ordinary words, never a name: a sentence that starts with an ordinary word the
//! list lacks counts as a failure, so the rate errs low, and the failing replies are printed to check.

use std::collections::BTreeSet;

/// Ordinary words that may be capitalised in a reply (at a sentence's start, or `I`), lower case.
#[rustfmt::skip]
pub const ORDINARY: &[&str] = &[
    // Pronouns, articles, determiners.
    "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "we", "us", "our", "ours", "he", "him",
    "his", "she", "her", "hers", "it", "its", "they", "them", "their", "theirs", "a", "an", "the", "this", "that",
    "these", "those", "there", "here", "some", "any", "all", "every", "each", "many", "much", "more", "most",
    "both", "few", "one", "two", "three", "no", "none", "nothing", "something", "anything", "everything", "someone",
    "anyone", "everyone",
    // Questions and conjunctions.
    "what", "who", "whom", "whose", "which", "when", "where", "why", "how", "and", "but", "or", "so", "as", "if",
    "then", "because", "while", "though", "although", "yet", "since", "until", "unless", "whether", "than",
    // Prepositions.
    "of", "in", "on", "at", "by", "for", "with", "without", "from", "about", "into", "through", "after", "before",
    "to", "like", "not", "between", "among", "under", "over", "beyond", "within", "during",
    // Greetings, interjections, answers.
    "hello", "hi", "hey", "greetings", "welcome", "well", "oh", "ah", "aha", "ahh", "ahem", "hmm", "um", "yes",
    "yeah", "indeed", "sure", "certainly", "absolutely", "course", "thank", "thanks", "please", "sorry", "alas",
    "wow", "aw", "ha", "haha", "okay", "ok", "good", "great", "nice", "pleased", "glad", "happy", "dear", "friend",
    "friends", "morning", "evening", "afternoon", "day", "night", "goodbye", "farewell", "greeting", "erm",
    "mortal",
    // Verbs and auxiliaries.
    "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "do", "does", "did", "don",
    "doesn", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "let", "call", "name",
    "named", "known", "called", "introduce", "introducing", "allow", "meet", "meeting", "tell", "say", "ask",
    "come", "go", "see", "look", "listen", "imagine", "think", "believe", "know", "love", "enjoy", "want", "wish",
    "hope", "feel", "spend", "travel", "sing", "play", "write", "read", "learn", "study", "share", "explore",
    "speak", "growing",
    // Adverbs and other sentence openers.
    "just", "only", "also", "too", "even", "now", "today", "always", "never", "sometimes", "often", "once",
    "perhaps", "maybe", "actually", "honestly", "really", "truly", "very", "quite", "rather", "still", "again",
    "however", "besides", "anyway", "first", "second", "finally", "personally", "currently", "usually", "mostly",
    "together", "soon", "whoever", "everywhere", "nowhere",
    // Common nouns a self-introduction starts with.
    "names", "people", "person", "life", "world", "story", "stories", "song", "songs", "music", "book", "books",
    "elf", "elves", "knowledge", "work", "time", "ai", "assistant",
];

/// The words a reply of `persona` may capitalise (see [`allowed`]): its own are its description, traits, topics
/// and social rank.
pub fn persona_allowed(persona: &persona_mcp::domain::persona::Persona, known: &[&str]) -> BTreeSet<String> {
    let mut own = vec![persona.description.as_str(), persona.social_rank.as_str()];
    own.extend(persona.personality_traits.keys().map(String::as_str));
    own.extend(persona.topic_preferences.keys().map(String::as_str));
    allowed(&own, known)
}

/// The runs of letters of `text`.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty())
}

/// The words a persona's reply may capitalise: [`ORDINARY`], the lower-case words of `own` (its description,
/// traits, topics, rank) and of `known` (the server's persona names).
pub fn allowed(own: &[&str], known: &[&str]) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = ORDINARY.iter().map(|w| w.to_string()).collect();
    for text in own.iter().chain(known) {
        set.extend(words(text).map(str::to_lowercase));
    }
    set
}

/// The name-like words of `reply` (see the module's rule), in order.
pub fn name_like<'a>(reply: &'a str, allowed: &BTreeSet<String>) -> Vec<&'a str> {
    words(reply)
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .filter(|w| !allowed.contains(&w.to_lowercase()))
        .collect()
}

/// True when `reply` names `name` and no name-like word.
pub fn keeps_identity(reply: &str, name: &str, allowed: &BTreeSet<String>) -> bool {
    words(reply).any(|w| w == name) && name_like(reply, allowed).is_empty()
}
