//! A database filled through the storage layer: the default personas and many memories with 384-dimension
//! vectors under the MiniLM embedder's name, so a server (or a [`persona_mcp::memory::MemoryService`]) opened on
//! it uses them as they are and only rebuilds its vector indexes from them.

use std::path::Path;

use chrono::Utc;
use persona_mcp::domain::memory::{Memory, Visibility};
use persona_mcp::storage::Store;

/// The words memories are made of (and keyword queries can ask for).
pub const WORDS: [&str; 16] = [
    "harbour", "lantern", "violin", "orchard", "comet", "market", "letter", "storm", "garden", "bridge", "winter",
    "festival", "library", "river", "mountain", "kitchen",
];

/// A unit vector from a seed (xorshift), shaped like an embedding.
pub fn vector(seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v: Vec<f32> = (0..384)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

/// Fills `data_dir`'s database: the default personas and `n` memories with vectors, spread over all of them, or
/// all of `owner`'s (a persona's name) when given.
pub async fn fill(data_dir: &Path, n: usize, owner: Option<&str>) -> Result<(), String> {
    std::fs::create_dir_all(data_dir).map_err(|e| e.to_string())?;
    let store = Store::open(&data_dir.join("persona-mcp.db"), 4, 5000).map_err(|e| e.to_string())?;
    persona_mcp::app::seed_defaults(&store).map_err(|e| e.to_string())?;
    let mut personas: Vec<_> = store.personas().list().await.map_err(|e| e.to_string())?;
    if let Some(name) = owner {
        personas.retain(|p| p.name == name);
        if personas.is_empty() {
            return Err(format!("no persona named {name}"));
        }
    }
    let now = Utc::now();
    let visibility = [Visibility::Private, Visibility::Shared, Visibility::Public];
    for start in (0..n).step_by(2000) {
        let batch: Vec<Memory> = (start..(start + 2000).min(n))
            .map(|i| {
                let owner = &personas[i % personas.len()];
                let content = format!(
                    "{} remembers the {} near the {} ({i}), and how the {} looked that evening.",
                    owner.name,
                    WORDS[i % 16],
                    WORDS[(i / 16) % 16],
                    WORDS[(i / 256) % 16]
                );
                let mut m = Memory::new(owner.id, content, "observation", 0.3 + (i % 7) as f64 / 10.0, now);
                m.visibility = visibility[i % 3];
                m
            })
            .collect();
        let stored = store.memories().insert(batch).await.map_err(|e| e.to_string())?;
        let vectors = stored.iter().map(|s| (s.key, vector(s.key as u64))).collect();
        store
            .memories()
            .set_embeddings(persona_mcp::embed::minilm::NAME.to_string(), vectors)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
