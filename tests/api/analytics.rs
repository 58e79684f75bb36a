//! `conversation.analytics` against a scripted set of chats: every figure is checked against what the fake LLM
//! received and what the chats were.

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{TestServer, WsClient};

/// Words in every message of a chat request: the fake LLM's `prompt_eval_count`.
fn prompt_words(request: &Value) -> u64 {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().split_whitespace().count() as u64)
        .sum()
}

fn system(request: &Value) -> &str {
    request["messages"][0]["content"].as_str().unwrap()
}

async fn chat(c: &mut WsClient, persona: &str, message: &str) {
    c.result("persona.chat", json!({"persona_id": persona, "message": message}))
        .await;
}

fn persona<'a>(figures: &'a Value, name: &str) -> &'a Value {
    figures["personas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing: {figures}"))
}

#[tokio::test]
async fn analytics_add_up_the_scripted_chats() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Sure thing.".into()),
        first_token_delay: Duration::from_millis(20),
        token_delay: Duration::from_millis(10),
        ..FakeLlmConfig::default()
    });
    let server = TestServer::start(&llm.url());
    let mut a = server.client().await;
    let mut b = server.client().await;
    let memory = a
        .result(
            "memory.store",
            json!({"persona_id": "Aria", "content": "Aria loves the harvest festival and its lanterns"}),
        )
        .await;
    let harvest = memory["memory_id"].as_str().unwrap().to_string();

    // Aria: two turns on session A, then (after `mid`) one more there and one on session B; Kira: two on B.
    chat(&mut a, "Aria", "Will you sing at the harvest festival?").await;
    chat(&mut a, "Aria", "Which harvest songs do you know?").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mid = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    chat(&mut a, "Aria", "The lanterns at the harvest festival are lovely").await;
    chat(&mut b, "Aria", "Tell me about the harvest festival").await;
    chat(&mut b, "Kira", "What do the star charts say?").await;
    chat(&mut b, "Kira", "Which constellation rises tonight?").await;
    a.result(
        "relationship.update",
        json!({"persona1_id": "Aria", "persona2_id": "Kira", "interaction_quality": 0.8, "duration_minutes": 5}),
    )
    .await;

    let figures = a.result("conversation.analytics", json!({})).await;
    let names: Vec<&str> = figures["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Aria", "Kira"], "{figures}");

    let aria = persona(&figures, "Aria");
    let requests = llm.requests();
    let asked_aria: Vec<&Value> = requests
        .iter()
        .filter(|r| system(r).starts_with("You are Aria."))
        .collect();
    assert_eq!(asked_aria.len(), 4);
    assert_eq!(aria["conversations"], 2, "{aria}");
    assert_eq!(aria["turns"], 4, "{aria}");
    assert_eq!(aria["tokens_out"], 8, "two tokens a reply: {aria}");
    assert_eq!(
        aria["tokens_in"].as_u64().unwrap(),
        asked_aria.iter().map(|r| prompt_words(r)).sum::<u64>(),
        "{aria}"
    );
    let latency = aria["latency_seconds"]["p50"].as_f64().unwrap();
    let ttfc = aria["ttfc_seconds"]["p50"].as_f64().unwrap();
    assert!(
        ttfc >= 0.02 && latency >= 0.03 && ttfc < latency,
        "ttfc {ttfc}, latency {latency}"
    );
    assert!(aria["latency_seconds"]["p95"].as_f64().unwrap() >= latency);

    let scores = aria["continue_score_curve"].as_array().unwrap();
    let feelings = aria["emotional_state_curve"].as_array().unwrap();
    assert_eq!((scores.len(), feelings.len()), (4, 4));
    let times: Vec<&str> = scores.iter().map(|p| p["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let now = a.result("emotional.get_state", json!({"persona_id": "Aria"})).await;
    let last = &feelings[3];
    for field in ["mood", "stress_level", "curiosity"] {
        let (then, now) = (last[field].as_f64().unwrap(), now["emotional_state"][field].as_f64());
        assert!(
            now.is_some_and(|n| (n - then).abs() < 0.05),
            "{field}: {then} vs {now:?}"
        );
    }

    let labels: Vec<&str> = aria["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert!(labels.iter().all(|l| l.contains("harvest")), "{labels:?}");
    assert!(labels.len() >= 2, "a thread or more per conversation: {labels:?}");

    let changes = aria["relationship_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["interactions"], 1);
    assert_eq!(changes[0]["average_quality"], 0.8);

    let recalled_in_prompts = asked_aria
        .iter()
        .filter(|r| system(r).contains("Aria loves the harvest festival"))
        .count();
    let top = &aria["most_recalled_memories"][0];
    assert!(
        recalled_in_prompts >= 3,
        "the memory reached {recalled_in_prompts} prompts"
    );
    assert_eq!(top["memory_id"], harvest.as_str(), "{aria}");
    assert_eq!(top["recalls"], recalled_in_prompts);
    assert_eq!(top["content"], "Aria loves the harvest festival and its lanterns");

    let kira = persona(&figures, "Kira");
    assert_eq!(
        (kira["conversations"].as_u64(), kira["turns"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(kira["relationship_changes"][0]["partner_id"], aria["persona_id"]);

    // One persona, and a time range.
    let only = a
        .result(
            "conversation.analytics",
            json!({"persona_id": "aria", "since": mid.to_rfc3339()}),
        )
        .await;
    assert_eq!(only["personas"].as_array().unwrap().len(), 1);
    let later = &only["personas"][0];
    assert_eq!(
        (later["turns"].as_u64(), later["conversations"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(later["tokens_out"], 4);
    let before = a
        .result("conversation.analytics", json!({"persona_id": "Aria", "until": mid}))
        .await;
    assert_eq!(before["personas"][0]["turns"], 2);
    assert_eq!(before["personas"][0]["relationship_changes"], json!([]));

    let e = a
        .error(
            "conversation.analytics",
            json!({"since": mid, "until": mid - chrono::Duration::seconds(1)}),
        )
        .await;
    assert_eq!(e["code"], -32602, "{e}");
    assert!(e["message"].as_str().unwrap().contains("until"), "{e}");
    let e = a.error("conversation.analytics", json!({"since": "yesterday"})).await;
    assert_eq!(e["code"], -32602, "{e}");
    assert!(e["message"].as_str().unwrap().contains("since"), "{e}");
}
