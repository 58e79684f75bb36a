//! `persona_id` on the methods that act on "the connection's current persona" (issue 10 item 5): it selects the
//! persona for that call, so a client that keeps no connection (a stateless MCP host) can chat; without it the
//! current persona is used as before. And a chat turn's memory respects `memory.max_content_bytes`.

use serde_json::{json, Value};

use crate::boot;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

const REPLY: &str = "Greetings from the observatory";

/// The system message of the last chat request the fake LLM got.
fn last_system_prompt(llm: &FakeLlm) -> String {
    let requests = llm.requests();
    let last = requests.last().expect("a chat request");
    last["messages"][0]["content"]
        .as_str()
        .expect("a system message")
        .to_string()
}

#[tokio::test]
async fn persona_id_selects_the_persona_without_a_switch() {
    let (llm, server) = boot(Some(REPLY));
    let mut c = server.client().await;
    let kira = c.result("persona.get", json!({ "persona_id": "Kira" })).await["persona"]["id"].clone();

    let chat = c
        .result("persona.chat", json!({ "persona_id": "kira", "message": "Hello" }))
        .await;
    assert_eq!(chat["response"], REPLY);
    assert!(last_system_prompt(&llm).starts_with("You are Kira."), "Kira answered");

    let id = c
        .request(
            "persona.chat_stream",
            json!({ "persona_id": "Aria", "message": "Sing" }),
        )
        .await;
    let frames = c.stream_frames(&id).await;
    assert_eq!(frames[0]["result"]["data"]["persona_name"], "Aria", "{frames:?}");
    assert_eq!(frames.last().unwrap()["result"]["event_type"], "stream_complete");

    let sent = c
        .result(
            "conversation.send_message",
            json!({ "persona_id": kira, "content": "Hi from the bridge", "sender": "@bob", "room_id": "!r" }),
        )
        .await;
    assert_eq!(sent["persona_id"], kira);
    assert_eq!(sent["response"], REPLY);

    let status = c.result("persona.status", json!({ "persona_id": "Kira" })).await;
    assert_eq!(status["persona"]["name"], "Kira");
    let rel = c
        .result(
            "persona.relationship",
            json!({ "persona_id": "Kira", "target_persona": "Aria" }),
        )
        .await;
    assert_eq!(rel["current_persona"], kira);
    assert_eq!(rel["relationship"]["relationship_type"], "acquaintance");
    let emotions = c.result("emotional.get_state", json!({ "persona_id": "Kira" })).await;
    assert_eq!(emotions["persona_id"], kira);

    for (method, params) in [
        ("persona.chat", json!({ "message": "Hello" })),
        ("persona.status", json!({})),
        ("persona.relationship", json!({})),
        ("conversation.send_message", json!({ "content": "Hi" })),
    ] {
        let e = c.error(method, params).await;
        assert_eq!(
            e["code"], -32002,
            "{method} without persona_id or a current persona: {e}"
        );
        assert_eq!(e["message"], "No persona selected. Use persona.switch first");
    }
    let e = c
        .error("persona.chat", json!({ "persona_id": "Nobody", "message": "Hello" }))
        .await;
    assert_eq!(e["code"], -32001);

    // The current persona stays the default, and persona_id overrides it for one call only.
    c.result("persona.switch", json!({ "persona_id": "Aria" })).await;
    let status = c.result("persona.status", json!({})).await;
    assert_eq!(status["persona"]["name"], "Aria");
    c.result("persona.chat", json!({ "persona_id": "Kira", "message": "Once" }))
        .await;
    assert!(last_system_prompt(&llm).starts_with("You are Kira."));
    c.result("persona.chat", json!({ "message": "Again" })).await;
    assert!(last_system_prompt(&llm).starts_with("You are Aria."), "still Aria");
    let system = c.result("system.status", json!({})).await;
    assert_eq!(system["current_persona"], status["persona"]["id"]);
}

#[tokio::test]
async fn tool_descriptions_say_persona_id_selects_the_persona() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    c.result(
        "initialize",
        json!({ "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "0" } }),
    )
    .await;
    let mut tools: Vec<Value> = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = c.result("tools/list", json!({ "cursor": cursor })).await;
        tools.extend(page["tools"].as_array().unwrap().iter().cloned());
        match page.get("nextCursor") {
            Some(next) => cursor = next.clone(),
            None => break,
        }
    }
    for name in [
        "persona_chat",
        "persona_chat_stream",
        "persona_status",
        "persona_memory",
        "persona_relationship",
        "conversation_send_message",
        "memory_search",
        "memory_store",
        "emotional_get_state",
        "relationship_list",
    ] {
        let tool = tools.iter().find(|t| t["name"] == name).expect(name);
        assert!(
            tool["inputSchema"]["properties"]["persona_id"].is_object(),
            "{name} takes persona_id: {tool}"
        );
        let description = tool["description"].as_str().unwrap();
        assert!(
            description.contains("persona_id, or the connection's current persona"),
            "{name}: {description}"
        );
    }
}

#[tokio::test]
async fn a_huge_reply_becomes_a_memory_no_larger_than_the_limit() {
    // 2 MiB in 128 words of 16 KiB: tokens of a size a model could send, well within the token budget.
    let reply = vec!["x".repeat(16 * 1024); 128].join(" ");
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some(reply.clone()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(&llm.url(), dir.path());
    let max = settings.memory.max_content_bytes;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    c.result("persona.switch", json!({ "persona_id": "Kira" })).await;
    let chat = c
        .result("persona.chat", json!({ "message": "Tell me everything" }))
        .await;
    assert_eq!(
        chat["response"].as_str().unwrap().len(),
        reply.len(),
        "the reply itself is whole"
    );
    let memories = c.result("persona.memory", json!({ "limit": 5 })).await;
    assert_eq!(memories["total_found"], 1, "{}", memories["total_found"]);
    let content = memories["memories"][0]["content"].as_str().unwrap();
    assert!(content.len() <= max, "a {} byte memory (limit {max})", content.len());
    assert!(
        content.starts_with("User: Tell me everything\nKira: xxx"),
        "{}",
        &content[..60]
    );
    assert!(content.ends_with('…'));
}
