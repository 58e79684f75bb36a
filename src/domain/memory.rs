//! Memories, who may see them, and how search hits are ranked.
//!
//! Every read path (search, cross-persona search, prompt assembly, admin listing, MCP resources) asks
//! [`can_see`] (or [`cross_persona_source`] for `memory.search_cross_persona`), so the visibility rule of
//! DOMAIN.md lives in one place. The reader is the persona the call acts as ([`Reader`]): the one it names, else
//! the connection's current persona; a call about one memory with neither is the operator's.
//!
//! Ranking in `memory.search`: the vector hits (over-fetched, then filtered by importance, type and
//! visibility) are ordered by [`rerank_score`]; the FTS5 keyword hits, filtered the same way, keep their
//! bm25 order; [`rrf_fuse`] merges both lists by reciprocal rank fusion and the first `n_results` are
//! answered.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// `memory_type` of the memory a chat turn leaves behind.
pub const MEMORY_TYPE_CONVERSATION: &str = "conversation";
/// Default `memory_type` of `memory.store`.
pub const MEMORY_TYPE_USER_INPUT: &str = "user_input";
/// `memory_type` of memories about a relationship; pruning never removes them.
pub const MEMORY_TYPE_RELATIONSHIP: &str = "relationship";

/// Weight of importance in [`rerank_score`] (DOMAIN.md: `similarity · (0.7 + 0.3·importance)`).
pub const RERANK_IMPORTANCE_WEIGHT: f64 = 0.3;
/// The `k` of reciprocal rank fusion: how much the first ranks outweigh the next. The usual 60 nearly flattens
/// the first ten; 5 lets a memory that one half (vector or keyword) ranks first beat one both halves rank
/// middling. Chosen on the LoCoMo benchmark (`make bench-memory-quality`): recall@10 0.616 → 0.680 on the dev
/// conversations, 0.660 → 0.683 on the held-out ones (2, 5, 10 and 20 measured too: 0.682, 0.680, 0.670, 0.639).
pub const RRF_K: f64 = 5.0;

/// Who may read a memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// The owner only (the default of `memory.store`).
    #[default]
    Private,
    /// The owner, the personas in `related_personas`, and the personas in a relationship with the owner.
    Shared,
    /// Every persona.
    Public,
}

/// `memory.stats` counts a memory as of high importance from here up.
pub const HIGH_IMPORTANCE_FROM: f64 = 0.7;
/// `memory.stats` counts a memory as of low importance below this.
pub const LOW_IMPORTANCE_BELOW: f64 = 0.4;

impl Visibility {
    /// Parses a wire name (case-insensitive, surrounding spaces ignored); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "private" => Self::Private,
            "shared" => Self::Shared,
            "public" => Self::Public,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Shared => "shared",
            Self::Public => "public",
        }
    }
}

/// One memory of a persona. Its embedding lives in the vector index, keyed by `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Memory {
    /// Stable identifier (also the vector index key).
    pub id: Uuid,
    /// The owner.
    pub persona_id: Uuid,
    /// The remembered text.
    pub content: String,
    /// conversation, user_input, event, relationship, observation, reflection… (open set).
    pub memory_type: String,
    /// Current importance 0..1, lowered by decay and `memory.decay_force`.
    pub importance: f64,
    /// Importance at creation; decay is computed from it so that it never compounds.
    pub base_importance: f64,
    /// −1..1.
    pub emotional_valence: f64,
    /// Other personas this memory is about or shared with.
    pub related_personas: Vec<Uuid>,
    /// Who may read it.
    pub visibility: Visibility,
    /// Free JSON given by the client.
    pub metadata: Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// How many times a search returned it.
    pub accessed_count: i64,
    /// When a search last returned it.
    pub last_accessed: Option<DateTime<Utc>>,
}

