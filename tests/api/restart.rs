//! State that matters survives a restart: personas, created personas, chat history.

use serde_json::json;

use crate::boot;

#[tokio::test]
async fn personas_and_chat_history_survive_a_restart() {
    let (llm, server) = boot(Some("I remember you."));
    let mut c = server.client().await;
    c.result(
        "persona.create",
        json!({"name": "Mira", "description": "A quiet archivist"}),
    )
    .await;
    let switched = c.result("persona.switch", json!({"persona_id": "Mira"})).await;
    let session = switched["session_id"].clone();
    c.result("persona.chat", json!({"message": "My name is Tom."})).await;
    let before = c.result("persona.list", json!({})).await;
    c.close().await;

    let server = server.restart().await;
    let mut c = server.client().await;
    let after = c.result("persona.list", json!({})).await;
    assert_eq!(after["total_count"], 3);
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["personas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&before), ids(&after), "same personas, same ids, same order");
    c.result("persona.switch", json!({"persona_id": "mira", "session_id": session}))
        .await;
    c.result("persona.chat", json!({"message": "What is my name?"})).await;
    let msgs = llm.requests().last().unwrap()["messages"].as_array().unwrap().clone();
    let texts: Vec<&str> = msgs.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(texts[1..], ["My name is Tom.", "I remember you.", "What is my name?"]);
    let status = c.result("persona.status", json!({})).await;
    assert!(
        status["interaction_state"]["social_energy"].as_f64().unwrap() < 100.0,
        "state persisted"
    );
}
