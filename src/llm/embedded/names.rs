//! Grounded names: while the embedded model writes, a word it begins with a capital letter must be one its prompt
//! (the messages' texts, not the chat markup) writes with a capital, or, at the start of a sentence, an ordinary
//! word (one the vocabulary holds whole, in lower case, after a space). A 135M model asked who it is otherwise invents names ("I am Elara", "a bard of the
//! Silverfist Clan"); with this rule it can only name what it was told: the persona, the people and places of its
//! card, its memories and the conversation.
//!
//! The check runs on the token the sampler drew: a token that would start or continue a capitalised word no
//! allowed word begins with, or end one that is not a whole allowed word, is refused and another is drawn (see
//! `generate::pick`). Lower-case words, digits and punctuation are never refused. A token that ends inside a
//! character (a letter outside ASCII, an emoji: its bytes come in several tokens) may only go on a word that
//! starts in lower case, as in "café": before the character is whole it cannot be told whether it makes a capital
//! or an invented name, and a small model that may not invent a name in ASCII reaches for other scripts
//! ("Faþŋĭn", "Ḥẓ").

use std::collections::BTreeSet;

use tokenizers::Tokenizer;

/// What a token adds to the text, to tell where words begin and end.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// Letters only, after one space (`spaced`) or none: a new word, or more of the word before it when unspaced
    /// and the text so far ends with a letter.
    Letters { spaced: bool, text: String },
    /// Ends inside a character (its other bytes come with the next tokens), after `before` (the whole
    /// characters the token begins with). Which letter it will be is not known yet, so it may only go on a word
    /// that starts in lower case: after a capital it could make an invented name ("Faþŋĭn"), at a word's start
    /// an invented capital ("Ḥẓ").
    Partial { before: String },
    /// Anything else (punctuation, digits, white space, a special token): ends the word before it.
    Other,
}

impl Piece {
    fn of(text: &str) -> Piece {
        if let Some((before, _)) = text.split_once('\u{fffd}') {
            return Piece::Partial {
                before: before.to_string(),
            };
        }
        let (spaced, letters) = match text.strip_prefix(' ') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if !letters.is_empty() && letters.chars().all(char::is_alphabetic) {
            Piece::Letters {
                spaced,
                text: letters.to_string(),
            }
        } else {
            Piece::Other
        }
    }
}

/// Every token's [`Piece`] and the ordinary words, read once from the tokenizer.
pub struct Vocabulary {
    pieces: Vec<Piece>,
    ordinary: BTreeSet<String>,
}

impl Vocabulary {
    /// The vocabulary of `tokenizer`: each token decoded on its own.
    pub fn of(tokenizer: &Tokenizer) -> Vocabulary {
        let size = tokenizer.get_vocab_size(true) as u32;
        Vocabulary::new((0..size).map(|id| tokenizer.decode(&[id], true).unwrap_or_default()))
    }

    /// The vocabulary whose token `i` decodes to the `i`-th text.
    fn new(texts: impl IntoIterator<Item = String>) -> Vocabulary {
        let pieces: Vec<Piece> = texts.into_iter().map(|t| Piece::of(&t)).collect();
        let ordinary = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Letters { spaced: true, text } if text.chars().all(char::is_lowercase) => Some(text.clone()),
                _ => None,
            })
            .collect();
        Vocabulary { pieces, ordinary }
    }
}

/// Punctuation and white space that may stand between a sentence's end and its first word.
const OPENERS: &[char] = &['"', '\'', '“', '‘', '(', '[', '*', '-', '–', '—', '_'];

/// Whether a word written after `before` starts a sentence: at the very start, after a line break, or after
/// `.`, `!`, `?` or `:` (quotes, brackets and list marks in between).
fn starts_sentence(before: &str) -> bool {
    let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || OPENERS.contains(&c));
    trimmed.is_empty() || before[trimmed.len()..].contains('\n') || trimmed.ends_with(['.', '!', '?', ':'])
}