impl Memory {
    /// A fresh private memory with no relations, empty metadata and no accesses; `base_importance` =
    /// `importance`.
    pub fn new(
        persona_id: Uuid,
        content: impl Into<String>,
        memory_type: impl Into<String>,
        importance: f64,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            persona_id,
            content: content.into(),
            memory_type: memory_type.into(),
            importance,
            base_importance: importance,
            emotional_valence: 0.0,
            related_personas: Vec::new(),
            visibility: Visibility::Private,
            metadata: Value::Object(serde_json::Map::new()),
            created_at: now,
            accessed_count: 0,
            last_accessed: None,
        }
    }

    /// [`can_see`] applied to this memory.
    pub fn is_visible_to(&self, viewer: Uuid, viewer_has_relationship_with_owner: bool) -> bool {
        can_see(
            self.persona_id,
            self.visibility,
            &self.related_personas,
            viewer,
            viewer_has_relationship_with_owner,
        )
    }

    /// May `reader` read it through the API? The operator reads every memory; a persona what [`can_see`] grants
    /// it; `reader_has_relationship_with_owner` as in [`can_see`].
    pub fn is_readable_by(&self, reader: Reader, reader_has_relationship_with_owner: bool) -> bool {
        match reader {
            Reader::Operator => true,
            Reader::Persona(r) => self.is_visible_to(r, reader_has_relationship_with_owner),
        }
    }

    /// Shared with, or related to, a persona other than the owner (pruning protects such memories).
    pub fn involves_other_personas(&self) -> bool {
        self.visibility != Visibility::Private || self.related_personas.iter().any(|p| *p != self.persona_id)
    }

    /// Days from creation to `now` (0 for a creation time in the future).
    pub fn age_days(&self, now: DateTime<Utc>) -> f64 {
        days_between(self.created_at, now)
    }

    /// Days from the last access to `now`, `None` when never accessed.
    pub fn days_since_access(&self, now: DateTime<Utc>) -> Option<f64> {
        self.last_accessed.map(|t| days_between(t, now))
    }
}

/// Fractional days from `earlier` to `later`, 0 when `earlier` is in the future (clock skew).
pub fn days_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> f64 {
    const MS_PER_DAY: f64 = 86_400_000.0;
    ((later - earlier).num_milliseconds() as f64 / MS_PER_DAY).max(0.0)
}

/// Who a call reads memories as.
///
/// A call that names a persona (`persona_id`, else the connection's current persona) acts as that persona; a call
/// about one memory (`memory.get`, `memory.delete`, a `persona://{id}/memories` read) with neither is the
/// operator's, as in the admin scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// No persona acts: the API's operator, who reads every memory.
    Operator,
    /// The persona the call acts as: all of its own memories, and what [`can_see`] grants it of others'.
    Persona(Uuid),
}

impl Reader {
    /// The acting persona, if any.
    pub fn persona(self) -> Option<Uuid> {
        match self {
            Self::Operator => None,
            Self::Persona(p) => Some(p),
        }
    }
}

/// The visibility rule: may `viewer` read a memory owned by `memory_owner`?
///
/// private: the owner only. shared: the owner, the personas in `related_personas`, and the personas in a
/// relationship with the owner. public: every persona.
pub fn can_see(
    memory_owner: Uuid,
    visibility: Visibility,
    related_personas: &[Uuid],
    viewer: Uuid,
    viewer_has_relationship_with_owner: bool,
) -> bool {
    if viewer == memory_owner {
        return true;
    }
    match visibility {
        Visibility::Private => false,
        Visibility::Shared => viewer_has_relationship_with_owner || related_personas.contains(&viewer),
        Visibility::Public => true,
    }
}

/// The options of `memory.search_cross_persona`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossPersonaFilter {
    /// Hits below this importance are left out, the requester's own ones too.
    pub min_importance: f64,
    /// Include `shared` memories.
    pub include_shared: bool,
    /// Include `public` memories.
    pub include_public: bool,
}

impl Default for CrossPersonaFilter {
    /// PROTOCOL.md defaults: `min_importance = 0.6`, both kinds included.
    fn default() -> Self {
        Self {
            min_importance: 0.6,
            include_shared: true,
            include_public: true,
        }
    }
}

/// Where a cross-persona hit comes from (`source` in the result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemorySource {
    /// The requester's own shared or public memory.
    Own,
    /// Another persona's memory the requester may see.
    CrossPersona,
}

impl MemorySource {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::CrossPersona => "cross_persona",
        }
    }
}

