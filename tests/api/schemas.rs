//! Typed results (issue 10 item 4): every MCP tool has an `outputSchema` generated from its result type (an object
//! schema, streaming tools too), and the `structuredContent` of a call of every tool is valid against it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::boot;
use crate::mcp::{ready, structured};
use crate::support::WsClient;

/// Every tool of `tools/list`, by name, following the pages.
async fn tools(c: &mut WsClient) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut cursor = Value::Null;
    loop {
        let page = c.result("tools/list", json!({ "cursor": cursor })).await;
        for tool in page["tools"].as_array().expect("tools") {
            all.insert(tool["name"].as_str().unwrap().to_string(), tool.clone());
        }
        match page.get("nextCursor") {
            Some(next) => cursor = next.clone(),
            None => return all,
        }
    }
}

/// Calls a tool that must succeed; checks its `structuredContent` against the tool's `outputSchema` (formats
/// such as uuid and date-time included) and returns it.
async fn checked(c: &mut WsClient, tools: &BTreeMap<String, Value>, name: &str, arguments: Value) -> Value {
    let result = c
        .result("tools/call", json!({ "name": name, "arguments": arguments }))
        .await;
    let content = structured(&result).clone();
    let schema = &tools[name]["outputSchema"];
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("{name}: the outputSchema is not a valid schema: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&content)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: structuredContent does not match its outputSchema: {errors:#?}\n{content:#}"
    );
    content
}

