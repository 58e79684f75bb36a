//! A model server that misbehaves mid-reply (broken data, reset connection, stall, cut body, a line without
//! end): `persona.chat_stream` ends with `stream_error` keeping the partial reply, `persona.chat` answers -32003.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig, StreamFault};
use crate::support::{test_settings, TestServer};

/// Good tokens before the fault.
const GOOD: usize = 3;

/// A fake LLM whose streamed replies break after [`GOOD`] tokens, and a server using it through `provider`
/// (`ollama` or `openai`) with a 1 s read timeout.
fn boot_faulty(fault: StreamFault, provider: &str) -> (FakeLlm, TestServer, tempfile::TempDir) {
    let llm = FakeLlm::start(FakeLlmConfig {
        tokens: 50,
        fault: Some((GOOD, fault)),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.llm.provider = provider.parse().expect("a provider name");
    settings.llm.read_timeout_secs = 1;
    (llm, TestServer::start_with(settings), dir)
}

/// Streams one chat and checks it ends in `stream_error` -32003 after `GOOD` chunks, the partial reply kept and
/// said to be partial; then checks `persona.chat` answers -32003 and that the partial reply stayed in the history.
async fn fails_mid_stream(fault: StreamFault, provider: &str) {
    let (llm, server, _dir) = boot_faulty(fault.clone(), provider);
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let id = c
        .request("persona.chat_stream", json!({"message": "Tell me a story"}))
        .await;
    let frames = c.stream_frames(&id).await;
    let kinds: Vec<&str> = frames
        .iter()
        .map(|f| f["result"]["event_type"].as_str().unwrap())
        .collect();
    let mut expected = vec!["stream_start"];
    expected.extend(std::iter::repeat_n("stream_chunk", GOOD));
    expected.push("stream_error");
    assert_eq!(kinds, expected, "{fault:?} {provider}: {frames:?}");
    let partial: String = frames[1..=GOOD]
        .iter()
        .map(|f| f["result"]["chunk"].as_str().unwrap())
        .collect();
    let last = frames.last().unwrap();
    assert_eq!(last["error"]["code"], -32003, "{last}");
    assert_eq!(last["error"]["message"], "Chat streaming failed");
    assert_eq!(last["error"]["data"]["backend"], provider);
    assert_eq!(last["result"]["data"]["partial"], true, "{last}");
    assert_eq!(last["result"]["data"]["partial_response"], partial.as_str());
    assert_eq!(last["result"]["data"]["chunk_count"], GOOD);

    let e = c.error("persona.chat", json!({"message": "And then?"})).await;
    assert_eq!(e["code"], -32003, "{fault:?} {provider}: {e}");
    assert_eq!(e["data"]["url"], llm.url().as_str());
    // The partial reply of the stream is in the next request's history.
    let history = llm.requests().last().unwrap()["messages"].clone();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "assistant" && m["content"] == partial.as_str()),
        "{history}"
    );
}

#[tokio::test]
async fn malformed_data_mid_stream_is_a_stream_error() {
    fails_mid_stream(StreamFault::Malformed, "ollama").await;
    fails_mid_stream(StreamFault::Malformed, "openai").await;
}

#[tokio::test]
async fn a_reset_connection_mid_stream_is_a_stream_error() {
    fails_mid_stream(StreamFault::Reset, "ollama").await;
    fails_mid_stream(StreamFault::Reset, "openai").await;
}

#[tokio::test]
async fn a_read_timeout_mid_stream_is_a_stream_error() {
    fails_mid_stream(StreamFault::Stall, "ollama").await;
}

#[tokio::test]
async fn a_body_cut_before_its_end_is_a_stream_error() {
    fails_mid_stream(StreamFault::Truncate, "ollama").await;
    fails_mid_stream(StreamFault::Truncate, "openai").await;
}

#[tokio::test]
async fn a_huge_line_fails_the_stream_without_buffering_it() {
    const HUGE: usize = 200 * 1024 * 1024;
    let started = Instant::now();
    fails_mid_stream(StreamFault::HugeLine(HUGE), "ollama").await;
    // The reader gave up at its 1 MiB bound and hung up: what was handed to the socket is that plus the
    // kernel's buffers, nowhere near the 200 MB on offer.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());

    let (llm, server, _dir) = boot_faulty(StreamFault::HugeLine(HUGE), "openai");
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let e = c.error("persona.chat", json!({"message": "Hello"})).await;
    assert_eq!(e["code"], -32003, "{e}");
    assert!(e["message"].as_str().unwrap().contains("1048576 bytes"), "{e}");
    for _ in 0..100 {
        if llm.chat_requests_in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(llm.chat_requests_in_flight(), 0, "the upstream request was closed");
    let sent = llm.huge_bytes_sent();
    assert!(sent < 32 * 1024 * 1024, "{sent} bytes were read before giving up");
}
