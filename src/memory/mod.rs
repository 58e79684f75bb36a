//! Long-term memory: storing (SQL first, then the vector), hybrid search, visibility, statistics, pruning and
//! decay. SQLite is the source of truth; the per-persona usearch indexes are rebuilt from it when needed.

mod hook;
mod maintenance;
mod queue;
pub mod reindex;
mod restore;
mod search;
mod sync;
mod telemetry;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::oneshot;
use uuid::Uuid;

pub use hook::MemoryHook;
pub use maintenance::{
    DecayCycle, ImportanceDistribution, MemoryStats, MostShared, PersonaDecay, PersonaShare, PruneOutcome, PruneTotals,
    SharedStats,
};
pub use queue::{EmbedJob, EmbedQueue};
pub use search::{CrossHit, Hit, SearchQuery};
pub use telemetry::MemoryMetrics;

use crate::config::{EmbedderPrecision, MemorySettings};
use crate::domain::decay::DecayConfig;
use crate::domain::importance::{self, ImportanceInput, ImportanceWeights};
use crate::domain::memory::StoredMemory;
use crate::domain::memory::{Memory, Reader};
use crate::domain::persona::Persona;
use crate::domain::pruning::PruneConfig;
use crate::embed::Embedder;
use crate::error::AppError;
use crate::live::LiveSettings;
use crate::metrics::Metrics;
use crate::storage::vectors::VectorStore;
use crate::storage::{StorageError, Store};

/// The memory layer.
pub struct MemoryService {
    store: Store,
    embedder: Option<Arc<dyn Embedder>>,
    vectors: Option<Arc<VectorStore>>,
    queue: Option<EmbedQueue>,
    metrics: MemoryMetrics,
    settings: LiveSettings,
    decay: DecayConfig,
    /// The end of the vector change log when the indexes were checked (where [`MemoryService::start_sync`]
    /// starts following it).
    log_end: i64,
}

/// Why the memory layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum MemoryStartError {
    /// The index was made by another embedder, or is unreadable as a whole.
    #[error("{0}")]
    Index(String),
    /// Reading the database failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

impl MemoryService {
    /// Opens the vector indexes beside the database and makes them agree with it: an index that is missing,
    /// stale or corrupt is rebuilt from the stored vectors (with a log line per persona). Rows without a vector
    /// are embedded later by [`MemoryService::embed_pending`].
    pub fn open(
        store: Store,
        embedder: Option<Arc<dyn Embedder>>,
        index_dir: &Path,
        settings: LiveSettings,
    ) -> Result<Self, MemoryStartError> {
        let vectors = match &embedder {
            Some(e) => {
                let index = VectorStore::open(index_dir, e.name(), e.dimension())
                    .map_err(|err| MemoryStartError::Index(err.to_string()))?;
                Some(Arc::new(index))
            }
            None => None,
        };
        let log_end = store.vector_changes().last_seq_now()?;
        let service = Self {
            store,
            embedder,
            vectors,
            queue: None,
            metrics: MemoryMetrics::new(),
            settings,
            decay: DecayConfig::default(),
            log_end,
        };
        service.check_indexes()?;
        Ok(service)
    }

    /// Starts the embedding queue (needs a running async runtime) and adds the memory metrics to `metrics`.
    pub fn start_queue(&mut self, batch_size: usize, metrics: &Metrics) {
        for collector in self.metrics.collectors() {
            if let Err(e) = metrics.register(collector) {
                tracing::warn!(error = %e, "memory metrics are not exported");
            }
        }
        if let (Some(e), Some(v)) = (&self.embedder, &self.vectors) {
            self.queue = Some(EmbedQueue::start(
                self.store.clone(),
                e.clone(),
                v.clone(),
                batch_size,
                self.settings().embed_backlog,
                self.metrics.clone(),
            ));
        }
    }

    /// Memories waiting for their vector in the background (0 without an embedder).
    pub fn embed_backlog(&self) -> usize {
        self.queue.as_ref().map_or(0, EmbedQueue::backlog)
    }

    /// Rebuilds every index that disagrees with the database.
    fn check_indexes(&self) -> Result<(), MemoryStartError> {
        match (&self.embedder, &self.vectors) {
            (Some(embedder), Some(vectors)) => reconcile(&self.store, vectors, embedder.name()),
            _ => Ok(()),
        }
    }

