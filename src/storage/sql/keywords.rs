//! Keyword search over memories: the words of a message worth looking for, and how each backend ranks the
//! memories that hold them.
//!
//! SQLite ranks FTS5 matches by BM25, which costs about 0.7 µs a match: a message whose words each appear in
//! thousands of memories would spend milliseconds ranking matches of which 40 are kept. So a search ranks at most
//! [`RANKED_MATCHES`] of them, planned from how many memories hold each word (the `memories_fts_vocab` table):
//! - words no memory holds are dropped (they change nothing);
//! - when the words together match at most the cap, every match is ranked, as plain BM25 would;
//! - otherwise the memories holding the rarest words (as many of them as fit the cap together) are ranked first,
//!   by BM25 over every word (the rare words count twice); what places remain go to the best of the newest
//!   [`RANKED_MATCHES`] memories that hold any of the words.
//!
//! The rare words are what keyword search is there for (names and rare words the embedding misses): they are
//! never cut; a common word only loses its oldest matches, whose BM25 weight is the lowest of all.
//! PostgreSQL ranks every match of the GIN-indexed `search` tsvector by `ts_rank_cd`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use uuid::Uuid;

use super::{sql_query, AnyConn, StorageError};

/// Words too common to search for.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "did", "do", "does", "for", "from", "had", "has", "have",
    "he", "her", "him", "his", "how", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "so",
    "that", "the", "their", "them", "they", "this", "to", "us", "was", "we", "were", "what", "when", "where", "which",
    "who", "why", "with", "you", "your",
];

/// The most FTS5 matches one SQLite keyword search ranks by BM25 (about 0.35 ms of work).
const RANKED_MATCHES: i64 = 500;

/// The words of free text worth searching for: lower-cased, alphanumeric only (so they need no quoting in
/// either backend's query syntax), rare enough, each once.
pub fn search_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 2 && !STOPWORDS.contains(&w.as_str()))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Keyword search: keys ranked by relevance, best first, within one persona or across all.
pub fn keyword_search(
    conn: &mut AnyConn,
    persona: Option<Uuid>,
    text: &str,
    limit: i64,
) -> Result<Vec<i64>, StorageError> {
    let words = search_words(text);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        AnyConn::Sqlite(_) => fts_search(conn, persona, &words, limit),
        AnyConn::Pg(_) => tsquery_search(conn, persona, &words, limit),
    }
}

/// How a SQLite keyword search asks FTS5 for a message's words.
#[derive(Debug, PartialEq)]
struct Plan {
    /// Asked first when the words match more memories than the cap together: the memories holding any of the
    /// rarest words, ranked by BM25 over every word.
    rare: Option<String>,
    /// Any of the words some memory holds.
    any: String,
    /// Whether `any` matches more memories than the cap: then only its newest matches up to the cap are ranked.
    bounded: bool,
}

/// Plans a search from how many memories hold each word, to rank at most `cap` matches; `None` when no memory
/// holds any of the words.
fn plan(mut counts: Vec<(String, i64)>, cap: i64) -> Option<Plan> {
    counts.retain(|(_, n)| *n > 0);
    counts.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let any = either(counts.iter().map(|(w, _)| w));
    if counts.iter().map(|(_, n)| n).sum::<i64>() <= cap {
        return (!counts.is_empty()).then_some(Plan {
            rare: None,
            any,
            bounded: false,
        });
    }
    let mut matches = 0;
    let rare: Vec<&String> = counts
        .iter()
        .take_while(|(_, n)| {
            matches += n;
            matches <= cap
        })
        .map(|(w, _)| w)
        .collect();
    Some(Plan {
        rare: (!rare.is_empty()).then(|| format!("({}) AND ({any})", either(rare))),
        any,
        bounded: true,
    })
}

/// An FTS5 query matching any of `words` (alphanumeric, see [`search_words`]).
fn either<'a>(words: impl IntoIterator<Item = &'a String>) -> String {
    words
        .into_iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = BigInt)]
    key: i64,
}

#[derive(QueryableByName)]
struct WordCount {
    #[diesel(sql_type = Text)]
    term: String,
    #[diesel(sql_type = BigInt)]
    doc: i64,
}

