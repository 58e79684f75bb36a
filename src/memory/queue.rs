//! The embedding queue: memories are stored in SQLite first, then embedded here in batches (many memories that
//! arrive together share one model call), and only then added to the vector index. A crash in between leaves
//! rows without a vector, which the start-up check embeds.
//!
//! The backlog is bounded: past `limit` memories waiting, a memory nobody waits for is not queued (its row stays
//! without a vector, found by keywords meanwhile) and a sweep picks such rows up from the database as soon as
//! the queue has run dry. A batch nobody waits for (chat turns' exchanges) is embedded below queries, streaming
//! and waiting stores ([`Embedder::embed_background`]), so under load the backlog grows instead of taking the
//! cores, and drains when the load drops.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Semaphore};
use uuid::Uuid;

use super::telemetry::MemoryMetrics;
use crate::embed::{EmbedError, Embedder};
use crate::storage::vectors::{VectorError, VectorStore};
use crate::storage::{StorageError, Store};

/// How long a batch that nobody waits for gathers memories before it is embedded: a chat turn's exchange is
/// queued as its reply ends, which is when the next message of a conversation usually arrives; its recall (the
/// query's embedding) gets the cores first, and the exchanges of other turns join the batch meanwhile.
const BACKGROUND_LINGER: Duration = Duration::from_millis(25);

/// Batches being embedded or written at once: while one batch's vectors are written to SQLite and the index,
/// the next one is already on the embedder, which stays busy.
const IN_FLIGHT: usize = 2;

