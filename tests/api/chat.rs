//! Chat over the WebSocket: plain, streamed, cancelled, disconnected, concurrent, bridged, LLM down.

use std::time::Duration;

use serde_json::{json, Value};

use crate::boot;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

fn slow_llm(tokens: usize, token_ms: u64) -> FakeLlm {
    FakeLlm::start(FakeLlmConfig {
        reply: None,
        tokens,
        token_delay: Duration::from_millis(token_ms),
        ..FakeLlmConfig::default()
    })
}

fn last_messages(llm: &FakeLlm) -> Vec<Value> {
    llm.requests().last().expect("a chat request")["messages"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn chat_answers_with_all_fields_and_sends_persona_prompt() {
    let (llm, server) = boot(Some("Well met, traveller! Shall I sing?"));
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let r = c.result("persona.chat", json!({"message": "Hello there"})).await;
    assert_eq!(r["response"], "Well met, traveller! Shall I sing?");
    assert_eq!(r["response_type"], "direct");
    assert!(r["continue_score"].as_f64().unwrap() > 0.0);
    assert!(r["tokens_used"].as_u64().unwrap() > 0);
    assert!(r["processing_time"].as_f64().is_some());
    let state = &r["persona_state"];
    assert!(
        state["social_energy"].as_f64().unwrap() < 150.0,
        "a turn costs energy: {state}"
    );
    assert!(state["available_time"].is_number() && state["interaction_fatigue"].is_number());
    let req = llm.requests().last().unwrap().clone();
    assert_eq!(req["model"], "llama3.2");
    let msgs = req["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "system");
    assert!(msgs[0]["content"].as_str().unwrap().starts_with("You are Aria."));
    assert_eq!(msgs.last().unwrap()["content"], "Hello there");
    assert_eq!(req["options"]["num_predict"], 500);

    c.result("persona.chat", json!({"message": "Sing about dragons"})).await;
    let msgs = last_messages(&llm);
    let texts: Vec<&str> = msgs.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(
        texts[1..],
        [
            "Hello there",
            "Well met, traveller! Shall I sing?",
            "Sing about dragons"
        ]
    );
}

#[tokio::test]
async fn stream_sends_start_numbered_chunks_and_complete() {
    let (_llm, server) = boot(Some("One two three four five"));
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let id = c.request("persona.chat_stream", json!({"message": "Tell me"})).await;
    let frames = c.stream_frames(&id).await;
    let kinds: Vec<&str> = frames
        .iter()
        .map(|f| f["result"]["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"stream_start"));
    assert_eq!(kinds.last(), Some(&"stream_complete"));
    let start = &frames[0]["result"];
    assert_eq!(start["data"]["persona_name"], "Kira");
    assert_eq!(start["data"]["message"], "Tell me");
    assert_eq!(start["data"]["token_budget"], 500);
    assert!(start["timestamp"].as_str().unwrap().ends_with('Z'));
    let stream_id = start["stream_id"].as_str().unwrap();
    let chunks: Vec<&Value> = frames[1..frames.len() - 1].iter().map(|f| &f["result"]).collect();
    assert_eq!(chunks.len(), 5);
    let mut joined = String::new();
    for (i, ch) in chunks.iter().enumerate() {
        assert_eq!(ch["event_type"], "stream_chunk");
        assert_eq!(ch["stream_id"], stream_id);
        assert_eq!(ch["data"]["chunk_number"], i + 1);
        assert_eq!(ch["chunk"], ch["data"]["chunk"]);
        joined.push_str(ch["data"]["chunk"].as_str().unwrap());
        assert_eq!(ch["data"]["total_length"], joined.chars().count());
    }
    let done = &frames.last().unwrap()["result"];
    assert_eq!(done["data"]["full_response"], joined.as_str());
    assert_eq!(done["full_response"], joined.as_str());
    assert_eq!(joined, "One two three four five");
    assert_eq!(done["data"]["chunk_count"], 5);
    assert_eq!(done["data"]["response_length"], joined.chars().count());
    assert_eq!(done["data"]["persona_name"], "Kira");
    assert!(done["data"]["tokens_used"].as_u64().unwrap() >= 5);
    assert!(frames.iter().all(|f| f.get("error").is_none() && f["id"] == id));
}

#[tokio::test]
async fn token_budget_caps_the_stream() {
    let llm = slow_llm(30, 0);
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let id = c
        .request("persona.chat_stream", json!({"message": "Talk", "token_budget": 3}))
        .await;
    let frames = c.stream_frames(&id).await;
    let done = &frames.last().unwrap()["result"];
    assert_eq!(done["event_type"], "stream_complete");
    assert_eq!(done["data"]["chunk_count"], 3);
    assert_eq!(llm.requests().last().unwrap()["options"]["num_predict"], 3);
}

#[tokio::test]
async fn cancel_stops_a_stream_mid_way() {
    let llm = slow_llm(200, 30);
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let id = c
        .request("persona.chat_stream", json!({"message": "A long story please"}))
        .await;
    let start = c.frame_for(&id).await;
    let stream_id = start["result"]["stream_id"].clone();
    let first = c.frame_for(&id).await;
    assert_eq!(first["result"]["event_type"], "stream_chunk");
    let cancel = c.result("persona.chat_cancel", json!({"stream_id": stream_id})).await;
    assert_eq!(cancel["cancelled"], true);
    let frames = c.stream_frames(&id).await;
    let end = &frames.last().unwrap()["result"];
    assert_eq!(end["event_type"], "stream_cancelled");
    assert_eq!(end["data"]["reason"], "Client cancelled");
    assert!(frames.len() < 150, "the stream stopped early");
    for _ in 0..50 {
        if llm.chat_requests_in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(llm.chat_requests_in_flight(), 0, "the upstream request was closed");
    let again = c.result("persona.chat_cancel", json!({"stream_id": stream_id})).await;
    assert_eq!(again["cancelled"], false);
}

#[tokio::test]
async fn disconnect_cancels_the_stream_and_keeps_the_partial_reply() {
    let llm = slow_llm(200, 20);
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    let switched = c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let session = switched["session_id"].clone();
    let id = c
        .request("persona.chat_stream", json!({"message": "Tell me everything"}))
        .await;
    let mut partial = String::new();
    for _ in 0..4 {
        let f = c.frame_for(&id).await;
        if f["result"]["event_type"] == "stream_chunk" {
            partial.push_str(f["result"]["chunk"].as_str().unwrap());
        }
    }
    c.close().await;
    for _ in 0..100 {
        if llm.chat_requests_in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(llm.chat_requests_in_flight(), 0, "upstream closed after disconnect");

    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria", "session_id": session}))
        .await;
    c.result("persona.chat", json!({"message": "Where were we?"})).await;
    let msgs = last_messages(&llm);
    let kept = msgs
        .iter()
        .find(|m| m["role"] == "assistant")
        .expect("partial reply kept in history");
    let kept = kept["content"].as_str().unwrap();
    assert!(
        kept.starts_with(partial.as_str()) && kept.len() >= partial.len(),
        "{kept:?} vs {partial:?}"
    );
    assert!(kept.split_whitespace().count() < 200, "the reply was cut short");
}

#[tokio::test]
async fn requests_on_one_connection_run_concurrently() {
    let llm = slow_llm(10, 100);
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let slow = c.request("persona.chat", json!({"message": "Take your time"})).await;
    let fast = c.request("persona.list", json!({})).await;
    let first = c.next_frame().await;
    assert_eq!(first["id"], fast, "persona.list answered before the slow chat");
    let chat = c.frame_for(&slow).await;
    assert!(chat["result"]["response"].is_string());
}

#[tokio::test]
async fn send_message_keeps_a_conversation_per_room_and_sender() {
    let (llm, server) = boot(Some("Hello from the bard"));
    let mut c = server.client().await;
    let e = c.error("conversation.send_message", json!({"content": "hi"})).await;
    assert_eq!(e["code"], -32002);
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let r = c
        .result(
            "conversation.send_message",
            json!({"content": "Hi from room A", "sender": "@bob:hs", "room_id": "!a:hs", "context": {"x": 1}}),
        )
        .await;
    assert_eq!(r["response"], "Hello from the bard");
    assert!(r["persona_id"].is_string());
    assert!(r["response_time_ms"].is_u64());
    assert_eq!(r["memory_stored"], true);
    c.result(
        "conversation.send_message",
        json!({"content": "Hi from room B", "sender": "@bob:hs", "room_id": "!b:hs"}),
    )
    .await;
    let texts: Vec<String> = last_messages(&llm)
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !texts.iter().any(|t| t == "Hi from room A"),
        "room B does not see room A: {texts:?}"
    );
    c.result(
        "conversation.send_message",
        json!({"content": "Back in A", "sender": "@bob:hs", "room_id": "!a:hs"}),
    )
    .await;
    let texts: Vec<String> = last_messages(&llm)
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert!(texts.iter().any(|t| t == "Hi from room A"), "room A resumes: {texts:?}");
    let e = c.error("conversation.send_message", json!({"content": "  "})).await;
    assert_eq!(e["message"], "content is required");
}

#[tokio::test]
async fn stream_errors_before_start_use_the_stream_format() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let r = c.call("persona.chat_stream", json!({"message": "hi"})).await;
    assert_eq!(r["result"]["event_type"], "stream_error");
    assert_eq!(r["error"]["code"], -32002);
    assert_eq!(r["error"]["message"], "Streaming error");
    assert_eq!(
        r["error"]["data"]["error"],
        "No persona selected. Use persona.switch first"
    );
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let r = c.call("persona.chat_stream", json!({})).await;
    assert_eq!(r["error"]["code"], -32602);
    assert_eq!(r["error"]["data"]["error"], "message is required");
    let e = c.error("persona.chat", json!({"message": ""})).await;
    assert_eq!(
        (e["code"].clone(), e["message"].clone()),
        (json!(-32602), json!("message is required"))
    );
    let e = c
        .error("persona.chat", json!({"message": "x", "token_budget": "lots"}))
        .await;
    assert!(e["message"].as_str().unwrap().starts_with("token_budget"), "{e}");
    let e = c
        .error("persona.chat", json!({"message": "x", "token_budget": 0}))
        .await;
    assert!(e["message"].as_str().unwrap().starts_with("token_budget"), "{e}");
}

#[tokio::test]
async fn llm_down_gives_a_clear_error_and_everything_else_works() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = TestServer::start(&url);
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let e = c.error("persona.chat", json!({"message": "Hello?"})).await;
    assert_eq!(e["code"], -32003);
    assert_eq!(e["data"]["url"], url.as_str());
    assert_eq!(e["data"]["backend"], "ollama");
    assert!(e["data"]["hint"].as_str().unwrap().contains("ollama serve"), "{e}");
    assert!(
        e["data"]["hint"].as_str().unwrap().contains("PERSONA_MCP__LLM__URL"),
        "{e}"
    );
    let id = c.request("persona.chat_stream", json!({"message": "Hello?"})).await;
    let frames = c.stream_frames(&id).await;
    assert_eq!(frames[0]["result"]["event_type"], "stream_start");
    let last = frames.last().unwrap();
    assert_eq!(last["result"]["event_type"], "stream_error");
    assert_eq!(last["error"]["code"], -32003);
    assert_eq!(last["error"]["message"], "Chat streaming failed");
    let e = c.error("system.models", json!({})).await;
    assert_eq!(e["code"], -32003);
    let status = c.result("system.status", json!({})).await;
    assert_eq!(status["system_status"], "operational");
    assert_eq!(status["llm_available"], false);
    assert_eq!(status["health"], "degraded");
    assert_eq!(c.result("persona.list", json!({})).await["total_count"], 2);
}

#[tokio::test]
async fn openai_compatible_backend_streams_too() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Greetings from the other API".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.llm.provider = persona_mcp::config::LlmProvider::Openai;
    settings.llm.api_key = Some("sk-test".into());
    settings.llm.model = "fake-model".into();
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let r = c.result("persona.chat", json!({"message": "Hi"})).await;
    assert_eq!(r["response"], "Greetings from the other API");
    let id = c.request("persona.chat_stream", json!({"message": "Again"})).await;
    let frames = c.stream_frames(&id).await;
    assert_eq!(
        frames.last().unwrap()["result"]["data"]["full_response"],
        "Greetings from the other API"
    );
    let req = llm.requests().last().unwrap().clone();
    assert_eq!(req["model"], "fake-model");
    assert_eq!(req["stream"], true);
    let models = c.result("system.models", json!({})).await;
    assert_eq!(models["provider"], "openai");
    assert!(models["available_models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "fake-model"));
}

#[tokio::test]
async fn a_tired_persona_still_chats_and_can_be_switched_to() {
    let (llm, server) = boot(Some("Yawn."));
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let mut energy = 80.0;
    for i in 0..18 {
        let r = c
            .result("persona.chat", json!({"message": format!("Question {i}?")}))
            .await;
        energy = r["persona_state"]["social_energy"].as_f64().unwrap();
    }
    assert_eq!(energy, 0.0, "18 turns of at least 5 drain Kira's 80");
    let list = c.result("persona.list", json!({})).await;
    assert_eq!(list["personas"][1]["available"], false);
    assert_eq!(list["available_count"], 1);
    let mut other = server.client().await;
    other.result("persona.switch", json!({"persona_id": "Kira"})).await;
    other.result("persona.chat", json!({"message": "Still there?"})).await;
    let system = llm.requests().last().unwrap()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.contains("need a rest"), "a tired persona says so: {system}");
}

#[tokio::test]
async fn old_messages_are_folded_into_a_summary_and_persona_models_are_used() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Noted.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.chat.max_context_messages = 2;
    settings.chat.context_summary_threshold = 4;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    c.result("persona.update", json!({"persona_id": "Aria", "model": "mistral"}))
        .await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    for i in 0..4 {
        c.result("persona.chat", json!({"message": format!("Fact number {i}")}))
            .await;
    }
    let mut summarised = false;
    for _ in 0..100 {
        summarised = llm.requests().iter().any(|r| {
            r["messages"][0]["content"]
                .as_str()
                .is_some_and(|s| s.starts_with("You keep Aria's memory"))
        });
        if summarised {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(summarised, "the model was asked to fold old messages into a summary");
    let request = llm
        .requests()
        .into_iter()
        .find(|r| r["messages"][0]["content"].as_str().unwrap().starts_with("You keep"))
        .unwrap();
    assert!(request["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("Fact number 0"));
    // The summary is stored right after the model answers it; the next turns pick it up.
    let mut with_summary = None;
    for _ in 0..40 {
        c.result("persona.chat", json!({"message": "And now?"})).await;
        let last = llm
            .requests()
            .into_iter()
            .rev()
            .find(|r| r["messages"].as_array().unwrap().last().unwrap()["content"] == "And now?")
            .expect("the last chat request");
        if last["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Earlier in this conversation:\nNoted.")
        {
            with_summary = Some(last);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last = with_summary.expect("the stored summary reaches the system prompt");
    assert_eq!(last["model"], "mistral", "the persona's own model");
    let msgs = last["messages"].as_array().unwrap();
    assert!(
        msgs[0]["content"]
            .as_str()
            .unwrap()
            .contains("Earlier in this conversation:\nNoted."),
        "{last}"
    );
    assert_eq!(msgs.len(), 4, "system + a window of 2 + the new message");
}
