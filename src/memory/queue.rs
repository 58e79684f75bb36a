//! The embedding queue: memories are stored in SQLite first, then embedded here in batches (many memories that
//! arrive together share one model call), and only then added to the vector index. A crash in between leaves
//! rows without a vector, which the start-up check embeds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Semaphore};
use uuid::Uuid;

use crate::embed::{EmbedError, Embedder};
use crate::storage::vectors::{VectorError, VectorStore};
use crate::storage::{StorageError, Store};

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
    /// Jobs submitted and not yet done.
    pending: Arc<AtomicUsize>,
}

impl EmbedQueue {
    /// Starts the worker on the current runtime.
    pub fn start(store: Store, embedder: Arc<dyn Embedder>, vectors: Arc<VectorStore>, batch_size: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            store,
            embedder,
            vectors,
            pending: pending.clone(),
        };
        tokio::spawn(run(rx, worker, batch_size.max(1)));
        Self { tx, pending }
    }

    /// Queues jobs; false when the worker is gone.
    pub fn submit(&self, jobs: Vec<EmbedJob>) -> bool {
        jobs.into_iter().all(|j| {
            self.pending.fetch_add(1, Ordering::SeqCst);
            let sent = self.tx.send(j).is_ok();
            if !sent {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
            sent
        })
    }

    /// Waits until every job submitted so far is done (stored, or failed and left for the next start), at most
    /// `limit`; answers whether it got there.
    pub async fn drained(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.pending.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// What the worker writes with.
struct Worker {
    store: Store,
    embedder: Arc<dyn Embedder>,
    vectors: Arc<VectorStore>,
    pending: Arc<AtomicUsize>,
}

async fn run(mut rx: mpsc::UnboundedReceiver<EmbedJob>, worker: Worker, batch_size: usize) {
    let Worker {
        store,
        embedder,
        vectors,
        pending,
    } = worker;
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        // Waiting for a slot first lets the jobs that arrive meanwhile join this batch.
        let Ok(slot) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < batch_size {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (store, embedder, vectors) = (store.clone(), Arc::clone(&embedder), Arc::clone(&vectors));
        let pending = pending.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = embed_batch(&store, embedder.as_ref(), &vectors, &mut batch).await {
                tracing::warn!(error = %e, count = batch.len(), "embedding memories failed; they will be retried at start");
            }
            pending.fetch_sub(batch.len(), Ordering::SeqCst);
            for job in batch {
                if let Some(done) = job.done {
                    let _ = done.send(());
                }
            }
        });
    }
}

/// Embeds, stores the vectors, and indexes them.
pub async fn embed_batch(
    store: &Store,
    embedder: &dyn Embedder,
    vectors: &VectorStore,
    batch: &mut [EmbedJob],
) -> Result<(), EmbedBatchError> {
    let texts: Vec<String> = batch.iter().map(|j| j.content.clone()).collect();
    let embedded = embedder.embed(&texts).await?;
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
