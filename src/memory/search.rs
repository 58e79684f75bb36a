//! Hybrid search: vector hits (re-ranked by importance) and FTS5 keyword hits, fused by reciprocal rank, then
//! filtered by importance, type and visibility.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::MemoryService;
use crate::domain::memory::StoredMemory;
use crate::domain::memory::{
    cross_persona_source, rerank_score, rrf_fuse, CrossPersonaFilter, Memory, MemorySource, RRF_K,
};
use crate::embed::cache::{embed_query_by, Timely};
use crate::error::AppError;
use crate::storage::SearchRows;

/// A search within one persona's memories.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Whose memories.
    pub persona: Uuid,
    /// The persona that reads them: the owner itself (all of its memories, private ones included), or another
    /// persona, which finds only what DOMAIN.md's visibility rule grants it.
    pub reader: Uuid,
    /// Free text.
    pub query: String,
    /// How many hits.
    pub n_results: usize,
    /// Lowest importance returned.
    pub min_importance: f64,
    /// Only this type.
    pub memory_type: Option<String>,
    /// Count the hits as accesses (client searches do; prompt retrieval does not).
    pub touch: bool,
    /// How long the vector half may wait for the query's embedding; past it the keyword hits answer alone and the
    /// similarity of keyword-only hits is left at 0 (a chat turn's recall). `None`: wait, and fill similarities.
    pub deadline: Option<Duration>,
}

/// A search hit.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Row key.
    pub key: i64,
    /// The memory (access count as stored before this search).
    pub memory: Memory,
    /// Cosine similarity to the query (0 when no vector is known).
    pub similarity: f64,
    /// Fused relevance (higher first).
    pub score: f64,
}

/// A cross-persona hit.
#[derive(Debug, Clone)]
pub struct CrossHit {
    /// The hit.
    pub hit: Hit,
    /// Own or another persona's.
    pub source: MemorySource,
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        f64::from(dot / (na * nb))
    }
}

/// Candidates from both searches, before filtering.
struct Candidates {
    query_vector: Option<Vec<f32>>,
    vector_hits: Vec<(i64, f32)>,
    keyword_keys: Vec<i64>,
    rows: HashMap<i64, StoredMemory>,
}