/// Whether `memory` belongs in `requester`'s `memory.search_cross_persona` results, and as what.
///
/// Only `shared` / `public` memories, as the flags allow — never a private one, not even the requester's
/// own; the requester's own come back as [`MemorySource::Own`]; another persona's memory must also pass
/// [`can_see`]; `min_importance` applies to every hit.
pub fn cross_persona_source(
    memory: &Memory,
    requester: Uuid,
    requester_has_relationship_with_owner: bool,
    filter: &CrossPersonaFilter,
) -> Option<MemorySource> {
    let kind_wanted = match memory.visibility {
        Visibility::Private => false,
        Visibility::Shared => filter.include_shared,
        Visibility::Public => filter.include_public,
    };
    if !kind_wanted || memory.importance < filter.min_importance {
        return None;
    }
    if memory.persona_id == requester {
        Some(MemorySource::Own)
    } else if memory.is_visible_to(requester, requester_has_relationship_with_owner) {
        Some(MemorySource::CrossPersona)
    } else {
        None
    }
}

/// Relevance of a vector hit: `similarity · (0.7 + 0.3·importance)`. Importance moves a hit by at most
/// 30 %, so it decides between close matches without burying a clearly better one.
pub fn rerank_score(similarity: f64, importance: f64) -> f64 {
    similarity * ((1.0 - RERANK_IMPORTANCE_WEIGHT) + RERANK_IMPORTANCE_WEIGHT * importance)
}

/// One memory after [`rrf_fuse`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusedHit {
    /// The memory.
    pub id: Uuid,
    /// Σ 1/(k + rank) over the lists that hold the memory (ranks start at 1).
    pub score: f64,
    /// The cosine similarity from the vector search; `None` for a keyword-only hit.
    ///
    /// A keyword-only hit is a memory the vector search did not rank within its over-fetched list. The
    /// `similarity` reported for it is the cosine between the query embedding and the memory's own stored
    /// embedding, which the caller reads from the vector index by id; a memory whose embedding is not
    /// written yet reports 0.0. It is never borrowed from another hit.
    pub similarity: Option<f32>,
}

/// Reciprocal rank fusion of the vector hits (`(id, similarity)`, best first — the order of
/// [`rerank_score`]) and the keyword hits (ids, best first — the FTS5 bm25 order).
///
/// A memory's score is Σ 1/(k + rank) over both lists, ranks from 1, so a memory found by both comes
/// first and a memory found by one list alone still ranks (names and rare words the embedding misses).
/// An id repeated within one list counts at its best rank only. The result is ordered by score, best
/// first; equal scores keep the order of first appearance (vector hits before keyword-only hits).
/// `k` is usually [`RRF_K`].
pub fn rrf_fuse(vector_hits: &[(Uuid, f32)], keyword_hits: &[Uuid], k: f64) -> Vec<FusedHit> {
    let vector = vector_hits.iter().map(|(id, sim)| (*id, Some(*sim)));
    let keyword = keyword_hits.iter().map(|id| (*id, None));
    let mut fused: Vec<FusedHit> = Vec::with_capacity(vector_hits.len() + keyword_hits.len());
    let mut position: HashMap<Uuid, usize> = HashMap::with_capacity(fused.capacity());
    for list in [vector.collect::<Vec<_>>(), keyword.collect::<Vec<_>>()] {
        let mut seen_in_list = HashSet::with_capacity(list.len());
        for (rank, (id, similarity)) in (1_u32..).zip(list) {
            if !seen_in_list.insert(id) {
                continue;
            }
            let contribution = 1.0 / (k + f64::from(rank));
            match position.get(&id) {
                Some(&i) => {
                    fused[i].score += contribution;
                    fused[i].similarity = fused[i].similarity.or(similarity);
                }
                None => {
                    position.insert(id, fused.len());
                    fused.push(FusedHit {
                        id,
                        score: contribution,
                        similarity,
                    });
                }
            }
        }
    }
    // Stable sort: ties keep the order of first appearance.
    fused.sort_by(|a, b| b.score.total_cmp(&a.score));
    fused
}

/// A stored memory with its vector-index key.
#[derive(Debug, Clone)]
pub struct StoredMemory {
    /// The usearch key (the `memories.key` column: the rowid on SQLite, a sequence on PostgreSQL).
    pub key: i64,
    /// The memory.
    pub memory: Memory,
}