/// `text` split before its last run of letters (empty when it ends otherwise).
fn last_word(text: &str) -> (&str, &str) {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic())
        .last()
        .map_or(text.len(), |(i, _)| i);
    text.split_at(start)
}

/// Whether a word of `set` begins with `prefix`.
fn begins_one(set: &BTreeSet<String>, prefix: &str) -> bool {
    set.range(prefix.to_string()..)
        .next()
        .is_some_and(|w| w.starts_with(prefix))
}

/// Whether `word` has a capital after its first letter.
fn inner_capital(word: &str) -> bool {
    word.chars().skip(1).any(char::is_uppercase)
}

/// The words one generation may capitalise.
pub struct Grounding<'a> {
    vocabulary: &'a Vocabulary,
    /// The prompt's words that begin with a capital, in lower case, and `i`.
    told: BTreeSet<String>,
    /// The prompt's words with a capital after their first letter, as written ("MCP", "McKay").
    capitals: BTreeSet<String>,
}

impl<'a> Grounding<'a> {
    /// The rule for a reply to `prompt` (the texts of the messages the model reads). A word the prompt writes
    /// only in lower case ("elven") is not a name the reply may give ("I am Elven"), nor is an ordinary word it
    /// capitalises only to start a sentence ("Answer as Aria" gives "Aria", not "Answer").
    pub fn new(vocabulary: &'a Vocabulary, prompt: &str) -> Grounding<'a> {
        let mut told = BTreeSet::from(["i".to_string()]);
        let mut capitals = BTreeSet::new();
        let mut start = None;
        for (i, c) in prompt.char_indices().chain([(prompt.len(), ' ')]) {
            if c.is_alphabetic() {
                start.get_or_insert(i);
                continue;
            }
            let Some(s) = start.take() else { continue };
            let word = &prompt[s..i];
            if !word.chars().next().is_some_and(char::is_uppercase) {
                continue;
            }
            if inner_capital(word) {
                capitals.insert(word.to_string());
            }
            let lower = word.to_lowercase();
            if !starts_sentence(&prompt[..s]) || !vocabulary.ordinary.contains(&lower) {
                told.insert(lower);
            }
        }
        Grounding {
            vocabulary,
            told,
            capitals,
        }
    }

    /// Whether `word`, written after `before`, is allowed so far: when it begins with a capital, an allowed word
    /// begins with it (`whole`: is it). A word with a capital after its first letter must be one of the prompt's
    /// as written: "EYES" is not "eyes", and a model that may not invent "Elara" would write "ELARA".
    fn fits(&self, before: &str, word: &str, whole: bool) -> bool {
        if !word.chars().next().is_some_and(char::is_uppercase) {
            return true;
        }
        if inner_capital(word) {
            return if whole {
                self.capitals.contains(word)
            } else {
                begins_one(&self.capitals, word)
            };
        }
        let lower = word.to_lowercase();
        let found = |set: &BTreeSet<String>| {
            if whole {
                set.contains(&lower)
            } else {
                begins_one(set, &lower)
            }
        };
        found(&self.told) || (starts_sentence(before) && found(&self.vocabulary.ordinary))
    }

    /// Whether `token` may follow `text` (the reply so far).
    pub fn allows(&self, text: &str, token: u32) -> bool {
        if text.ends_with('\u{fffd}') {
            // Inside a character that began where it was allowed to: its other bytes.
            return true;
        }
        let (before, word) = last_word(text);
        let ends_word = || word.is_empty() || self.fits(before, word, true);
        match self.vocabulary.pieces.get(token as usize) {
            Some(Piece::Partial { before: more }) => {
                more.chars().all(char::is_alphabetic)
                    && format!("{word}{more}").chars().next().is_some_and(char::is_lowercase)
            }
            Some(Piece::Letters {
                spaced: false,
                text: more,
            }) if !word.is_empty() => self.fits(before, &format!("{word}{more}"), false),
            Some(Piece::Letters { text: new, .. }) => ends_word() && self.fits(text, new, false),
            Some(Piece::Other) | None => ends_word(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary of a few tokens: token `i` is `TOKENS[i]` (the first a special token, decoded empty).
    const TOKENS: [&str; 20] = [
        "",
        " I",
        " am",
        " Ar",
        "ia",
        " El",
        "ara",
        "ven",
        ",",
        " the",
        " Silver",
        "fist",
        " Clan",
        ".",
        " my",
        " My",
        "\u{fffd}",
        " silver",
        "I",
        " \u{fffd}",
    ];

    fn id(token: &str) -> u32 {
        TOKENS.iter().position(|t| *t == token).unwrap() as u32
    }

    fn vocabulary() -> Vocabulary {
        Vocabulary::new(TOKENS.iter().map(|t| t.to_string()))
    }

    #[test]
    fn a_capitalised_word_must_be_one_the_prompt_holds() {
        let vocabulary = vocabulary();
        let g = Grounding::new(&vocabulary, "You are Aria. A vibrant elven bard.");
        let allows = |text: &str, token: &str| g.allows(text, id(token));
        assert!(allows("", " I") && allows("Well,", " I") && allows("", "I"));
        assert!(allows("I am", " Ar") && allows("I am Ar", "ia") && allows("I am Aria", ","));
        assert!(!allows("I am Ar", ","), "a word cut short is not one of the prompt's");
        assert!(!allows("I am Ar", " the"));
        // "elven" is the prompt's only in lower case: neither "Elven" nor "Elara" is a name it gave.
        assert!(!allows("I am", " El") && !allows("I am El", "ven") && !allows("I am El", "ara"));
        let told = Grounding::new(&vocabulary, "You are Aria. Elven bard. My friend.");
        assert!(
            !told.allows("I am", id(" My")),
            "an ordinary word that starts a sentence is no name"
        );
        assert!(
            told.allows("I am", id(" El")) && told.allows("I am El", id("ven")) && !told.allows("I am El", id("ara"))
        );
        assert!(!allows("I am Aria, a bard of the", " Silver") && !allows("I am Aria, a bard of the", " Clan"));
        // A word in capitals must be the prompt's as written.
        assert!(!allows("I am AR", "ia") && !allows("I am AR", ","));
        let shouting = Grounding::new(&vocabulary, "You are ARia.");
        assert!(shouting.allows("I am AR", id("ia")) && !shouting.allows("I am Ar", id(",")));
        // Lower-case words, punctuation and the end are never refused after a whole word.
        assert!(allows("I am Aria of the", " silver") && allows("I am Aria", "."));
        assert!(allows("I am Aria", ""));
        assert!(!allows("I am Ar", ""));
    }

    #[test]
    fn a_character_in_several_tokens_only_goes_on_a_lower_case_word() {
        let vocabulary = vocabulary();
        let g = Grounding::new(&vocabulary, "You are Aria.");
        let allows = |text: &str, token: &str| g.allows(text, id(token));
        assert!(allows("I love caf", "\u{fffd}") && allows("I am", "\u{fffd}"));
        assert!(!allows("My name is Fa", "\u{fffd}"), "inside a capitalised word");
        assert!(!allows("I am", " \u{fffd}") && !allows("I am ", "\u{fffd}") && !allows("", "\u{fffd}"));
        // Once begun, the character's other bytes are never refused.
        assert!(allows("I love caf\u{fffd}", "\u{fffd}") && allows("I love caf\u{fffd}", " the"));
    }

    #[test]
    fn a_sentence_may_start_with_an_ordinary_word() {
        let vocabulary = vocabulary();
        let g = Grounding::new(&vocabulary, "You are Aria.");
        let allows = |text: &str, token: &str| g.allows(text, id(token));
        for before in ["", "Hello.", "Hello! \"", "Hi\n-", "Note:"] {
            assert!(allows(before, " My") && allows(before, " Silver"), "{before:?}");
        }
        assert!(!allows("I love", " My") && !allows("I love", " Silver"), "mid-sentence");
        assert!(
            !allows("Hello. Silver", "fist"),
            "no ordinary word begins with silverfist"
        );
        assert!(!allows("Hello,", " Silver"));
    }
}