/// SQLite: the matches of [`plan`]'s queries, best first, at most `limit`.
fn fts_search(
    conn: &mut AnyConn,
    persona: Option<Uuid>,
    words: &[String],
    limit: i64,
) -> Result<Vec<i64>, StorageError> {
    let words = serde_json::to_string(words).map_err(|e| StorageError::Query(e.to_string()))?;
    let counts: Vec<WordCount> = sql_query(
        conn,
        "SELECT term, doc FROM memories_fts_vocab WHERE term IN (SELECT value FROM json_each(?))",
    )
    .bind::<Text, _>(words)
    .load(conn)?;
    let Some(plan) = plan(counts.into_iter().map(|c| (c.term, c.doc)).collect(), RANKED_MATCHES) else {
        return Ok(Vec::new());
    };
    let mut keys = match &plan.rare {
        Some(rare) => fts_query(conn, persona, rare, FtsOrder::Rank { from: None }, limit)?,
        None => Vec::new(),
    };
    if (keys.len() as i64) < limit {
        let from = if plan.bounded {
            let skip = RANKED_MATCHES - 1;
            fts_query(conn, persona, &plan.any, FtsOrder::Newest { skip }, 1)?
                .first()
                .copied()
        } else {
            None
        };
        let more = fts_query(
            conn,
            persona,
            &plan.any,
            FtsOrder::Rank { from },
            limit + keys.len() as i64,
        )?;
        for key in more {
            if keys.len() as i64 == limit {
                break;
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

/// The order of an FTS5 query's matches.
enum FtsOrder {
    /// By BM25, best first; only keys from `from` on when given.
    Rank { from: Option<i64> },
    /// Newest first, after skipping the `skip` newest.
    Newest { skip: i64 },
}

/// The keys of the memories (of `persona`, when given) matching the FTS5 query `query`, at most `limit`.
fn fts_query(
    conn: &mut AnyConn,
    persona: Option<Uuid>,
    query: &str,
    order: FtsOrder,
    limit: i64,
) -> Result<Vec<i64>, StorageError> {
    let filter = if persona.is_some() { "AND m.persona_id = ?" } else { "" };
    // `rank` is `bm25()`; FTS5 sorts by it (or by rowid) itself, and the join reads memories until the limit.
    let (from, order) = match order {
        FtsOrder::Rank { from } => (from, "memories_fts.rank LIMIT ?".to_string()),
        FtsOrder::Newest { skip } => (None, format!("memories_fts.rowid DESC LIMIT ? OFFSET {skip}")),
    };
    let floor = if from.is_some() {
        "AND memories_fts.rowid >= ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT m.key AS key FROM memories_fts JOIN memories m ON m.key = memories_fts.rowid \
         WHERE memories_fts MATCH ? {filter} {floor} ORDER BY {order}"
    );
    let query = sql_query(conn, &sql).bind::<Text, _>(query.to_string());
    let rows: Vec<KeyRow> = match (persona, from) {
        (Some(p), Some(from)) => query
            .bind::<Text, _>(p.to_string())
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(limit)
            .load(conn)?,
        (Some(p), None) => query
            .bind::<Text, _>(p.to_string())
            .bind::<BigInt, _>(limit)
            .load(conn)?,
        (None, Some(from)) => query.bind::<BigInt, _>(from).bind::<BigInt, _>(limit).load(conn)?,
        (None, None) => query.bind::<BigInt, _>(limit).load(conn)?,
    };
    Ok(rows.into_iter().map(|r| r.key).collect())
}

/// PostgreSQL: the `search` tsvector column (GIN indexed) ranked by `ts_rank_cd`; any of the words, none stemmed.
fn tsquery_search(
    conn: &mut AnyConn,
    persona: Option<Uuid>,
    words: &[String],
    limit: i64,
) -> Result<Vec<i64>, StorageError> {
    let filter = if persona.is_some() { "AND m.persona_id = ?" } else { "" };
    let sql = format!(
        "SELECT m.key AS key FROM memories m, to_tsquery('simple', ?) q \
         WHERE m.search @@ q {filter} ORDER BY ts_rank_cd(m.search, q) DESC, m.key LIMIT ?"
    );
    let query = sql_query(conn, &sql).bind::<Text, _>(words.join(" | "));
    let rows: Vec<KeyRow> = match persona {
        Some(p) => query
            .bind::<Text, _>(p.to_string())
            .bind::<BigInt, _>(limit)
            .load(conn)?,
        None => query.bind::<BigInt, _>(limit).load(conn)?,
    };
    Ok(rows.into_iter().map(|r| r.key).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_drops_stopwords_and_punctuation() {
        assert_eq!(
            search_words("the song she sang at the autumn fair"),
            ["autumn", "fair", "sang", "song"]
        );
        assert_eq!(search_words("a \"quoted\" OR-thing"), ["quoted", "thing"]);
        assert!(search_words("the a I").is_empty());
    }

    fn counts(words: &[(&str, i64)]) -> Vec<(String, i64)> {
        words.iter().map(|(w, n)| (w.to_string(), *n)).collect()
    }

    #[test]
    fn words_that_fit_the_cap_are_ranked_together_and_unknown_words_dropped() {
        let plan = plan(counts(&[("violin", 300), ("nowhere", 0), ("festival", 500)]), 1000);
        assert_eq!(
            plan,
            Some(Plan {
                rare: None,
                any: "\"violin\" OR \"festival\"".into(),
                bounded: false,
            })
        );
        assert_eq!(super::plan(counts(&[("nowhere", 0)]), 1000), None);
        assert_eq!(super::plan(Vec::new(), 1000), None);
    }

    #[test]
    fn past_the_cap_the_rarest_words_are_asked_first_and_the_rest_bounded() {
        let plan = plan(
            counts(&[("harbour", 1800), ("marcus", 3), ("storm", 1700), ("violin", 600)]),
            1000,
        )
        .expect("a plan");
        assert_eq!(
            plan.rare.as_deref(),
            Some("(\"marcus\" OR \"violin\") AND (\"marcus\" OR \"violin\" OR \"storm\" OR \"harbour\")")
        );
        assert!(plan.bounded);
    }

    #[test]
    fn a_single_word_past_the_cap_is_only_bounded() {
        let plan = plan(counts(&[("harbour", 1800), ("storm", 1700)]), 1000).expect("a plan");
        assert_eq!(plan.rare, None);
        assert_eq!(plan.any, "\"storm\" OR \"harbour\"");
        assert!(plan.bounded);
    }

    #[test]
    fn past_the_cap_rare_words_come_first_and_common_ones_fill_from_the_newest() {
        use crate::domain::memory::Memory;
        let (db, _dir, aria, kira) = crate::storage::sql::relationships::tests::aria_and_kira();
        let conn = &mut db.conn().expect("connection");
        let now = chrono::Utc::now();
        let mut memories = vec![
            Memory::new(aria, "Marcus sold me a lantern", "event", 0.5, now),
            Memory::new(aria, "Marcus waited at the harbour", "event", 0.5, now),
        ];
        let common = RANKED_MATCHES as usize + 100;
        memories
            .extend((0..common).map(|i| Memory::new(aria, format!("the harbour in the rain, {i}"), "event", 0.5, now)));
        memories.push(Memory::new(
            kira,
            "Marcus and the harbour, as Kira saw them",
            "event",
            0.5,
            now,
        ));
        let keys = super::super::memories::insert(conn, &memories).expect("stored");

        let found = keyword_search(conn, Some(aria), "Was Marcus at the harbour?", 10).expect("searched");
        assert_eq!(found.len(), 10);
        assert_eq!(
            found[..2],
            [keys[1], keys[0]],
            "the rare word's memories first, the one with both words ahead"
        );
        let harbour = &keys[2..2 + common];
        let newest = &harbour[common - RANKED_MATCHES as usize..];
        assert!(
            found[2..].iter().all(|k| newest.contains(k)),
            "the other places go to the newest matches of the common word: {found:?}"
        );
        assert!(
            !found.contains(&keys[keys.len() - 1]),
            "another persona's memory is not Aria's"
        );

        let everyone = keyword_search(conn, None, "Marcus harbour", 3).expect("searched");
        assert!(
            everyone.contains(&keys[keys.len() - 1]) && everyone.contains(&keys[1]),
            "{everyone:?}"
        );
    }
}
