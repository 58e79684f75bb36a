//! Topic threads of a chat conversation: which thread a new message joins (embedding similarity to each
//! thread's recent messages, keyword overlap as the tie-breaker), the thread's label from its top keywords, and
//! the history the model gets (the current thread's messages first, then the most recent others).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::chat::ChatMessage;

/// Words that say nothing about a topic.
const STOPWORDS: &[&str] = &[
    "about", "after", "again", "all", "also", "and", "any", "are", "back", "because", "been", "before", "being", "but",
    "can", "could", "did", "does", "doing", "done", "for", "from", "had", "has", "have", "her", "here", "hers", "him",
    "his", "how", "its", "just", "let", "like", "more", "most", "much", "name", "not", "now", "off", "once", "one",
    "only", "other", "our", "out", "over", "really", "said", "say", "she", "should", "some", "still", "such", "tell",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "thing", "things", "this", "those",
    "through", "too", "very", "want", "was", "way", "well", "were", "what", "when", "where", "which", "while", "who",
    "whom", "why", "will", "with", "would", "yes", "yet", "you", "your", "yours", "okay", "think", "know", "make",
    "get", "got", "going", "shall", "may", "might", "must", "into", "onto", "upon", "each", "every", "few", "own",
    "same", "both", "either", "neither", "nor", "please", "thanks", "thank", "hello", "hey",
];

/// How many keywords make a label.
const LABEL_WORDS: usize = 3;

/// Weight of the newest message in a thread's moving mean vector.
const NEW_VECTOR_WEIGHT: f32 = 0.4;

/// Two candidates closer than this in similarity are a tie, settled by keyword overlap.
const TIE: f64 = 0.05;

/// How messages are sorted into threads (`[chat]` settings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadRules {
    /// Lowest score (cosine similarity, or keyword overlap without vectors) with which a message joins a thread.
    pub threshold: f64,
    /// Added to the score of the thread the conversation is in, so a follow-up stays in its topic.
    pub continuity_bonus: f64,
}

impl Default for ThreadRules {
    fn default() -> Self {
        Self {
            threshold: 0.3,
            continuity_bonus: 0.1,
        }
    }
}

/// A topic thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    /// Thread id.
    pub id: Uuid,
    /// The conversation it belongs to.
    pub conversation_id: Uuid,
    /// A short label: its title when it has one, else its top keywords.
    pub label: String,
    /// A few words naming it, from the model configured for the `title` task (none without one).
    pub title: Option<String>,
    /// How often each keyword occurred in its user messages.
    pub keywords: BTreeMap<String, u32>,
    /// Moving mean of its recent user-message vectors (unit length), if an embedder is configured.
    pub centroid: Option<Vec<f32>>,
    /// Messages in it (user messages and replies).
    pub message_count: i64,
    /// Summary of its messages older than the history window.
    pub summary: Option<String>,
    /// Sequence number of the last message folded into the summary.
    pub summarized_through: i64,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When a message last joined it.
    pub last_active: DateTime<Utc>,
}

impl Thread {
    /// A new, empty thread.
    pub fn new(conversation_id: Uuid, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::new_v4(),
            conversation_id,
            label: String::new(),
            title: None,
            keywords: BTreeMap::new(),
            centroid: None,
            message_count: 0,
            summary: None,
            summarized_through: 0,
            created_at: now,
            last_active: now,
        }
    }

    /// Takes in a user message (its vector and keywords) and the `messages` stored with it.
    pub fn absorb(&mut self, vector: Option<&[f32]>, words: &[String], messages: i64, now: DateTime<Utc>) {
        if let Some(v) = vector {
            self.mix_vector(v);
        }
        for w in words {
            *self.keywords.entry(w.clone()).or_insert(0) += 1;
        }
        self.label = self.title.clone().unwrap_or_else(|| label(&self.keywords));
        self.message_count += messages;
        self.last_active = now;
    }

    /// Moves its centroid toward `v`, a new message's vector (or starts it there).
    pub fn mix_vector(&mut self, v: &[f32]) {
        self.centroid = Some(match self.centroid.take() {
            Some(old) if old.len() == v.len() => {
                let mut mixed: Vec<f32> = old
                    .iter()
                    .zip(v)
                    .map(|(o, n)| o * (1.0 - NEW_VECTOR_WEIGHT) + n * NEW_VECTOR_WEIGHT)
                    .collect();
                unit(&mut mixed);
                mixed
            }
            _ => v.to_vec(),
        });
    }

    /// Names it with `title` from now on.
    pub fn set_title(&mut self, title: String) {
        self.label = title.clone();
        self.title = Some(title);
    }

    /// Its top keywords, most frequent first.
    pub fn top_keywords(&self, n: usize) -> Vec<String> {
        let mut words: Vec<(&String, &u32)> = self.keywords.iter().collect();
        words.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        words.into_iter().take(n).map(|(w, _)| w.clone()).collect()
    }
}