#[tokio::test]
async fn every_tool_has_an_object_output_schema() {
    let (_llm, server) = boot(None);
    let mut c = ready(&server, None).await;
    let tools = tools(&mut c).await;
    assert!(tools.len() >= 40, "{} tools", tools.len());
    for (name, tool) in &tools {
        let schema = &tool["outputSchema"];
        assert_eq!(schema["type"], "object", "{name}: outputSchema {schema}");
        jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert!(tools["persona_chat_stream"]["outputSchema"]["properties"]["full_response"].is_object());
    let chat = &tools["persona_chat"]["outputSchema"];
    for field in [
        "response",
        "response_type",
        "continue_score",
        "tokens_used",
        "processing_time",
        "persona_state",
    ] {
        assert!(
            chat["required"].as_array().unwrap().contains(&json!(field)),
            "persona_chat always answers {field}: {chat}"
        );
    }
}

#[tokio::test]
async fn structured_content_of_every_tool_matches_its_output_schema() {
    let (_llm, server) = boot(Some("Well met, traveller."));
    let mut c = ready(&server, None).await;
    let tools = tools(&mut c).await;
    let mut called = BTreeSet::new();
    macro_rules! call {
        ($name:expr, $args:expr) => {{
            called.insert($name.to_string());
            checked(&mut c, &tools, $name, $args).await
        }};
    }

    call!("persona_list", json!({}));
    call!("persona_get", json!({ "persona_id": "Aria" }));
    call!(
        "persona_create",
        json!({ "name": "Zed", "personality_traits": { "bold": "high" } })
    );
    call!("persona_update", json!({ "persona_id": "Zed", "charisma": 12 }));
    call!(
        "relationship_get",
        json!({ "persona1_id": "Aria", "persona2_id": "Zed" })
    );
    call!(
        "relationship_get",
        json!({ "persona1_id": "Aria", "persona2_id": "Kira" })
    );
    call!("persona_switch", json!({ "persona_id": "Aria" }));
    call!("persona_status", json!({}));
    call!("persona_chat", json!({ "message": "Hello" }));
    call!("persona_chat_stream", json!({ "message": "Sing" }));
    call!("persona_chat_cancel", json!({ "stream_id": "none" }));
    call!(
        "conversation_send_message",
        json!({ "content": "Hi", "sender": "@bob", "room_id": "!r" })
    );
    call!("system_status", json!({}));
    call!("system_models", json!({}));
    call!("system_config_get", json!({}));
    call!(
        "system_config_set",
        json!({ "key": "memory.prompt_memories", "value": 5 })
    );
    call!("visual_subscribe", json!({}));
    call!("visual_update", json!({ "type": "scene", "data": { "x": 1 } }));
    call!(
        "visual_update",
        json!({ "type": "scene", "data": { "description": "A hall of mirrors", "persona_id": "Aria" } })
    );
    call!("visual_get", json!({ "persona_id": "Aria" }));
    call!("visual_get", json!({}));
    call!("state_subscribe", json!({ "events": ["energy"] }));

    let stored = call!(
        "memory_store",
        json!({ "content": "Aria sang at the harvest fair", "visibility": "shared", "related_personas": ["Kira"] })
    );
    let id = stored["memory_id"].clone();
    call!(
        "memory_import",
        json!({ "memories": [{ "content": "Aria tuned her lute" }, { "content": "Aria met Kira", "importance": "auto" }] })
    );
    call!("memory_search", json!({ "query": "harvest fair" }));
    call!("memory_get", json!({ "memory_id": id }));
    call!("memory_stats", json!({}));
    call!("memory_prune", json!({}));
    call!("memory_prune", json!({ "force": true }));
    call!("memory_prune_all", json!({}));
    call!("memory_prune_recommendations", json!({}));
    call!("memory_prune_stats", json!({}));
    call!("memory_decay_start", json!({ "interval_minutes": 60 }));
    call!("memory_decay_stats", json!({}));
    call!("memory_decay_stop", json!({}));
    call!("memory_decay_force", json!({ "decay_factor": 0.1 }));
    call!(
        "memory_search_cross_persona",
        json!({ "query": "harvest fair", "min_importance": 0.0 })
    );
    call!("memory_shared_stats", json!({}));
    call!("persona_memory", json!({}));
    call!("persona_memory", json!({ "query": "harvest" }));

    call!("relationship_list", json!({}));
    call!(
        "relationship_compatibility",
        json!({ "persona1_id": "Aria", "persona2_id": "Kira" })
    );
    call!(
        "relationship_update",
        json!({ "persona1_id": "Aria", "persona2_id": "Zed", "interaction_quality": 0.8, "duration_minutes": 20 })
    );
    call!("relationship_stats", json!({}));
    call!("persona_relationship", json!({}));
    call!("persona_relationship", json!({ "target_persona": "Kira" }));
    call!("emotional_get_state", json!({}));
    call!(
        "emotional_update_state",
        json!({ "mood": 0.5, "deltas": { "stress_level": 0.1 } })
    );

    let started = call!(
        "conversation_start",
        json!({ "persona1_id": "Kira", "persona2_id": "Zed", "topic": "stars", "token_budget": 100 })
    );
    let conversation = json!({ "conversation_id": started["conversation_id"] });
    call!("conversation_turn", conversation.clone());
    call!("conversation_status", conversation.clone());
    call!("conversation_list", json!({ "active_only": false }));
    call!("conversation_threads", json!({}));
    call!("conversation_analytics", json!({}));
    call!("conversation_analytics", json!({ "persona_id": "Kira" }));
    call!("conversation_end", conversation);

    // A bot that is not enabled starts no process: no Matrix homeserver is needed for these.
    let bot = call!(
        "bot_create",
        json!({ "persona_id": "Kira", "homeserver": "http://127.0.0.1:9", "user_id": "@kira:localhost",
                "access_token": "secret-token", "enabled": false })
    );
    let bot_id = json!({ "bot_id": bot["bot_id"] });
    call!("bot_list", json!({}));
    call!("bot_get", bot_id.clone());
    call!(
        "bot_update",
        json!({ "bot_id": bot["bot_id"], "rooms": ["!room:localhost"] })
    );
    call!("bot_stop", bot_id.clone());
    call!("bot_logs", bot_id.clone());
    call!("bot_delete", bot_id);

    let saved = call!("state_save", json!({}));
    call!("state_list", json!({}));
    call!("state_verify", json!({}));
    call!("state_load", json!({}));
    call!("state_load", json!({ "confirm": true }));
    let name = saved["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    call!("state_delete", json!({ "name": name }));

    call!(
        "persona_import_card",
        json!({ "card": { "spec": "chara_card_v2", "data": { "name": "Carded" } } })
    );
    call!("persona_export_card", json!({ "persona_id": "Carded" }));
    call!("memory_delete", json!({ "memory_id": id }));
    call!("persona_delete", json!({ "persona_id": "Zed" }));

    // bot_start and bot_restart start a bot process that logs in to a homeserver: tests/api/bot.rs runs them
    // against a real one, and their result type is the same as bot_get's.
    let missing: Vec<&String> = tools
        .keys()
        .filter(|t| !called.contains(*t) && !["bot_start", "bot_restart"].contains(&t.as_str()))
        .collect();
    assert!(missing.is_empty(), "tools not called: {missing:?}");
}
