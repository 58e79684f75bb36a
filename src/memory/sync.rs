//! Keeps this process's vector indexes in step with the vectors other processes write to the shared database
//! (`serve --role mcp` and `serve --role admin` on one data dir, each with its own usearch indexes). Every
//! period it reads the `vector_changes` log after the last entry it saw (one indexed query; nothing else when
//! nothing changed) and applies the entries: removals at once, additions from the stored vectors. Its own
//! process's writes come back through the log too and cost a lookup each (the vector is already indexed). On
//! PostgreSQL an instance that stores vectors also announces it (NOTIFY), and the others read the log at once
//! instead of at their next period: a memory stored on one instance is found by meaning on the others within
//! milliseconds of its vector.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::storage::vector_changes::Change;
use crate::storage::vectors::VectorStore;
use crate::storage::{StorageError, Store, Topic};

/// Entries read at once.
const BATCH: i64 = 5_000;
/// Entries older than this are pruned: a process further behind rebuilds its indexes instead.
const RETAIN_SECS: i64 = 600;
/// How often the log is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Follows the log for one process.
pub struct IndexSync {
    store: Store,
    vectors: Arc<VectorStore>,
    embedder: String,
    last: i64,
    pruned: Instant,
}

impl IndexSync {
    /// Starts following the log after entry `last` (its end when the indexes were checked against the
    /// database), looking every `period`, on the current runtime.
    pub fn spawn(store: Store, vectors: Arc<VectorStore>, embedder: String, last: i64, period: Duration) {
        let mut sync = Self {
            store,
            vectors,
            embedder,
            last,
            pruned: Instant::now(),
        };
        let mut notices = sync.store.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let closed = match notices.as_mut() {
                    Some(news) => tokio::select! {
                        _ = tick.tick() => false,
                        heard = news.recv() => match heard {
                            Ok(n) if n.topic != Topic::Vectors => continue,
                            Err(broadcast::error::RecvError::Closed) => true,
                            // New vectors, or announcements missed: read the log now.
                            _ => false,
                        },
                    },
                    None => {
                        tick.tick().await;
                        false
                    }
                };
                if closed {
                    notices = None;
                }
                if let Err(e) = sync.step().await {
                    tracing::warn!(error = %e, "following the vector change log failed; retrying");
                }
            }
        });
    }

    /// Applies every change after the last one seen.
    async fn step(&mut self) -> Result<(), StorageError> {
        let log = self.store.vector_changes();
        loop {
            let changes = log.after(self.last, BATCH).await?;
            let Some(newest) = changes.last().map(|c| c.seq) else {
                break;
            };
            if changes[0].seq > self.last + 1 && log.first_seq().await? == Some(changes[0].seq) {
                self.rebuild().await?;
            } else {
                self.apply(&changes).await?;
            }
            self.last = newest;
            if (changes.len() as i64) < BATCH {
                break;
            }
        }
        if self.pruned.elapsed() >= PRUNE_EVERY {
            self.pruned = Instant::now();
            log.prune(chrono::Utc::now().timestamp() - RETAIN_SECS).await?;
        }
        Ok(())
    }

    async fn apply(&self, changes: &[crate::storage::vector_changes::VectorChange]) -> Result<(), StorageError> {
        let mut wanted: HashMap<i64, Uuid> = HashMap::new();
        for c in changes {
            let key = c.key as u64;
            match c.change {
                Change::Removed => {
                    wanted.remove(&c.key);
                    if let Err(e) = self.vectors.remove(c.persona, &[key]) {
                        tracing::warn!(persona = %c.persona, error = %e, "removing a vector another process removed");
                    }
                }
                Change::Added if self.vectors.missing_keys(c.persona, &[key]).is_empty() => {}
                Change::Added | Change::Replaced => {
                    wanted.insert(c.key, c.persona);
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let keys: Vec<i64> = wanted.keys().copied().collect();
        let found = self.store.vector_changes().vectors(self.embedder.clone(), keys).await?;
        let mut by_persona: HashMap<Uuid, Vec<(u64, Vec<f32>)>> = HashMap::new();
        for (key, vector) in found {
            if let Some(persona) = wanted.get(&key) {
                by_persona.entry(*persona).or_default().push((key as u64, vector));
            }
        }
        for (persona, items) in by_persona {
            if let Err(e) = self.vectors.add_batch(persona, &items) {
                tracing::warn!(%persona, error = %e, "indexing vectors another process stored");
            }
        }
        Ok(())
    }

    /// Entries were pruned before this process read them: every index is checked against the database.
    async fn rebuild(&self) -> Result<(), StorageError> {
        tracing::warn!("fell behind the vector change log; checking every memory index against the database");
        let (store, vectors, embedder) = (self.store.clone(), self.vectors.clone(), self.embedder.clone());
        tokio::task::spawn_blocking(move || super::reconcile(&store, &vectors, &embedder))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))?
            .map_err(|e| StorageError::Corrupt(e.to_string()))
    }
}
