//! After a state file replaced the database: the vector indexes are rebuilt from the loaded rows (their stored
//! vectors when the configured embedder made them, re-embedding the rest through the queue).

use std::sync::Arc;

use uuid::Uuid;

use super::{MemoryService, MemoryStartError};
use crate::error::AppError;

impl MemoryService {
    /// The configured embedder's name and dimension, if any.
    pub fn embedder_info(&self) -> Option<(String, usize)> {
        self.embedder.as_ref().map(|e| (e.name().to_string(), e.dimension()))
    }

    /// Waits (at most `limit`) until the embedding queue has written every vector it was given, so that none
    /// lands on the rows a load puts in place; answers whether it got there.
    pub async fn embeddings_settled(&self, limit: std::time::Duration) -> bool {
        match &self.queue {
            Some(queue) => queue.drained(limit).await,
            None => true,
        }
    }

    /// Drops the indexes of `personas` (everyone before and after the load), rebuilds every index from the
    /// stored vectors, and queues the memories without a vector of the configured embedder; answers how many
    /// were queued for re-embedding.
    pub async fn rebuild_after_load(self: &Arc<Self>, personas: Vec<Uuid>) -> Result<usize, AppError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            for persona in personas {
                this.drop_persona(persona);
            }
            this.check_indexes()
        })
        .await
        .map_err(|e| AppError::Internal(format!("index rebuild task failed: {e}")))?
        .map_err(|e: MemoryStartError| AppError::Internal(format!("index rebuild failed: {e}")))?;
        self.embed_pending().await
    }
}