/// Scales a vector to unit length (a zero vector stays as it is).
fn unit(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > f32::EPSILON {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A thread's label: its top keywords.
fn label(keywords: &BTreeMap<String, u32>) -> String {
    let mut words: Vec<(&String, &u32)> = keywords.iter().collect();
    words.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    words
        .into_iter()
        .take(LABEL_WORDS)
        .map(|(w, _)| w.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Most words a model's title keeps.
const TITLE_WORDS: usize = 6;

/// A model's answer to "name this topic" made into a label: its first non-empty line, without quotes, a
/// `Title:` prefix or closing punctuation, at most six words; `None` when nothing is left.
pub fn clean_title(answer: &str) -> Option<String> {
    let line = answer.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line
        .split_once(':')
        .filter(|(head, _)| head.trim().eq_ignore_ascii_case("title") || head.trim().eq_ignore_ascii_case("topic"))
        .map_or(line, |(_, rest)| rest);
    let words: Vec<&str> = line
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, '"' | '\'' | '*' | '`' | '“' | '”')))
        .filter(|w| !w.is_empty())
        .take(TITLE_WORDS)
        .collect();
    let title = words.join(" ");
    let title = title.trim_end_matches(['.', '!', '?', ',', ';', ':']).trim();
    (!title.is_empty()).then(|| title.to_string())
}

/// The distinct content words of a text, lower-case, in order of first appearance.
pub fn keywords(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(char::is_numeric) && !STOPWORDS.contains(&w.as_str()))
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// Cosine similarity of two vectors (0 when either is zero or their lengths differ).
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na <= f32::EPSILON || nb <= f32::EPSILON {
        0.0
    } else {
        f64::from(dot / (na * nb))
    }
}

/// The share of `words` among the thread's keywords (0..1).
fn overlap(thread: &Thread, words: &[String]) -> f64 {
    if words.is_empty() {
        return 0.0;
    }
    let shared = words.iter().filter(|w| thread.keywords.contains_key(*w)).count();
    shared as f64 / words.len() as f64
}

/// The index of the thread a message joins, or `None` for a new thread. `current` is the thread the
/// conversation is in; a message without content words (a "why?", an "ok") stays in it.
pub fn choose(
    threads: &[Thread],
    current: Option<Uuid>,
    vector: Option<&[f32]>,
    words: &[String],
    rules: &ThreadRules,
) -> Option<usize> {
    let current_index = current.and_then(|c| threads.iter().position(|t| t.id == c));
    if words.is_empty() && current_index.is_some() {
        return current_index;
    }
    let scored = threads.iter().enumerate().map(|(i, t)| {
        let overlap = overlap(t, words);
        let similarity = match (vector, t.centroid.as_deref()) {
            (Some(v), Some(c)) => cosine(v, c),
            _ => overlap,
        };
        let bonus = if Some(i) == current_index {
            rules.continuity_bonus
        } else {
            0.0
        };
        (i, similarity + bonus, overlap)
    });
    let best = scored.fold(None::<(usize, f64, f64)>, |best, c| match best {
        None => Some(c),
        Some(b) if (c.1 - b.1).abs() <= TIE => Some(if c.2 > b.2 || (c.2 == b.2 && c.1 > b.1) { c } else { b }),
        Some(b) => Some(if c.1 > b.1 { c } else { b }),
    })?;
    (best.1 >= rules.threshold).then_some(best.0)
}

