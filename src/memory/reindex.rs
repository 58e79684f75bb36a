//! `persona-mcp memory reindex`: re-embeds every memory with the configured embedder and rebuilds the vector
//! indexes from scratch (after a change of embedder, or to repair them), with a progress bar.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::queue::{embed_batch, EmbedBatchError, EmbedJob};
use crate::embed::Embedder;
use crate::storage::vectors::VectorStore;
use crate::storage::Store;

/// Re-embeds all memories; answers how many.
pub async fn reindex(
    store: &Store,
    embedder: Arc<dyn Embedder>,
    index_dir: &std::path::Path,
    batch_size: usize,
) -> Result<usize, EmbedBatchError> {
    let vectors = VectorStore::reset(index_dir, embedder.name(), embedder.dimension())?;
    let all = store.memories().all(None).await?;
    let bar = ProgressBar::new(all.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} memories ({per_sec}, eta {eta})") {
        bar.set_style(style);
    }
    for chunk in all.chunks(batch_size.max(1)) {
        let mut jobs: Vec<EmbedJob> = chunk
            .iter()
            .map(|s| EmbedJob {
                key: s.key,
                persona: s.memory.persona_id,
                content: s.memory.content.clone(),
                done: None,
            })
            .collect();
        embed_batch(store, embedder.as_ref(), &vectors, &mut jobs, false).await?;
        bar.inc(chunk.len() as u64);
    }
    vectors.save_all()?;
    bar.finish();
    Ok(all.len())
}
