//! Who speaks next in a persona-to-persona conversation, chatrooms of three or more included: the persona the
//! last speaker addressed by name, else the one most eager to talk (its last continue score, or full eagerness
//! before it spoke) warmed or cooled by its relationship with the last speaker. Never the same persona twice in
//! a row unless it is alone.

use uuid::Uuid;

/// Eagerness of a persona that has not spoken yet (continue scores run 0..100).
pub const EAGER_BEFORE_SPEAKING: f64 = 100.0;
/// Points a relationship adds (strength 1) or takes away (strength −1) from a candidate's eagerness.
pub const RELATIONSHIP_WEIGHT: f64 = 15.0;

/// A participant who might speak next.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The persona.
    pub id: Uuid,
    /// Its name, as others would address it.
    pub name: String,
    /// The continue score of its latest turn, if it spoke.
    pub last_score: Option<f64>,
    /// The strength of its relationship with the last speaker (−1..1; 0 when none).
    pub bond: f64,
}

/// Where `name` first appears in `text` as a whole word (case-insensitive), if it does.
pub fn mention_at(text: &str, name: &str) -> Option<usize> {
    let (text, name) = (text.to_lowercase(), name.trim().to_lowercase());
    if name.is_empty() {
        return None;
    }
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(&name).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !is_word(before) && !is_word(after)
    })
}

/// The next speaker after `last` (its id and what it said), among `candidates` in participant order; the first
/// candidate opens. `None` only when there are no candidates.
pub fn next_speaker(last: Option<(Uuid, &str)>, candidates: &[Candidate]) -> Option<Uuid> {
    let Some((last_id, said)) = last else {
        return candidates.first().map(|c| c.id);
    };
    let pool: Vec<&Candidate> = candidates.iter().filter(|c| c.id != last_id).collect();
    if pool.is_empty() {
        return candidates.first().map(|c| c.id);
    }
    let addressed = pool
        .iter()
        .filter_map(|c| mention_at(said, &c.name).map(|at| (at, c.id)))
        .min_by_key(|(at, _)| *at);
    if let Some((_, id)) = addressed {
        return Some(id);
    }
    let eagerness = |c: &Candidate| c.last_score.unwrap_or(EAGER_BEFORE_SPEAKING) + RELATIONSHIP_WEIGHT * c.bond;
    let mut best = pool[0];
    for c in &pool[1..] {
        if eagerness(c) > eagerness(best) {
            best = c;
        }
    }
    Some(best.id)
}

/// Names as a sentence says them: "Kira", "Kira and Bard", "Kira, Bard and Lyra".
pub fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(name: &str, last_score: Option<f64>, bond: f64) -> Candidate {
        Candidate {
            id: Uuid::new_v4(),
            name: name.into(),
            last_score,
            bond,
        }
    }

    #[test]
    fn names_join_like_a_sentence() {
        assert_eq!(join_names(&["Kira"]), "Kira");
        assert_eq!(join_names(&["Kira", "Bard"]), "Kira and Bard");
        assert_eq!(join_names(&["Kira", "Bard", "Lyra"]), "Kira, Bard and Lyra");
    }

    #[test]
    fn names_are_found_as_whole_words() {
        assert_eq!(mention_at("What do you think, Kira?", "kira"), Some(19));
        assert_eq!(mention_at("Kiran is here", "Kira"), None);
        assert_eq!(mention_at("Ask bard3.", "Bard3"), Some(4));
        assert_eq!(mention_at("nobody", ""), None);
    }

    #[test]
    fn the_first_opens_and_nobody_speaks_twice_in_a_row() {
        let room = [
            cand("Aria", Some(90.0), 0.0),
            cand("Kira", Some(20.0), 0.0),
            cand("Bard", Some(30.0), 0.0),
        ];
        assert_eq!(next_speaker(None, &room), Some(room[0].id));
        assert_eq!(next_speaker(Some((room[0].id, "Lovely day.")), &room), Some(room[2].id));
        let pair = [cand("Aria", Some(10.0), 0.0), cand("Kira", Some(10.0), 0.0)];
        assert_eq!(next_speaker(Some((pair[1].id, "hm")), &pair), Some(pair[0].id));
        let alone = [cand("Aria", Some(10.0), 0.0)];
        assert_eq!(next_speaker(Some((alone[0].id, "hm")), &alone), Some(alone[0].id));
    }

    #[test]
    fn the_addressed_persona_answers_first() {
        let room = [
            cand("Aria", None, 0.0),
            cand("Kira", Some(10.0), -1.0),
            cand("Bard", None, 1.0),
        ];
        let said = "Kira, and you too Bard, what do you say?";
        assert_eq!(next_speaker(Some((room[0].id, said)), &room), Some(room[1].id));
        // Addressing oneself does not count.
        assert_eq!(
            next_speaker(Some((room[1].id, "I, Kira, think so.")), &room),
            Some(room[2].id)
        );
    }

    #[test]
    fn newcomers_and_friends_are_preferred() {
        let room = [
            cand("Aria", Some(60.0), 0.0),
            cand("Kira", Some(60.0), 0.0),
            cand("Bard", None, 0.0),
        ];
        assert_eq!(next_speaker(Some((room[0].id, "so")), &room), Some(room[2].id));
        let room = [
            cand("Aria", Some(60.0), 0.0),
            cand("Kira", Some(50.0), 1.0),
            cand("Bard", Some(60.0), -0.5),
        ];
        assert_eq!(next_speaker(Some((room[0].id, "so")), &room), Some(room[1].id));
    }
}
