//! The per-connection rate limit at its default settings, over a real WebSocket: it never refuses a client that
//! waits for its answers (one at a time, or a few in flight), however fast the server answers, and it refuses a
//! client that pipelines thousands of requests without waiting with -32005 and `retry_after_ms`, answering every
//! id exactly once and staying up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use persona_mcp::config::{EmbedderProvider, ServerSettings, Settings};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

/// A server with the default rate limit, answering as fast as it can (no embedder), and no access log.
fn fast_server() -> (FakeLlm, TestServer, tempfile::TempDir) {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut settings: Settings = test_settings(&llm.url(), dir.path());
    let defaults = ServerSettings::default();
    settings.server.rate_limit_per_second = defaults.rate_limit_per_second;
    settings.server.rate_limit_burst = defaults.rate_limit_burst;
    settings.server.rate_limit_in_flight = defaults.rate_limit_in_flight;
    settings.embedder.provider = EmbedderProvider::None;
    settings.logging.access = false;
    (llm, TestServer::start_with(settings), dir)
}

fn store(id: usize) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "memory.store",
        "params": {"persona_id": "Aria", "content": format!("imported memory number {id}")},
    })
    .to_string()
}

#[tokio::test]
async fn a_client_that_waits_for_its_answers_is_never_refused() {
    let (_llm, server, _dir) = fast_server();
    let mut c = server.client().await;
    let started = Instant::now();
    for i in 0..1000 {
        c.result(
            "memory.store",
            json!({"persona_id": "Aria", "content": format!("one at a time {i}")}),
        )
        .await;
    }
    let elapsed = started.elapsed();
    println!("1000 awaited memory.store: {elapsed:?}, none refused");

    // Four in flight: each answer lets the next request go.
    let (mut sink, mut stream) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap()
        .0
        .split();
    let (total, window) = (1000, 4);
    for id in 0..window {
        sink.send(Message::text(store(id))).await.unwrap();
    }
    let mut sent = window;
    let mut answered = 0;
    while answered < total {
        let frame = tokio::time::timeout(Duration::from_secs(15), stream.next())
            .await
            .expect("an answer")
            .unwrap()
            .unwrap();
        let Message::Text(text) = frame else { continue };
        let answer: Value = serde_json::from_str(text.as_str()).unwrap();
        assert!(
            answer.get("error").is_none(),
            "refused with {window} in flight: {answer}"
        );
        answered += 1;
        if sent < total {
            sink.send(Message::text(store(sent))).await.unwrap();
            sent += 1;
        }
    }
}

#[tokio::test]
async fn a_pipelined_flood_is_refused_with_retry_after_and_every_id_answered_once() {
    let (_llm, server, _dir) = fast_server();
    let (mut sink, mut stream) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap()
        .0
        .split();
    let total = 5000;
    let reader = tokio::spawn(async move {
        let mut answers: HashMap<u64, Vec<Value>> = HashMap::new();
        let mut count = 0;
        while count < total {
            let frame = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .expect("every request answered")
                .unwrap()
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            let id = answer["id"].as_u64().expect("an answer to a request");
            answers.entry(id).or_default().push(answer);
            count += 1;
        }
        // Nothing more comes: no id is answered twice.
        let extra = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(extra.is_err(), "an extra frame: {extra:?}");
        (answers, stream)
    });
    for id in 0..total {
        sink.feed(Message::text(store(id))).await.unwrap();
    }
    sink.flush().await.unwrap();
    let (answers, mut stream) = reader.await.unwrap();

    assert_eq!(answers.len(), total, "every id answered");
    let mut refused = 0;
    for (id, frames) in &answers {
        assert_eq!(frames.len(), 1, "id {id} answered once: {frames:?}");
        let answer = &frames[0];
        if answer.get("error").is_some() {
            assert_eq!(answer["error"]["code"], -32005, "{answer}");
            assert!(
                answer["error"]["data"]["retry_after_ms"].as_u64().unwrap() > 0,
                "{answer}"
            );
            refused += 1;
        }
    }
    println!("{total} pipelined memory.store: {refused} refused with -32005");
    assert!(refused > 0, "a flood of {total} is limited");
    assert!(refused < total, "the free requests and the burst go through");

    // The server is up, and serves the connection again at once: none of its requests runs any more.
    sink.send(Message::text(store(total))).await.unwrap();
    let Some(Ok(Message::Text(text))) = stream.next().await else {
        panic!("an answer after the flood")
    };
    let answer: Value = serde_json::from_str(text.as_str()).unwrap();
    assert!(answer.get("result").is_some(), "{answer}");
    let mut c = server.client().await;
    c.result(
        "memory.search",
        json!({"persona_id": "Aria", "query": "imported memory"}),
    )
    .await;
}