impl MemoryService {
    async fn embed_query(&self, query: &str) -> Option<Vec<f32>> {
        let embedder = self.embedder.as_ref()?;
        match embedder.embed_query(query).await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "embedding the query failed; searching by keywords only");
                None
            }
        }
    }

    /// The query's vector within `deadline`, or `None`: late (the embedding goes on without us and lands in the
    /// embedder's cache of recent queries, for the turn's threading step and a repeat of the same words), not
    /// started because the queries queued ahead would have missed the deadline too, or failed.
    async fn embed_query_within(&self, query: &str, deadline: Duration) -> Option<Vec<f32>> {
        let embedder = self.embedder.as_ref()?;
        match embed_query_by(embedder, query, Instant::now() + deadline).await {
            Timely::Ready(vector) => Some(vector),
            Timely::Late => {
                self.metrics.recall_vector_late.inc();
                None
            }
            Timely::Shed => {
                self.metrics.recall_vector_shed.inc();
                None
            }
            Timely::Failed => None,
        }
    }

    async fn candidates(
        &self,
        personas: &[Uuid],
        keyword_scope: Option<Uuid>,
        query: &str,
        fetch: usize,
        deadline: Option<Duration>,
    ) -> Result<Candidates, AppError> {
        // The vector half (the query's embedding, the index search, the rows of its hits) and the keyword half (the
        // FTS query and the rows of its hits) run side by side, each with its own storage trip.
        let vector_half = async {
            let query_vector = match deadline {
                Some(deadline) => self.embed_query_within(query, deadline).await,
                None => self.embed_query(query).await,
            };
            let mut hits = Vec::new();
            if let (Some(v), Some(vectors)) = (&query_vector, &self.vectors) {
                for persona in personas {
                    match vectors.search(*persona, v, fetch) {
                        Ok(found) => hits.extend(found.into_iter().map(|(k, s)| (k as i64, s))),
                        Err(e) => tracing::warn!(%persona, error = %e, "vector search failed"),
                    }
                }
            }
            let keys: Vec<i64> = hits.iter().map(|(k, _)| *k).collect();
            let rows = if keys.is_empty() {
                Vec::new()
            } else {
                self.store.memories().by_keys(keys).await?
            };
            Ok::<_, AppError>((query_vector, hits, rows))
        };
        let memories = self.store.memories();
        let keyword = memories.search_rows(keyword_scope, query.to_string(), fetch as i64);
        let (vector_half, keyword) = tokio::join!(vector_half, keyword);
        let (query_vector, vector_hits, vector_rows) = vector_half?;
        let SearchRows { keyword_keys, rows } = keyword?;
        let rows: HashMap<i64, StoredMemory> = rows.into_iter().chain(vector_rows).map(|s| (s.key, s)).collect();
        Ok(Candidates {
            query_vector,
            vector_hits,
            keyword_keys,
            rows,
        })
    }

    /// Fuses the candidates that pass `keep`, best first, at most `n`; with `similarities`, keyword-only hits get
    /// the cosine of their stored vector (one more trip to storage).
    async fn rank(
        &self,
        c: Candidates,
        n: usize,
        similarities: bool,
        keep: impl Fn(&Memory) -> bool,
    ) -> Result<Vec<Hit>, AppError> {
        let ids: HashMap<Uuid, i64> = c.rows.iter().map(|(k, s)| (s.memory.id, *k)).collect();
        let passing = |key: &i64| c.rows.get(key).filter(|s| keep(&s.memory));
        let mut vector: Vec<(Uuid, f32, f64)> = c
            .vector_hits
            .iter()
            .filter_map(|(k, sim)| {
                passing(k).map(|s| (s.memory.id, *sim, rerank_score(f64::from(*sim), s.memory.importance)))
            })
            .collect();
        vector.sort_by(|a, b| b.2.total_cmp(&a.2));
        let vector: Vec<(Uuid, f32)> = vector.into_iter().map(|(id, sim, _)| (id, sim)).collect();
        let keyword: Vec<Uuid> = c
            .keyword_keys
            .iter()
            .filter_map(|k| passing(k).map(|s| s.memory.id))
            .collect();
        let fused: Vec<_> = rrf_fuse(&vector, &keyword, RRF_K).into_iter().take(n).collect();
        let missing: Vec<i64> = fused
            .iter()
            .filter(|f| f.similarity.is_none())
            .map(|f| ids[&f.id])
            .collect();
        let stored = match (&c.query_vector, missing.is_empty()) {
            (Some(_), false) if similarities => self.store.memories().embeddings(missing).await?,
            _ => Vec::new(),
        };
        let stored: HashMap<i64, Vec<f32>> = stored.into_iter().collect();
        Ok(fused
            .into_iter()
            .map(|f| {
                let key = ids[&f.id];
                let similarity = match (f.similarity, &c.query_vector, stored.get(&key)) {
                    (Some(s), _, _) => f64::from(s),
                    (None, Some(q), Some(v)) => cosine(q, v),
                    _ => 0.0,
                };
                Hit {
                    key,
                    memory: c.rows[&key].memory.clone(),
                    similarity: (similarity * 10_000.0).round() / 10_000.0,
                    score: f.score,
                }
            })
            .collect())
    }

    async fn touch(&self, hits: &[Hit]) -> Result<(), AppError> {
        let keys: Vec<i64> = hits.iter().map(|h| h.key).collect();
        self.store.memories().touch(keys, chrono::Utc::now()).await?;
        Ok(())
    }

    /// Searches one persona's memories, those the reader may see.
    pub async fn search(&self, q: SearchQuery) -> Result<Vec<Hit>, AppError> {
        Ok(self.search_by(q).await?.0)
    }

    /// A chat turn's recall: [`Self::search`] under `memory.recall_deadline_ms`, timed into the
    /// `memory_recall_seconds` histogram by the path it took.
    pub async fn recall(&self, q: SearchQuery) -> Result<Vec<Hit>, AppError> {
        let started = Instant::now();
        let q = SearchQuery {
            deadline: Some(Duration::from_millis(self.settings().recall_deadline_ms)),
            ..q
        };
        let (hits, hybrid) = self.search_by(q).await?;
        self.metrics.recall(hybrid).observe(started.elapsed().as_secs_f64());
        Ok(hits)
    }

    /// The hits, and whether the vector half took part.
    async fn search_by(&self, q: SearchQuery) -> Result<(Vec<Hit>, bool), AppError> {
        let related = self.related(Some(q.reader), q.persona).await?;
        let fetch = (q.n_results * 4).max(40);
        let c = self
            .candidates(&[q.persona], Some(q.persona), &q.query, fetch, q.deadline)
            .await?;
        let hybrid = c.query_vector.is_some();
        let keep = |m: &Memory| {
            m.persona_id == q.persona
                && m.is_visible_to(q.reader, related)
                && m.importance >= q.min_importance
                && q.memory_type.as_deref().is_none_or(|t| m.memory_type == t)
        };
        let hits = self.rank(c, q.n_results, q.deadline.is_none(), keep).await?;
        if q.touch {
            self.touch(&hits).await?;
        }
        Ok((hits, hybrid))
    }

    /// Searches the shared and public memories `requester` (the persona the call acts as) may see, its own
    /// included (never a private one).
    pub async fn search_cross_persona(
        &self,
        requester: Uuid,
        personas: &[Uuid],
        query: &str,
        n_results: usize,
        filter: CrossPersonaFilter,
    ) -> Result<Vec<CrossHit>, AppError> {
        let related: HashSet<Uuid> = self.relations(requester).await?;
        let fetch = (n_results * 4).max(40);
        let c = self.candidates(personas, None, query, fetch, None).await?;
        let source = |m: &Memory| cross_persona_source(m, requester, related.contains(&m.persona_id), &filter);
        let hits = self.rank(c, n_results, true, |m| source(m).is_some()).await?;
        self.touch(&hits).await?;
        Ok(hits
            .into_iter()
            .filter_map(|hit| source(&hit.memory).map(|source| CrossHit { hit, source }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::cosine;

    #[test]
    fn cosine_of_parallel_orthogonal_and_zero_vectors() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-9);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-9);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }
}
