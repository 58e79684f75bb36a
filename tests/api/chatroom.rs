//! Chatrooms: persona-to-persona conversations of three personas and more.

use serde_json::{json, Value};

use crate::boot;
use crate::support::fake_llm::FakeLlm;

fn last_prompt(llm: &FakeLlm) -> Vec<Value> {
    llm.requests().last().unwrap()["messages"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_chatroom_picks_the_addressed_then_the_eager_and_never_the_same_twice() {
    let (llm, server) = boot(Some("What do you think, Bard3?"));
    let mut c = server.client().await;
    c.result(
        "persona.create",
        json!({"name": "Bard3", "description": "A wandering bard who loves old songs.", "topic_preferences": {"music": 90}}),
    )
    .await;
    // Reads Bard3's own memories later (switched before the talk starts its cooldown).
    let mut as_bard = server.client().await;
    as_bard.result("persona.switch", json!({"persona_id": "Bard3"})).await;
    let started = c
        .result(
            "conversation.start",
            json!({"participants": ["Aria", "Kira", "Bard3"], "topic": "music", "token_budget": 1000}),
        )
        .await;
    assert_eq!(started["participant_names"], json!(["Aria", "Kira", "Bard3"]));
    let ids: Vec<Value> = started["participants"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 3);
    let id = started["conversation_id"].clone();

    let first = c.result("conversation.turn", json!({"conversation_id": id})).await;
    assert_eq!(first["speaker_name"], "Aria", "the first participant opens");
    let second = c.result("conversation.turn", json!({"conversation_id": id})).await;
    assert_eq!(second["speaker_name"], "Bard3", "Aria addressed Bard3 by name");
    let prompt = last_prompt(&llm);
    let system = prompt[0]["content"].as_str().unwrap();
    assert!(system.starts_with("You are Bard3."), "{system}");
    assert!(system.contains("You are talking with Aria"), "{system}");
    assert!(system.contains("Also here: Kira."), "{system}");
    assert_eq!(prompt.last().unwrap()["content"], "Aria: What do you think, Bard3?");

    // Bard3 names itself: that does not count, and it never speaks twice in a row; Kira has not spoken yet.
    llm.set_config(|c| c.reply = Some("I, Bard3, say: a song!".into()));
    let third = c.result("conversation.turn", json!({"conversation_id": id})).await;
    assert_eq!(third["speaker_name"], "Kira");
    let history: Vec<String> = last_prompt(&llm)
        .iter()
        .skip(1)
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        history,
        vec!["Aria: What do you think, Bard3?", "Bard3: What do you think, Bard3?"],
        "Kira sees who said what"
    );
    let mut speakers = vec![
        first["speaker_id"].clone(),
        second["speaker_id"].clone(),
        third["speaker_id"].clone(),
    ];
    for _ in 0..4 {
        let t = c.result("conversation.turn", json!({"conversation_id": id})).await;
        speakers.push(t["speaker_id"].clone());
    }
    for pair in speakers.windows(2) {
        assert_ne!(pair[0], pair[1], "the same persona twice in a row: {speakers:?}");
    }

    let e = c
        .error(
            "conversation.turn",
            json!({"conversation_id": id, "speaker_id": "Nobody"}),
        )
        .await;
    assert_eq!(e["code"], -32001);
    let status = c.result("conversation.status", json!({"conversation_id": id})).await;
    assert_eq!(status["participants"], json!(ids));
    let listed = c.result("conversation.list", json!({"persona_id": "Bard3"})).await;
    assert_eq!(listed["conversations"][0]["conversation_id"], id);

    let ended = c.result("conversation.end", json!({"conversation_id": id})).await;
    assert_eq!(ended["final_stats"]["turns"], 7);
    for (a, b) in [("Aria", "Bard3"), ("Kira", "Bard3"), ("Aria", "Kira")] {
        let r = c
            .result("relationship.get", json!({"persona1_id": a, "persona2_id": b}))
            .await;
        assert_eq!(r["exists"], true, "{a} and {b} met in the room: {r}");
    }
    let mine = as_bard
        .result(
            "memory.search",
            json!({"persona_id": "Bard3", "query": "Aria Kira music"}),
        )
        .await;
    let text = mine["memories"][0]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("{mine}"));
    assert!(text.starts_with("Talked with Aria and Kira about music."), "{text}");
    assert_eq!(mine["memories"][0]["related_personas"].as_array().unwrap().len(), 2);

    // A deleted room member takes its rooms with it.
    c.result("persona.delete", json!({"persona_id": "Bard3"})).await;
    let e = c.error("conversation.status", json!({"conversation_id": id})).await;
    assert_eq!(e["code"], -32004);
}

#[tokio::test]
async fn bad_chatroom_input_is_refused() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let e = c.error("conversation.start", json!({"participants": ["Aria"]})).await;
    assert_eq!(
        (e["code"].as_i64(), e["message"].as_str()),
        (Some(-32602), Some("participants must name 2 to 8 personas, got 1"))
    );
    let nine: Vec<String> = (0..9).map(|i| format!("P{i}")).collect();
    let e = c.error("conversation.start", json!({"participants": nine})).await;
    assert_eq!(e["code"], -32602);
    let e = c
        .error("conversation.start", json!({"participants": ["Aria", "Kira", "aria"]}))
        .await;
    assert_eq!(e["message"], "participants must name different personas (Aria twice)");
    let e = c
        .error(
            "conversation.start",
            json!({"participants": ["Aria", "Kira", "Nobody"]}),
        )
        .await;
    assert_eq!(e["code"], -32001);
    let e = c.error("conversation.start", json!({"persona2_id": "Kira"})).await;
    assert_eq!(e["message"], "persona1_id is required");
    let e = c
        .error("conversation.start", json!({"participants": "Aria,Kira"}))
        .await;
    assert_eq!(e["code"], -32602);
    let two = c
        .result("conversation.start", json!({"participants": ["Kira", "Aria"]}))
        .await;
    assert_eq!(two["participant_names"], json!(["Kira", "Aria"]));
}