/// The history the model gets: the newest of `thread` (the current thread's messages) first, then the most
/// recent of `recent` (the plain window), at most `budget` messages, oldest first.
pub fn history(thread: &[ChatMessage], recent: &[ChatMessage], budget: usize) -> Vec<ChatMessage> {
    let mut picked: Vec<&ChatMessage> = thread.iter().rev().take(budget).collect();
    let taken: HashSet<i64> = picked.iter().map(|m| m.seq).collect();
    let room = budget.saturating_sub(picked.len());
    picked.extend(recent.iter().rev().filter(|m| !taken.contains(&m.seq)).take(room));
    picked.sort_by_key(|m| m.seq);
    picked.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chat::Role;

    fn thread(words: &[&str], centroid: Option<Vec<f32>>) -> Thread {
        let mut t = Thread::new(Uuid::nil(), Utc::now());
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        t.absorb(centroid.as_deref(), &words, 2, Utc::now());
        t
    }

    #[test]
    fn a_title_replaces_the_keyword_label_for_good() {
        let mut t = thread(&["dragon", "ember"], None);
        assert_eq!(t.label, "dragon ember");
        t.set_title("Ember the dragon".into());
        t.absorb(None, &["cooking".to_string()], 2, Utc::now());
        assert_eq!(t.label, "Ember the dragon");
    }

    #[test]
    fn titles_are_cleaned() {
        assert_eq!(
            clean_title("\n  \"Ember the Dragon.\"\nMore text").as_deref(),
            Some("Ember the Dragon")
        );
        assert_eq!(
            clean_title("Title: **Cooking pasta**").as_deref(),
            Some("Cooking pasta")
        );
        assert_eq!(
            clean_title("one two three four five six seven eight").as_deref(),
            Some("one two three four five six")
        );
        assert_eq!(clean_title(" \n\"\" "), None);
    }

    fn message(seq: i64) -> ChatMessage {
        let mut m = ChatMessage::new(Role::User, format!("m{seq}"));
        m.seq = seq;
        m
    }

    #[test]
    fn keywords_drop_stopwords_short_words_numbers_and_repeats() {
        assert_eq!(
            keywords("Back to that dragon: what was its NAME? The dragon, 42 of it."),
            vec!["dragon"]
        );
        assert_eq!(
            keywords("Cooking risotto with saffron"),
            vec!["cooking", "risotto", "saffron"]
        );
        assert!(keywords("ok, why?").is_empty());
    }

    #[test]
    fn the_label_is_the_top_keywords() {
        let mut t = thread(&["dragon", "ember"], None);
        t.absorb(None, &["dragon".into(), "fire".into()], 2, Utc::now());
        assert_eq!(t.label, "dragon ember fire");
        assert_eq!(t.top_keywords(1), vec!["dragon"]);
        assert_eq!(t.message_count, 4);
    }

    #[test]
    fn a_message_joins_the_most_similar_thread_above_the_threshold() {
        let rules = ThreadRules::default();
        let threads = vec![
            thread(&["dragon"], Some(vec![1.0, 0.0])),
            thread(&["cooking"], Some(vec![0.0, 1.0])),
        ];
        let current = Some(threads[1].id);
        let words = vec!["dragon".to_string()];
        assert_eq!(choose(&threads, current, Some(&[0.9, 0.1]), &words, &rules), Some(0));
        // Far from both: a new thread.
        let words = vec!["weather".to_string()];
        assert_eq!(choose(&threads, current, Some(&[-1.0, -1.0]), &words, &rules), None);
        // No content words: stays in the current thread.
        assert_eq!(choose(&threads, current, Some(&[1.0, 0.0]), &[], &rules), Some(1));
        assert_eq!(choose(&[], None, Some(&[1.0, 0.0]), &words, &rules), None);
    }

    #[test]
    fn keyword_overlap_breaks_a_tie_and_stands_in_without_vectors() {
        let rules = ThreadRules {
            threshold: 0.3,
            continuity_bonus: 0.0,
        };
        let threads = vec![
            thread(&["soup"], Some(vec![1.0, 0.0])),
            thread(&["dragon"], Some(vec![0.99, 0.14])),
        ];
        let words = vec!["dragon".to_string()];
        assert_eq!(choose(&threads, None, Some(&[1.0, 0.05]), &words, &rules), Some(1));
        let plain = vec![thread(&["soup"], None), thread(&["dragon", "ember"], None)];
        assert_eq!(choose(&plain, None, None, &words, &rules), Some(1));
        assert_eq!(choose(&plain, None, None, &["weather".to_string()], &rules), None);
    }

    #[test]
    fn the_centroid_follows_recent_messages_and_stays_unit_length() {
        let mut t = thread(&[], Some(vec![1.0, 0.0]));
        for _ in 0..10 {
            t.absorb(Some(&[0.0, 1.0]), &[], 2, Utc::now());
        }
        let c = t.centroid.unwrap();
        assert!(c[1] > 0.99, "{c:?}");
        assert!(((c[0] * c[0] + c[1] * c[1]).sqrt() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn history_takes_the_thread_first_then_recent_others_in_order() {
        let thread_msgs: Vec<_> = [1, 2, 3, 4].map(message).to_vec();
        let recent: Vec<_> = [20, 21, 22, 23].map(message).to_vec();
        let seqs = |h: Vec<ChatMessage>| h.iter().map(|m| m.seq).collect::<Vec<_>>();
        assert_eq!(seqs(history(&thread_msgs, &recent, 6)), vec![1, 2, 3, 4, 22, 23]);
        assert_eq!(seqs(history(&thread_msgs, &recent, 3)), vec![2, 3, 4]);
        // The current thread is the recent one: no message twice.
        assert_eq!(seqs(history(&recent, &recent, 6)), vec![20, 21, 22, 23]);
        assert_eq!(seqs(history(&[], &recent, 2)), vec![22, 23]);
    }
}