    /// Follows the vectors other processes on the same database store and remove, every `period` (see
    /// [`sync`]); needs a running async runtime.
    pub fn start_sync(&self, period: std::time::Duration) {
        if let (Some(embedder), Some(vectors)) = (&self.embedder, &self.vectors) {
            let name = embedder.name().to_string();
            sync::IndexSync::spawn(self.store.clone(), vectors.clone(), name, self.log_end, period);
        }
    }

    /// Queues every row that lacks a vector from the current embedder (new after a crash, or after a change
    /// of embedder); answers how many.
    pub async fn embed_pending(&self) -> Result<usize, AppError> {
        let (Some(embedder), Some(queue)) = (&self.embedder, &self.queue) else {
            return Ok(0);
        };
        let name = embedder.name().to_string();
        let pending = self.store.memories().unembedded(name, i64::MAX).await?;
        let n = pending.len();
        if n > 0 {
            tracing::info!(count = n, "embedding memories that have no vector yet");
        }
        queue.submit(
            pending
                .into_iter()
                .map(|(key, persona, content)| EmbedJob {
                    key,
                    persona,
                    content,
                    done: None,
                })
                .collect(),
        );
        Ok(n)
    }

    /// The configured numbers.
    pub fn settings(&self) -> MemorySettings {
        self.settings.current().memory.clone()
    }

    /// The pruning numbers in force.
    fn prune_config(&self) -> PruneConfig {
        let s = self.settings();
        PruneConfig {
            pruning_threshold: s.pruning_threshold,
            min_safe_count: s.min_safe_count,
            max_prune_percent: s.max_prune_percent,
            auto_prune_threshold: s.auto_prune_threshold,
            auto_prune_below: s.auto_prune_below,
            ..PruneConfig::default()
        }
    }

    /// Starts embedding a chat message for its turn's recall as the request arrives; the recall (and the topic
    /// threading after it) join that computation instead of starting their own.
    pub fn prepare_recall(&self, message: &str) {
        if let Some(embedder) = &self.embedder {
            let within = std::time::Duration::from_millis(self.settings().recall_deadline_ms);
            crate::embed::cache::embed_query_ahead(embedder, message, within);
        }
    }

    /// The embedder's name, if any.
    pub fn embedder_name(&self) -> Option<&str> {
        self.embedder.as_deref().map(|e| e.name())
    }

    /// The arithmetic of an embedder run in process (`embedder.precision`), if any.
    pub fn embedder_precision(&self) -> Option<EmbedderPrecision> {
        self.embedder.as_deref().and_then(|e| e.precision())
    }

    /// Stores memories (one transaction). With `wait`, answers once they are embedded and indexed; otherwise
    /// as soon as they are in SQLite (keyword search finds them at once, vector search shortly after).
    pub async fn store(&self, new: Vec<Memory>, wait: bool) -> Result<Vec<StoredMemory>, AppError> {
        let stored = self.store.memories().insert(new).await?;
        if let Some(queue) = &self.queue {
            let mut waits = Vec::new();
            let jobs = stored
                .iter()
                .map(|s| {
                    let done = wait.then(|| {
                        let (tx, rx) = oneshot::channel();
                        waits.push(rx);
                        tx
                    });
                    EmbedJob {
                        key: s.key,
                        persona: s.memory.persona_id,
                        content: s.memory.content.clone(),
                        done,
                    }
                })
                .collect();
            queue.submit(jobs);
            for w in waits {
                let _ = w.await;
            }
        }
        Ok(stored)
    }

    /// Replaces a memory's content and answers once its new vector is indexed (keyword search sees the new text
    /// at once); false when the memory is gone.
    pub async fn edit_content(&self, stored: &StoredMemory, content: String) -> Result<bool, AppError> {
        if !self.store.memories().edit_content(stored.key, content.clone()).await? {
            return Ok(false);
        }
        if let Some(queue) = &self.queue {
            let (done, wait) = oneshot::channel();
            let job = EmbedJob {
                key: stored.key,
                persona: stored.memory.persona_id,
                content,
                done: Some(done),
            };
            if queue.submit(vec![job]) {
                let _ = wait.await;
            }
        }
        Ok(true)
    }

    /// One memory.
    pub async fn get(&self, id: Uuid) -> Result<Option<StoredMemory>, AppError> {
        Ok(self.store.memories().get(id).await?)
    }

