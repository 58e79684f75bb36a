//! Concurrent clients racing one another: deletes, updates and writes that cross a `persona.delete`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{TestServer, WsClient};

/// Connected clients, each switched to `persona` when given.
async fn clients(server: &TestServer, n: usize, persona: Option<&str>) -> Vec<WsClient> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = server.client().await;
        if let Some(p) = persona {
            c.result("persona.switch", json!({ "persona_id": p })).await;
        }
        out.push(c);
    }
    out
}

/// Sends one request on each client at once; answers the responses in client order.
async fn all_at_once(clients: Vec<WsClient>, calls: Vec<(&'static str, Value)>) -> Vec<Value> {
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(calls)
        .map(|(mut c, (method, params))| tokio::spawn(async move { c.call(method, params).await }))
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("client task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deletes_of_one_memory_delete_it_once() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let server = TestServer::start(&llm.url());
    let mut owner = server.client().await;
    owner.result("persona.switch", json!({"persona_id": "Aria"})).await;
    for round in 0..5 {
        let stored = owner
            .result(
                "memory.store",
                json!({"content": format!("a song for round {round}"), "persona_id": "Aria"}),
            )
            .await;
        let id = stored["memory_id"].clone();
        let racers = clients(&server, 3, Some("Aria")).await;
        let answers = all_at_once(racers, vec![("memory.delete", json!({ "memory_id": id })); 3]).await;
        let deleted = answers.iter().filter(|a| a["result"]["deleted"] == true).count();
        let not_found = answers.iter().filter(|a| a["error"]["code"] == -32008).count();
        assert_eq!((deleted, not_found), (1, 2), "round {round}: {answers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_racing_a_persona_delete_answer_persona_not_found() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Give me a moment to think about that".into()),
        first_token_delay: Duration::from_millis(150),
        ..FakeLlmConfig::default()
    });
    let server = TestServer::start(&llm.url());
    let mut admin = server.client().await;
    for round in 0..4 {
        let name = format!("Racer{round}");
        admin.result("persona.create", json!({ "name": name })).await;
        // A chat is under way (the model answers after 150 ms) when the persona is deleted.
        let mut chatter = clients(&server, 1, Some(&name)).await.remove(0);
        let chat = tokio::spawn(async move { chatter.call("persona.chat", json!({"message": "Hello there"})).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut calls = Vec::new();
        for i in 0..3 {
            calls.push((
                "memory.store",
                json!({"persona_id": name, "content": format!("note {i}")}),
            ));
            calls.push((
                "relationship.update",
                json!({"persona1_id": name, "persona2_id": "Aria", "interaction_quality": 0.5,
                       "duration_minutes": 5.0, "context": "chat"}),
            ));
            calls.push(("emotional.update_state", json!({"persona_id": name, "mood": 0.4})));
        }
        calls.push(("persona.delete", json!({ "persona_id": name })));
        let racers = clients(&server, calls.len(), None).await;
        let mut methods: Vec<&str> = calls.iter().map(|(m, _)| *m).collect();
        methods.push("persona.chat");
        let mut answers = all_at_once(racers, calls).await;
        answers.push(chat.await.expect("chat task"));
        for (method, a) in methods.iter().zip(&answers) {
            if let Some(code) = a["error"]["code"].as_i64() {
                assert_eq!(code, -32001, "round {round}, {method}: {a}");
            }
        }
        let chat = answers.last().expect("chat answer");
        assert_eq!(
            chat["error"]["code"], -32001,
            "a chat whose persona went mid-turn: {chat}"
        );
        let deleted = &answers[answers.len() - 2];
        assert_eq!(deleted["result"]["deleted"], true, "{deleted}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_different_fields_are_all_kept() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let server = TestServer::start(&llm.url());
    let mut chatter = server.client().await;
    chatter.result("persona.switch", json!({"persona_id": "Kira"})).await;
    // Kira's actor runs (as it does once anyone talks to her) while she is updated.
    chatter.result("persona.chat", json!({"message": "Hello"})).await;
    for round in 0..4 {
        let model = format!("model-{round}");
        let changes = vec![
            json!({"description": format!("description {round}")}),
            json!({"charisma": 1 + round}),
            json!({"intelligence": 5 + round}),
            json!({"social_rank": format!("rank-{round}")}),
            json!({ "model": model }),
            json!({"system_prompt": format!("prompt {round}")}),
            json!({"personality_traits": {"curious": 10 * round}}),
            json!({"topic_preferences": {"runes": f64::from(10 * round)}}),
        ];
        let calls = changes
            .into_iter()
            .map(|mut c| {
                c["persona_id"] = json!("Kira");
                ("persona.update", c)
            })
            .collect::<Vec<_>>();
        let racers = clients(&server, calls.len(), None).await;
        for answer in all_at_once(racers, calls).await {
            assert_eq!(answer["result"]["updated"], true, "{answer}");
        }
        let card = &chatter.result("persona.get", json!({"persona_id": "Kira"})).await["persona"];
        let round_i = i64::from(round);
        assert_eq!(
            card["description"],
            format!("description {round}"),
            "round {round}: {card}"
        );
        assert_eq!(card["charisma"], 1 + round_i, "round {round}: {card}");
        assert_eq!(card["intelligence"], 5 + round_i, "round {round}: {card}");
        assert_eq!(card["social_rank"], format!("rank-{round}"), "round {round}: {card}");
        assert_eq!(card["model"], model, "round {round}: {card}");
        assert_eq!(
            card["system_prompt"],
            format!("prompt {round}"),
            "round {round}: {card}"
        );
        assert_eq!(
            card["personality_traits"]["curious"],
            10 * round_i,
            "round {round}: {card}"
        );
        assert_eq!(
            card["topic_preferences"]["runes"],
            f64::from(10 * round),
            "round {round}: {card}"
        );
        // The running persona has the stored card: the next chat asks for the last model.
        chatter.result("persona.chat", json!({"message": "Still there?"})).await;
        let asked = llm.requests().last().expect("a chat request")["model"].clone();
        assert_eq!(asked, model, "round {round}");
    }
}