/// Why a batch of memories could not be embedded and indexed (they keep no vector until the next start).
#[derive(Debug, thiserror::Error)]
pub enum EmbedBatchError {
    /// The embedder failed.
    #[error("embedding: {0}")]
    Embed(#[from] EmbedError),
    /// Storing the vectors in the database failed.
    #[error("storing the vectors: {0}")]
    Storage(#[from] StorageError),
    /// Adding the vectors to an index failed.
    #[error("indexing: {0}")]
    Index(#[from] VectorError),
}

/// One memory waiting for its vector.
pub struct EmbedJob {
    /// Row key (the index key).
    pub key: i64,
    /// Owner.
    pub persona: Uuid,
    /// Text to embed.
    pub content: String,
    /// Told when the vector is stored and indexed.
    pub done: Option<oneshot::Sender<()>>,
}

/// Handle for submitting jobs.
#[derive(Clone)]
pub struct EmbedQueue {
    tx: mpsc::UnboundedSender<EmbedJob>,
    backlog: Arc<Backlog>,
}

/// How many memories wait, and whether some were left to the database.
struct Backlog {
    waiting: AtomicUsize,
    limit: usize,
    /// Rows were left without a vector because the backlog was full: sweep them when it runs dry.
    deferred: AtomicBool,
    metrics: MemoryMetrics,
}

impl Backlog {
    /// Takes `job` into the backlog, or answers it back when the backlog is full and nobody waits for it.
    fn admit(&self, job: EmbedJob) -> Option<EmbedJob> {
        if job.done.is_none() && self.waiting.load(Ordering::SeqCst) >= self.limit {
            self.deferred.store(true, Ordering::SeqCst);
            self.metrics.embed_deferred.inc();
            return None;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.metrics.embed_backlog.inc();
        Some(job)
    }

    /// `count` jobs are finished; true when the queue ran dry with rows left to sweep.
    fn finish(&self, count: usize) -> bool {
        self.metrics.embed_backlog.sub(count as i64);
        let before = self.waiting.fetch_sub(count, Ordering::SeqCst);
        before == count && self.deferred.swap(false, Ordering::SeqCst)
    }
}

/// What the worker needs besides its jobs.
#[derive(Clone)]
struct Worker {
    store: Store,
    embedder: Arc<dyn Embedder>,
    vectors: Arc<VectorStore>,
    queue: EmbedQueue,
}

impl EmbedQueue {
    /// Starts the worker on the current runtime; at most `limit` memories wait at once (those with a waiter are
    /// always taken).
    pub fn start(
        store: Store,
        embedder: Arc<dyn Embedder>,
        vectors: Arc<VectorStore>,
        batch_size: usize,
        limit: usize,
        metrics: MemoryMetrics,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog {
            waiting: AtomicUsize::new(0),
            limit: limit.max(1),
            deferred: AtomicBool::new(false),
            metrics,
        });
        let queue = Self { tx, backlog };
        let worker = Worker {
            store,
            embedder,
            vectors,
            queue: queue.clone(),
        };
        tokio::spawn(run(rx, worker, batch_size.max(1)));
        queue
    }

    /// Queues jobs (those that do not fit the backlog are left to the sweep); false when the worker is gone.
    pub fn submit(&self, jobs: Vec<EmbedJob>) -> bool {
        jobs.into_iter().filter_map(|job| self.backlog.admit(job)).all(|job| {
            let sent = self.tx.send(job).is_ok();
            if !sent {
                self.backlog.finish(1);
            }
            sent
        })
    }

    /// Memories waiting for their vector.
    pub fn backlog(&self) -> usize {
        self.backlog.waiting.load(Ordering::SeqCst)
    }

    /// Waits until every job queued so far is done (stored, or failed and left for the next start), at most
    /// `limit`; answers whether it got there.
    pub async fn drained(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.backlog() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<EmbedJob>, worker: Worker, batch_size: usize) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        // A batch nobody waits for lingers (until a memory somebody waits for joins it, or it is full).
        let lingering = tokio::time::Instant::now() + BACKGROUND_LINGER;
        while batch.len() < batch_size && batch.iter().all(|job| job.done.is_none()) {
            match tokio::time::timeout_at(lingering, rx.recv()).await {
                Ok(Some(job)) => batch.push(job),
                Ok(None) | Err(_) => break,
            }
        }
        // Waiting for a slot first lets the jobs that arrive meanwhile join this batch.
        let Ok(slot) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        while batch.len() < batch_size {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let worker = worker.clone();
        tokio::spawn(async move {
            let _slot = slot;
            // Nobody waits for a chat turn's exchange: it yields to everything else. A store that waits does not.
            let background = batch.iter().all(|job| job.done.is_none());
            let (store, embedder) = (&worker.store, worker.embedder.as_ref());
            match embed_batch(store, embedder, &worker.vectors, &mut batch, background).await {
                Ok(()) => worker.queue.backlog.metrics.embedded.inc_by(batch.len() as u64),
                Err(e) => {
                    tracing::warn!(error = %e, count = batch.len(), "embedding memories failed; they will be retried at start")
                }
            }
            let count = batch.len();
            for job in batch {
                if let Some(done) = job.done {
                    let _ = done.send(());
                }
            }
            if worker.queue.backlog.finish(count) {
                worker.sweep().await;
            }
        });
    }
}

impl Worker {
    /// Queues the rows left without a vector while the backlog was full (as many as fit).
    async fn sweep(&self) {
        let limit = self.queue.backlog.limit as i64;
        match self
            .store
            .memories()
            .unembedded(self.embedder.name().to_string(), limit)
            .await
        {
            Ok(rows) => {
                tracing::info!(
                    count = rows.len(),
                    "embedding memories deferred while the backlog was full"
                );
                if rows.len() as i64 >= limit {
                    // More may be left: sweep again when these are done.
                    self.queue.backlog.deferred.store(true, Ordering::SeqCst);
                }
                self.queue.submit(
                    rows.into_iter()
                        .map(|(key, persona, content)| EmbedJob {
                            key,
                            persona,
                            content,
                            done: None,
                        })
                        .collect(),
                );
            }
            Err(e) => {
                // Left for the next sweep (or the start-up check).
                self.queue.backlog.deferred.store(true, Ordering::SeqCst);
                tracing::warn!(error = %e, "reading the memories left without a vector failed");
            }
        }
    }
}

/// Embeds (with [`Embedder::embed_background`] when `background`), stores the vectors, and indexes them.
pub async fn embed_batch(
    store: &Store,
    embedder: &dyn Embedder,
    vectors: &VectorStore,
    batch: &mut [EmbedJob],
    background: bool,
) -> Result<(), EmbedBatchError> {
    let texts: Vec<String> = batch.iter().map(|j| j.content.clone()).collect();
    let embedded = if background {
        embedder.embed_background(&texts).await
    } else {
        embedder.embed(&texts).await
    }?;
    let rows: Vec<(i64, Vec<f32>)> = batch.iter().map(|j| j.key).zip(embedded).collect();
    let name = embedder.name().to_string();
    store.memories().set_embeddings(name, rows.clone()).await?;
    let mut by_persona: HashMap<Uuid, Vec<(u64, Vec<f32>)>> = HashMap::new();
    for (job, (key, v)) in batch.iter().zip(rows) {
        by_persona.entry(job.persona).or_default().push((key as u64, v));
    }
    for (persona, items) in by_persona {
        vectors.add_batch(persona, &items)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog(limit: usize) -> Backlog {
        Backlog {
            waiting: AtomicUsize::new(0),
            limit,
            deferred: AtomicBool::new(false),
            metrics: MemoryMetrics::new(),
        }
    }

    fn job(waiter: bool) -> EmbedJob {
        EmbedJob {
            key: 1,
            persona: Uuid::nil(),
            content: "text".into(),
            done: waiter.then(|| oneshot::channel().0),
        }
    }

    #[test]
    fn a_full_backlog_defers_unwaited_jobs_and_sweeps_when_dry() {
        let b = backlog(2);
        assert!(b.admit(job(false)).is_some());
        assert!(b.admit(job(false)).is_some());
        assert!(b.admit(job(false)).is_none(), "full: left to the sweep");
        assert!(b.admit(job(true)).is_some(), "a waiter is always taken");
        assert_eq!(b.metrics.embed_backlog.get(), 3);
        assert_eq!(b.metrics.embed_deferred.get(), 1);
        assert!(!b.finish(2), "one still waits");
        assert!(b.finish(1), "dry with deferred rows: sweep");
        assert!(!b.finish(0), "swept once");
        assert_eq!(b.metrics.embed_backlog.get(), 0);
    }
}