    /// Removes memories from storage and the index together; answers how many rows went (those already gone
    /// count for nothing).
    pub async fn remove(&self, doomed: &[StoredMemory]) -> Result<usize, AppError> {
        let keys: Vec<i64> = doomed.iter().map(|s| s.key).collect();
        let n = self.store.memories().delete(keys).await?;
        if let Some(vectors) = self.vectors.as_ref().filter(|_| n > 0) {
            let mut by_persona: std::collections::HashMap<Uuid, Vec<u64>> = Default::default();
            for s in doomed {
                by_persona.entry(s.memory.persona_id).or_default().push(s.key as u64);
            }
            for (persona, keys) in by_persona {
                if let Err(e) = vectors.remove(persona, &keys) {
                    tracing::warn!(%persona, error = %e, "removing vectors failed; the start-up check will rebuild");
                }
            }
        }
        Ok(n)
    }

    /// Forgets a deleted persona's index.
    pub fn drop_persona(&self, persona: Uuid) {
        if let Some(vectors) = &self.vectors {
            if let Err(e) = vectors.drop_persona(persona) {
                tracing::warn!(%persona, error = %e, "dropping the memory index failed");
            }
        }
    }

    /// Writes changed indexes to disk (atomic per file).
    pub async fn save_indexes(&self) {
        if let Some(vectors) = self.vectors.clone() {
            let res = tokio::task::spawn_blocking(move || vectors.save_all()).await;
            if let Ok(Err(e)) = res {
                tracing::warn!(error = %e, "saving memory indexes failed");
            }
        }
    }

    /// Whether `reader` has a relationship with `owner` (false for no reader and for the owner itself).
    pub async fn related(&self, reader: Option<Uuid>, owner: Uuid) -> Result<bool, AppError> {
        match reader {
            Some(r) if r != owner => Ok(self.store.relationships().exists(r, owner).await?),
            _ => Ok(false),
        }
    }

    /// The newest memories of `owner` that `reader` may read (see [`Memory::is_readable_by`]), at most `limit`,
    /// and how many it may read in all.
    pub async fn newest_readable(
        &self,
        owner: Uuid,
        reader: Reader,
        limit: usize,
    ) -> Result<(Vec<Memory>, usize), AppError> {
        let related = self.related(reader.persona(), owner).await?;
        let stored = self.store.memories().all(Some(owner)).await?;
        let mut readable: Vec<Memory> = stored
            .into_iter()
            .map(|s| s.memory)
            .filter(|m| m.is_readable_by(reader, related))
            .collect();
        readable.sort_by_key(|m| std::cmp::Reverse(m.created_at));
        let total = readable.len();
        readable.truncate(limit);
        Ok((readable, total))
    }

    /// Personas `viewer` has a relationship with.
    async fn relations(&self, viewer: Uuid) -> Result<HashSet<Uuid>, AppError> {
        Ok(self
            .store
            .relationships()
            .related_to(viewer)
            .await?
            .into_iter()
            .collect())
    }

    /// The importance `memory.store` gives a new memory of `owner` with `importance: "auto"`: the scorer's total,
    /// with the strongest relationship between the owner and the `related` personas.
    pub async fn auto_importance(&self, owner: &Persona, content: &str, related: &[Uuid]) -> Result<f64, AppError> {
        let found = self.store.relationships().between(owner.id, related.to_vec()).await?;
        let strength = found.iter().map(|r| r.strength().abs()).fold(0.0, f64::max);
        let input = ImportanceInput {
            speaker: Some(owner),
            relationship_strength: strength,
            ..ImportanceInput::new(content)
        };
        Ok(importance::score(&input, &ImportanceWeights::default()).total)
    }
}

/// Rebuilds every index of `vectors` that disagrees with the vectors `embedder` stored in the database (missing,
/// stale or corrupt), on the calling thread.
fn reconcile(store: &Store, vectors: &VectorStore, embedder: &str) -> Result<(), MemoryStartError> {
    let corrupt: HashSet<Uuid> = vectors.corrupt().into_iter().collect();
    store.memories().each_persona_vectors(embedder, |persona, stored| {
        let keys: Vec<u64> = stored.iter().map(|(k, _)| *k as u64).collect();
        let stale = vectors.len(persona) != keys.len() || !vectors.missing_keys(persona, &keys).is_empty();
        if corrupt.contains(&persona) || stale {
            tracing::info!(%persona, vectors = keys.len(), "rebuilding memory index from the database");
            vectors
                .rebuild(persona, stored.into_iter().map(|(k, v)| (k as u64, v)))
                .map_err(|e| MemoryStartError::Index(e.to_string()))?;
        }
        Ok::<_, MemoryStartError>(())
    })
}
