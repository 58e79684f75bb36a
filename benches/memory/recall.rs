//! 4. Recall at scale: a chat turn's memory recall ([`MemoryService::recall`], the server's code with MiniLM and
//!    its `memory.recall_deadline_ms`) over one persona's many memories, one distinct message at a time on an
//!    otherwise idle process, timed whole and by its halves (the query embedding, the keyword search with the
//!    rows of its hits).

use std::path::Path;
use std::time::Instant;

use persona_mcp::config::Settings;
use persona_mcp::live::LiveSettings;
use persona_mcp::memory::{MemoryService, SearchQuery};
use persona_mcp::metrics::Metrics;
use persona_mcp::storage::Store;

use super::common::fill::{fill, WORDS};
use super::print_latency;

/// The persona whose memories are recalled.
const OWNER: &str = "Aria";

/// A chat message that names two of the memories' words (thousands of keyword matches at 10k memories).
fn message(i: usize, salt: &str) -> String {
    format!(
        "Do you still think about the {} and the {}? ({salt} {i})",
        WORDS[i % 16],
        WORDS[(i * 7 + 3) % 16]
    )
}

/// Recalls `queries` distinct messages over `memories` memories of one persona.
pub async fn recall(model_dir: &Path, memories: usize, queries: usize) -> Result<(), String> {
    let temp = super::common::temp_dir("recall")?;
    let data = temp.path().join("data");
    let started = Instant::now();
    fill(&data, memories, Some(OWNER)).await?;
    println!(
        "recall_fill: {memories} memories in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut settings = Settings::default();
    settings.storage.data_dir = data.clone();
    settings.embedder.model_dir = Some(model_dir.to_path_buf());
    let embedder = persona_mcp::app::build_embedder(&settings)
        .map_err(|e| e.to_string())?
        .ok_or("no embedder: is the model there (`make model`)?")?;
    let store = Store::open(&data.join("persona-mcp.db"), 4, 5000).map_err(|e| e.to_string())?;
    let owner = store
        .personas()
        .list()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|p| p.name == OWNER)
        .ok_or("no Aria")?
        .id;
    let started = Instant::now();
    let mut service = MemoryService::open(
        store.clone(),
        Some(embedder.clone()),
        &data.join("vectors"),
        LiveSettings::new(settings),
    )
    .map_err(|e| e.to_string())?;
    let metrics = Metrics::new();
    service.start_queue(32, &metrics);
    println!("recall_index_build: {:.1} s", started.elapsed().as_secs_f64());
    let query = |text: String| SearchQuery {
        persona: owner,
        reader: owner,
        query: text,
        n_results: service.settings().prompt_memories,
        min_importance: 0.0,
        memory_type: None,
        touch: false,
        deadline: None,
    };
    for i in 0..8 {
        service
            .recall(query(message(i, "warm-up")))
            .await
            .map_err(|e| e.to_string())?;
    }
    let late = || metric(&metrics, "memory_recall_vector_late_total");
    let late_before = late();
    let mut whole = Vec::with_capacity(queries);
    let mut hits = 0;
    for i in 0..queries {
        let started = Instant::now();
        hits += service
            .recall(query(message(i, "turn")))
            .await
            .map_err(|e| e.to_string())?
            .len();
        whole.push(started.elapsed());
    }
    let late_count = late() - late_before;

    // The halves alone, on messages nobody embedded yet, once the embeddings of late recalls are done.
    embedder
        .embed_query(&message(0, "after"))
        .await
        .map_err(|e| e.to_string())?;
    let mut embedding = Vec::with_capacity(queries);
    let mut keywords = Vec::with_capacity(queries);
    for i in 0..queries {
        let text = message(i, "part");
        let started = Instant::now();
        embedder.embed_query(&text).await.map_err(|e| e.to_string())?;
        embedding.push(started.elapsed());
        let started = Instant::now();
        store
            .memories()
            .search_rows(Some(owner), text, 40)
            .await
            .map_err(|e| e.to_string())?;
        keywords.push(started.elapsed());
    }
    println!(
        "recall_{memories}: {queries} recalls, {:.1} hits each, {late_count} answered by keywords alone (vector late)",
        hits as f64 / queries.max(1) as f64
    );
    let label = format!("recall_{}k", memories / 1000);
    print_latency(&label, &mut whole, false);
    print_latency(&format!("{label}_part_query_embedding"), &mut embedding, false);
    print_latency(&format!("{label}_part_keyword_search"), &mut keywords, false);
    Ok(())
}

/// The value of the metric whose name (labels included) ends with `name` (the server prefixes its own).
fn metric(metrics: &Metrics, name: &str) -> u64 {
    metrics
        .render()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(key, _)| key.ends_with(name))
        .and_then(|(_, value)| value.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}
