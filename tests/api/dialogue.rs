//! Persona-to-persona conversations over the WebSocket (fake LLM).

use serde_json::json;

use crate::boot;

#[tokio::test]
async fn a_conversation_alternates_ends_by_budget_and_leaves_relationship_and_memories() {
    let (llm, server) = boot(Some("Magic is the art of listening to the world closely."));
    let mut c = server.client().await;
    // Readers of the memories the conversation leaves, switched before the talk tires the personas out.
    let mut as_kira = server.client().await;
    as_kira.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let mut as_aria = server.client().await;
    as_aria.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let before = c
        .result(
            "relationship.get",
            json!({"persona1_id": "Aria", "persona2_id": "Kira"}),
        )
        .await;
    let count_before = before["relationship"]["interaction_count"].as_i64().unwrap();
    let started = c
        .result(
            "conversation.start",
            json!({"persona1_id": "Aria", "persona2_id": "Kira", "topic": "magic", "token_budget": 50}),
        )
        .await;
    assert_eq!(started["started"], true);
    assert_eq!(started["topic"], "magic");
    let id = started["conversation_id"].clone();
    let aria = started["participants"][0].clone();
    let kira = started["participants"][1].clone();

    let first = c.result("conversation.turn", json!({"conversation_id": id})).await;
    assert_eq!(first["speaker_id"], aria);
    assert_eq!(first["content"], "Magic is the art of listening to the world closely.");
    assert!(first["continue_score"].as_f64().unwrap() > 0.0);
    assert_eq!(first["tokens_used"], 10);
    let system = llm.requests().last().unwrap()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.starts_with("You are Aria."), "{system}");
    assert!(system.contains("You are talking with Kira"), "{system}");
    assert!(system.contains("acquaintance"), "{system}");
    assert!(system.contains("The topic is magic."), "{system}");

    let id2 = c
        .request("conversation.turn", json!({"conversation_id": id, "stream": true}))
        .await;
    let note = c.next_frame().await;
    assert_eq!(note["method"], "conversation.turn_chunk");
    assert_eq!(note["params"]["chunk_number"], 1);
    let second = c.frame_for(&id2).await["result"].clone();
    assert_eq!(second["speaker_id"], kira);
    let kira_view = llm.requests().last().unwrap()["messages"].as_array().unwrap().clone();
    assert_eq!(kira_view.last().unwrap()["role"], "user", "Kira answers Aria's line");

    let status = c.result("conversation.status", json!({"conversation_id": id})).await;
    assert_eq!(status["turn_count"], 2);
    assert_eq!(status["tokens_used"], 20);
    assert_eq!(status["tokens_remaining"], 30);
    assert_eq!(status["active"], true);
    assert_eq!(status["participants"], json!([aria, kira]));
    let active = c.result("conversation.list", json!({"persona_id": "Kira"})).await;
    assert_eq!(active["conversations"].as_array().unwrap().len(), 1);

    let mut last = second;
    for _ in 0..10 {
        if last["ended"] == true {
            break;
        }
        last = c.result("conversation.turn", json!({"conversation_id": id})).await;
    }
    assert_eq!(last["ended"], true, "the conversation ends by itself");
    assert_eq!(last["end_reason"], "token_budget");
    assert_eq!(last["final_stats"]["turns"], 5);
    assert_eq!(last["final_stats"]["tokens_used"], 50);

    let e = c.error("conversation.turn", json!({"conversation_id": id})).await;
    assert_eq!(e["code"], -32007);
    let ended = c.result("conversation.end", json!({"conversation_id": id})).await;
    assert_eq!(ended["ended"], true);
    assert_eq!(ended["reason"], "token_budget", "ending again reports how it ended");
    assert_eq!(
        c.result("conversation.list", json!({})).await["conversations"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        c.result("conversation.list", json!({"active_only": false})).await["conversations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let after = c
        .result(
            "relationship.get",
            json!({"persona1_id": "Kira", "persona2_id": "Aria"}),
        )
        .await;
    assert_eq!(
        after["relationship"]["interaction_count"].as_i64().unwrap(),
        count_before + 1
    );
    let seen = as_kira
        .result(
            "memory.search_cross_persona",
            json!({"persona_id": "Kira", "query": "talked about magic", "min_importance": 0.0}),
        )
        .await;
    let contents: Vec<String> = seen["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert!(
        contents.iter().any(|t| t.starts_with("Talked with Aria about magic")),
        "Kira's own: {contents:?}"
    );
    assert!(
        contents.iter().any(|t| t.starts_with("Talked with Kira about magic")),
        "Aria's shared one: {contents:?}"
    );
    let mine = as_aria
        .result("memory.search", json!({"persona_id": "Aria", "query": "Kira magic"}))
        .await;
    assert!(mine["memories"][0]["content"]
        .as_str()
        .unwrap()
        .starts_with("Talked with Kira about magic"));
    assert_eq!(mine["memories"][0]["visibility"], "shared");
    assert_eq!(mine["memories"][0]["related_personas"], json!([kira]));
    let e = c.error("persona.switch", json!({"persona_id": "Aria"})).await;
    assert_eq!(e["code"], -32006, "a cooldown follows the conversation");
    assert_eq!(e["message"], "Persona Aria is not available for interaction");

    c.close().await;
    let server = server.restart().await;
    let mut c = server.client().await;
    let kept = c
        .result(
            "relationship.get",
            json!({"persona1_id": "Aria", "persona2_id": "Kira"}),
        )
        .await;
    assert_eq!(
        kept["relationship"]["interaction_count"].as_i64().unwrap(),
        count_before + 1
    );
    let status = c.result("conversation.status", json!({"conversation_id": id})).await;
    assert_eq!(
        (status["active"].clone(), status["turn_count"].clone()),
        (json!(false), json!(5))
    );
}

#[tokio::test]
async fn ending_early_and_bad_conversation_input() {
    let (_llm, server) = boot(Some("Hm."));
    let mut c = server.client().await;
    c.result("persona.create", json!({"name": "Bram"})).await;
    let e = c
        .error(
            "conversation.start",
            json!({"persona1_id": "Aria", "persona2_id": "aria"}),
        )
        .await;
    assert_eq!(e["code"], -32602);
    assert!(e["message"].as_str().unwrap().starts_with("persona2_id"));
    let e = c
        .error(
            "conversation.start",
            json!({"persona1_id": "Aria", "persona2_id": "Ghost"}),
        )
        .await;
    assert_eq!(e["code"], -32001);
    let e = c.error("conversation.start", json!({"persona1_id": "Aria"})).await;
    assert_eq!(e["message"], "persona2_id is required");
    let e = c.error("conversation.status", json!({"conversation_id": "nope"})).await;
    assert_eq!(e["code"], -32004);
    assert_eq!(
        c.result("conversation.list", json!({"active_only": false})).await["total"],
        0,
        "nothing started"
    );

    let started = c
        .result(
            "conversation.start",
            json!({"persona1_id": "Bram", "persona2_id": "Kira"}),
        )
        .await;
    let id = started["conversation_id"].clone();
    assert_eq!(started["topic"], "general");
    let e = c
        .error(
            "conversation.turn",
            json!({"conversation_id": id, "speaker_id": "Aria"}),
        )
        .await;
    assert_eq!(e["code"], -32602, "Aria is not in this conversation");
    let t = c
        .result(
            "conversation.turn",
            json!({"conversation_id": id, "speaker_id": "Kira"}),
        )
        .await;
    assert_eq!(t["speaker_name"], "Kira");
    let ended = c
        .result("conversation.end", json!({"conversation_id": id, "reason": "bedtime"}))
        .await;
    assert_eq!(ended["reason"], "bedtime");
    assert_eq!(ended["final_stats"]["turns"], 1);
    assert!(ended["final_stats"]["duration"].as_f64().unwrap() >= 0.0);
    assert_eq!(ended["relationship"]["interaction_count"], 1, "Bram and Kira met");
    let rel = c
        .result(
            "relationship.get",
            json!({"persona1_id": "Bram", "persona2_id": "Kira"}),
        )
        .await;
    assert_eq!(rel["exists"], true);
}