/// The memories of one persona, type and visibility, counted by storage.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryGroup {
    /// Owner.
    pub persona: Uuid,
    /// `memory_type`.
    pub memory_type: String,
    /// Who may read them.
    pub visibility: Visibility,
    /// How many.
    pub count: usize,
    /// Their importances added up.
    pub importance_sum: f64,
    /// How many have an importance of at least [`HIGH_IMPORTANCE_FROM`].
    pub high: usize,
    /// How many have an importance below [`LOW_IMPORTANCE_BELOW`].
    pub low: usize,
    /// How many were created on the day asked about (UTC).
    pub created_on_day: usize,
    /// How many name related personas.
    pub cross_referenced: usize,
}

/// One pruning run, for statistics.
#[derive(Debug, Clone)]
pub struct PruneRun {
    /// The persona pruned.
    pub persona_id: String,
    /// When.
    pub ran_at: DateTime<Utc>,
    /// Count before.
    pub memories_before: i64,
    /// Count after.
    pub memories_after: i64,
    /// Mean importance of what was removed.
    pub average_importance_pruned: f64,
    /// Seconds it took.
    pub processing_time: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).single().expect("valid date")
    }

    const OWNER: u128 = 1;
    const RELATED: u128 = 2;
    const FRIEND: u128 = 3;
    const STRANGER: u128 = 4;

    fn memory(visibility: Visibility, importance: f64) -> Memory {
        let mut m = Memory::new(id(OWNER), "we sang by the fire", "event", importance, t0());
        m.visibility = visibility;
        m.related_personas = vec![id(RELATED)];
        m
    }

    #[test]
    fn visibility_parses_and_prints_wire_names() {
        for v in [Visibility::Private, Visibility::Shared, Visibility::Public] {
            assert_eq!(Visibility::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).expect("serialises"),
                Value::String(v.as_str().to_owned())
            );
        }
        assert_eq!(Visibility::parse(" Shared "), Some(Visibility::Shared));
        assert_eq!(Visibility::parse("secret"), None);
        assert_eq!(Visibility::default(), Visibility::Private);
        let parsed: Visibility = serde_json::from_str("\"public\"").expect("deserialises");
        assert_eq!(parsed, Visibility::Public);
    }

    /// `can_see` for a memory of OWNER related to RELATED; FRIEND has a relationship with OWNER.
    fn sees(visibility: Visibility, viewer: u128) -> bool {
        can_see(id(OWNER), visibility, &[id(RELATED)], id(viewer), viewer == FRIEND)
    }

    #[test]
    fn private_is_for_the_owner_only() {
        assert!(sees(Visibility::Private, OWNER));
        assert!(!sees(Visibility::Private, RELATED));
        assert!(!sees(Visibility::Private, FRIEND));
        assert!(!sees(Visibility::Private, STRANGER));
    }

    #[test]
    fn shared_is_for_owner_related_and_relationships() {
        assert!(sees(Visibility::Shared, OWNER));
        assert!(sees(Visibility::Shared, RELATED));
        assert!(sees(Visibility::Shared, FRIEND));
        assert!(!sees(Visibility::Shared, STRANGER));
        assert!(!can_see(id(OWNER), Visibility::Shared, &[], id(RELATED), false));
    }

    #[test]
    fn public_is_for_everyone() {
        for viewer in [OWNER, RELATED, FRIEND, STRANGER] {
            assert!(sees(Visibility::Public, viewer));
        }
    }

    #[test]
    fn the_operator_reads_everything_a_persona_what_it_may_see() {
        for (visibility, friend_reads, stranger_reads) in [
            (Visibility::Private, false, false),
            (Visibility::Shared, true, false),
            (Visibility::Public, true, true),
        ] {
            let m = memory(visibility, 0.5);
            assert!(
                m.is_readable_by(Reader::Operator, false),
                "the operator reads {visibility:?}"
            );
            assert!(
                m.is_readable_by(Reader::Persona(id(OWNER)), false),
                "the owner reads {visibility:?}"
            );
            assert_eq!(
                m.is_readable_by(Reader::Persona(id(FRIEND)), true),
                friend_reads,
                "{visibility:?}"
            );
            assert_eq!(
                m.is_readable_by(Reader::Persona(id(STRANGER)), false),
                stranger_reads,
                "{visibility:?}"
            );
        }
        assert_eq!(Reader::Operator.persona(), None);
        assert_eq!(Reader::Persona(id(OWNER)).persona(), Some(id(OWNER)));
    }

    #[test]
    fn memory_method_matches_free_function() {
        let m = memory(Visibility::Shared, 0.5);
        assert!(m.is_visible_to(id(RELATED), false));
        assert!(!m.is_visible_to(id(STRANGER), false));
        assert!(m.is_visible_to(id(STRANGER), true));
    }

    #[test]
    fn new_memory_defaults() {
        let m = Memory::new(id(OWNER), "hello", MEMORY_TYPE_USER_INPUT, 0.42, t0());
        assert_eq!(m.base_importance, 0.42);
        assert_eq!(m.visibility, Visibility::Private);
        assert_eq!(m.accessed_count, 0);
        assert_eq!(m.last_accessed, None);
        assert_eq!(m.metadata, serde_json::json!({}));
        assert!(!m.involves_other_personas());
    }

    #[test]
    fn involves_other_personas_when_shared_or_related() {
        let mut m = Memory::new(id(OWNER), "x", MEMORY_TYPE_CONVERSATION, 0.5, t0());
        m.related_personas = vec![id(OWNER)];
        assert!(!m.involves_other_personas(), "relating to oneself is not sharing");
        m.related_personas = vec![id(RELATED)];
        assert!(m.involves_other_personas());
        m.related_personas.clear();
        m.visibility = Visibility::Public;
        assert!(m.involves_other_personas());
    }

    #[test]
    fn ages_in_days() {
        let mut m = Memory::new(id(OWNER), "x", MEMORY_TYPE_CONVERSATION, 0.5, t0());
        assert_eq!(m.age_days(t0() + Duration::hours(36)), 1.5);
        assert_eq!(m.age_days(t0() - Duration::days(2)), 0.0, "future creation clamps");
        assert_eq!(m.days_since_access(t0()), None);
        m.last_accessed = Some(t0() + Duration::days(3));
        assert_eq!(m.days_since_access(t0() + Duration::days(10)), Some(7.0));
    }

    #[test]
    fn memory_round_trips_through_json() {
        let m = memory(Visibility::Shared, 0.7);
        let json = serde_json::to_value(&m).expect("serialises");
        assert_eq!(json["visibility"], "shared");
        let back: Memory = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, m);
    }

    #[test]
    fn cross_persona_never_returns_private() {
        let f = CrossPersonaFilter::default();
        let m = memory(Visibility::Private, 0.9);
        assert_eq!(cross_persona_source(&m, id(OWNER), false, &f), None);
        assert_eq!(cross_persona_source(&m, id(RELATED), true, &f), None);
    }

    #[test]
    fn cross_persona_marks_own_and_others() {
        let f = CrossPersonaFilter::default();
        let shared = memory(Visibility::Shared, 0.7);
        assert_eq!(
            cross_persona_source(&shared, id(OWNER), false, &f),
            Some(MemorySource::Own)
        );
        assert_eq!(
            cross_persona_source(&shared, id(RELATED), false, &f),
            Some(MemorySource::CrossPersona)
        );
        assert_eq!(
            cross_persona_source(&shared, id(FRIEND), true, &f),
            Some(MemorySource::CrossPersona)
        );
        assert_eq!(cross_persona_source(&shared, id(STRANGER), false, &f), None);
        let public = memory(Visibility::Public, 0.7);
        assert_eq!(
            cross_persona_source(&public, id(STRANGER), false, &f),
            Some(MemorySource::CrossPersona)
        );
    }

    #[test]
    fn cross_persona_honours_flags() {
        let shared = memory(Visibility::Shared, 0.7);
        let public = memory(Visibility::Public, 0.7);
        let no_shared = CrossPersonaFilter {
            include_shared: false,
            ..CrossPersonaFilter::default()
        };
        assert_eq!(cross_persona_source(&shared, id(OWNER), false, &no_shared), None);
        assert_eq!(cross_persona_source(&shared, id(RELATED), false, &no_shared), None);
        assert!(cross_persona_source(&public, id(RELATED), false, &no_shared).is_some());
        let no_public = CrossPersonaFilter {
            include_public: false,
            ..CrossPersonaFilter::default()
        };
        assert_eq!(cross_persona_source(&public, id(OWNER), false, &no_public), None);
        assert_eq!(cross_persona_source(&public, id(STRANGER), false, &no_public), None);
        assert!(cross_persona_source(&shared, id(RELATED), false, &no_public).is_some());
    }

    #[test]
    fn cross_persona_min_importance_applies_to_own_too() {
        let f = CrossPersonaFilter::default();
        let low = memory(Visibility::Public, 0.59);
        assert_eq!(cross_persona_source(&low, id(OWNER), false, &f), None);
        assert_eq!(cross_persona_source(&low, id(STRANGER), false, &f), None);
        let at = memory(Visibility::Public, 0.6);
        assert_eq!(cross_persona_source(&at, id(OWNER), false, &f), Some(MemorySource::Own));
    }

    #[test]
    fn memory_source_wire_names() {
        for s in [MemorySource::Own, MemorySource::CrossPersona] {
            assert_eq!(
                serde_json::to_value(s).expect("serialises"),
                Value::String(s.as_str().to_owned())
            );
        }
    }

    #[test]
    fn rerank_weights_importance() {
        assert!((rerank_score(0.8, 1.0) - 0.8).abs() < 1e-12);
        assert!((rerank_score(0.8, 0.0) - 0.56).abs() < 1e-12);
        assert!((rerank_score(0.5, 0.5) - 0.425).abs() < 1e-12);
        // A clearly better match beats a slightly more important one…
        assert!(rerank_score(0.9, 0.2) > rerank_score(0.6, 0.9));
        // …but importance decides between close matches.
        assert!(rerank_score(0.70, 0.9) > rerank_score(0.72, 0.3));
    }

    #[test]
    fn rrf_scores_by_rank() {
        let (a, b, c, d) = (id(10), id(11), id(12), id(13));
        let fused = rrf_fuse(&[(a, 0.9), (b, 0.8), (c, 0.7)], &[c, d], 60.0);
        let ids: Vec<Uuid> = fused.iter().map(|h| h.id).collect();
        // With k = 60, c: 1/63 + 1/61, a: 1/61, d: 1/62, b: 1/62 (b first: vector hits come first on ties).
        assert_eq!(ids, vec![c, a, b, d]);
        assert!((fused[0].score - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-12);
        assert!((fused[1].score - 1.0 / 61.0).abs() < 1e-12);
        assert!((fused[2].score - 1.0 / 62.0).abs() < 1e-12);
        assert!((fused[3].score - 1.0 / 62.0).abs() < 1e-12);
        assert_eq!(fused[0].similarity, Some(0.7));
        assert_eq!(fused[3].similarity, None, "keyword-only hit");
    }

    #[test]
    fn rrf_with_one_empty_list_keeps_the_other_order() {
        let (a, b) = (id(20), id(21));
        let v = rrf_fuse(&[(a, 0.5), (b, 0.4)], &[], RRF_K);
        assert_eq!(v.iter().map(|h| h.id).collect::<Vec<_>>(), vec![a, b]);
        let k = rrf_fuse(&[], &[b, a], RRF_K);
        assert_eq!(k.iter().map(|h| h.id).collect::<Vec<_>>(), vec![b, a]);
        assert!(k.iter().all(|h| h.similarity.is_none()));
        assert!(rrf_fuse(&[], &[], RRF_K).is_empty());
    }

    #[test]
    fn rrf_counts_a_repeated_id_once_per_list() {
        let a = id(30);
        let fused = rrf_fuse(&[(a, 0.9), (a, 0.1)], &[a, a], 1.0);
        assert_eq!(fused.len(), 1);
        assert!((fused[0].score - 1.0).abs() < 1e-12, "1/(1+1) + 1/(1+1)");
        assert_eq!(fused[0].similarity, Some(0.9));
    }
}
