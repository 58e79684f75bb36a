//! A chat turn's recall under its deadline (`memory.recall_deadline_ms`), the recall histogram in `/metrics`, and
//! the bounded background embedding backlog (`memory.embed_backlog`, in `/metrics` and `system.status`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer, WsClient};

/// Shares no word with [`QUESTION`]: only the vector half of recall can find it.
const MEMORY: &str = "Aria performed her new ballad at the harvest festival";
const QUESTION: &str = "Which song did you sing at the autumn fair?";

/// The value of a metric line (`name` with its labels, as rendered) at `/metrics`, 0 when absent.
pub async fn metric(server: &TestServer, name: &str) -> f64 {
    let text = reqwest::get(server.http_url("/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The system prompt of the model's last chat request.
fn last_system_prompt(llm: &FakeLlm) -> String {
    llm.requests().last().expect("a chat request")["messages"][0]["content"]
        .as_str()
        .expect("a system prompt")
        .to_string()
}

/// A server whose recall waits `deadline_ms` for the query vector; Aria remembers [`MEMORY`].
async fn server_remembering(deadline_ms: u64) -> (FakeLlm, TestServer, tempfile::TempDir, WsClient) {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.memory.recall_deadline_ms = deadline_ms;
    // The turn's threading step waits for the same vector first (up to its own few ms): with it, a vector that
    // came within that wait would be in time for a recall that waits not at all.
    settings.chat.thread_vector_wait_ms = settings.chat.thread_vector_wait_ms.min(deadline_ms);
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    c.result("memory.store", json!({"persona_id": "Aria", "content": MEMORY}))
        .await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    (llm, server, dir, c)
}

#[tokio::test]
async fn a_query_vector_in_time_recalls_by_meaning() {
    let (llm, server, _dir, mut c) = server_remembering(60_000).await;
    c.result("persona.chat", json!({"message": QUESTION})).await;
    let prompt = last_system_prompt(&llm);
    assert!(prompt.contains("harvest festival"), "recalled by meaning: {prompt}");
    let hybrid = r#"persona_mcp_memory_recall_seconds_count{path="hybrid"}"#;
    assert_eq!(metric(&server, hybrid).await, 1.0);
    assert_eq!(
        metric(&server, "persona_mcp_memory_recall_vector_late_total").await,
        0.0
    );
    c.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_late_query_vector_leaves_the_turn_to_keywords() {
    let (llm, server, _dir, mut c) = server_remembering(0).await;
    c.result("persona.chat", json!({"message": QUESTION})).await;
    let prompt = last_system_prompt(&llm);
    assert!(
        !prompt.contains("harvest festival"),
        "no shared word and no vector in time: nothing recalled: {prompt}"
    );
    c.result("persona.chat", json!({"message": "Tell me about the harvest festival"}))
        .await;
    let prompt = last_system_prompt(&llm);
    assert!(
        prompt.contains("ballad at the harvest festival"),
        "keyword recall: {prompt}"
    );
    let keyword = r#"persona_mcp_memory_recall_seconds_count{path="keyword"}"#;
    assert_eq!(metric(&server, keyword).await, 2.0);
    assert_eq!(
        metric(&server, "persona_mcp_memory_recall_vector_late_total").await,
        2.0
    );
    c.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_full_backlog_is_swept_until_every_memory_has_its_vector() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Noted.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    // Chat turns stored without an embedder leave rows without a vector, which the next start queues at once.
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.embedder.provider = persona_mcp::config::EmbedderProvider::None;
    let server = TestServer::start_with(settings.clone());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let topics = ["comets", "tides", "lanterns", "glaciers", "volcanoes", "orchards"];
    for topic in topics {
        c.result("persona.chat", json!({"message": format!("Tell me about {topic}")}))
            .await;
    }
    c.close().await;
    server.stop().await;

    settings.embedder.provider = persona_mcp::config::EmbedderProvider::Minilm;
    settings.memory.embed_backlog = 1;
    let server = TestServer::start_with(settings);
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&server, "persona_mcp_memory_embedded_total").await < topics.len() as f64 {
        assert!(Instant::now() < deadline, "every memory embedded within a minute");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deferred = metric(&server, "persona_mcp_memory_embed_deferred_total").await;
    assert!(
        deferred >= (topics.len() - 1) as f64,
        "the backlog held one: {deferred} deferred"
    );
    assert_eq!(metric(&server, "persona_mcp_memory_embed_backlog").await, 0.0);
    let mut c = server.client().await;
    let status = c.result("system.status", json!({})).await;
    assert_eq!(status["memory_embed_backlog"], 0, "{status}");
    assert_eq!(status["embedder"], "minilm:all-MiniLM-L6-v2", "{status}");
    assert_eq!(status["embedder_precision"], "int8", "the default precision: {status}");
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    for topic in topics {
        let r = c
            .result(
                "memory.search",
                json!({"persona_id": "Kira", "query": topic, "n_results": 1}),
            )
            .await;
        let hit = &r["memories"][0];
        assert!(hit["content"].as_str().unwrap_or("").contains(topic), "{topic}: {r}");
        assert!(
            hit["similarity"].as_f64().unwrap_or(0.0) > 0.2,
            "{topic} has its vector: {r}"
        );
    }
    c.close().await;
    server.stop().await;
}
