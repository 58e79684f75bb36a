//! Visual context (scenes in prompts, `visual.get`) and live state broadcast (`state.subscribe`,
//! `state.changed`), over real sockets.

use std::time::Duration;

use serde_json::{json, Value};

use crate::boot;
use crate::support::WsClient;

/// The next `state.changed` notification this client receives.
async fn next_change(c: &mut WsClient) -> Value {
    loop {
        let f = c.read_frame().await.expect("a state.changed notification");
        if f["method"] == "state.changed" {
            return f["params"].clone();
        }
    }
}

fn changes(n: &Value) -> Vec<String> {
    n["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_scene_goes_into_prompts_until_replaced_and_survives_a_restart() {
    let (llm, server) = boot(Some("I see it."));
    let mut c = server.client().await;
    let r = c
        .result(
            "visual.update",
            json!({"type": "scene", "data": {"description": "A rainy harbour at dusk, gulls crying."}}),
        )
        .await;
    assert_eq!(r["visual_updated"], true);
    assert_eq!(r["scene"]["description"], "A rainy harbour at dusk, gulls crying.");
    assert!(r["scene"]["persona_id"].is_null());
    c.result(
        "visual.update",
        json!({"type": "scene", "data": {"description": "A quiet library, candles lit.", "persona_id": "kira"}}),
    )
    .await;

    c.result(
        "persona.chat",
        json!({"persona_id": "Kira", "message": "Where are we?"}),
    )
    .await;
    let kira_prompt = llm.system_prompts().last().unwrap().clone();
    assert!(kira_prompt.contains("A quiet library, candles lit."), "{kira_prompt}");
    assert!(
        !kira_prompt.contains("harbour"),
        "Kira's own scene is newer: {kira_prompt}"
    );
    c.result(
        "persona.chat",
        json!({"persona_id": "Aria", "message": "Where are we?"}),
    )
    .await;
    let aria_prompt = llm.system_prompts().last().unwrap().clone();
    assert!(aria_prompt.contains("A rainy harbour at dusk"), "{aria_prompt}");
    assert!(!aria_prompt.contains("library"), "{aria_prompt}");

    let got = c.result("visual.get", json!({"persona_id": "Kira"})).await;
    assert_eq!(got["scene"]["description"], "A quiet library, candles lit.");
    assert_eq!(got["scenes"].as_array().unwrap().len(), 2);
    let shared = c.result("visual.get", json!({})).await;
    assert_eq!(shared["scene"]["description"], "A rainy harbour at dusk, gulls crying.");

    // A newer shared scene replaces Kira's own; persona-to-persona turns see it too.
    c.result(
        "visual.update",
        json!({"type": "scene", "data": {"description": "A sunny meadow full of bees."}}),
    )
    .await;
    let server = server.restart().await;
    let mut c = server.client().await;
    let got = c.result("visual.get", json!({"persona_id": "Kira"})).await;
    assert_eq!(got["scene"]["description"], "A sunny meadow full of bees.");
    let started = c
        .result(
            "conversation.start",
            json!({"persona1_id": "Aria", "persona2_id": "Kira"}),
        )
        .await;
    c.result(
        "conversation.turn",
        json!({"conversation_id": started["conversation_id"]}),
    )
    .await;
    let prompt = llm.system_prompts().last().unwrap().clone();
    assert!(
        prompt.starts_with("You are Aria") && prompt.contains("sunny meadow"),
        "{prompt}"
    );

    // An empty description removes a scene.
    c.result("visual.update", json!({"type": "scene", "data": {"description": ""}}))
        .await;
    let got = c.result("visual.get", json!({})).await;
    assert!(got["scene"].is_null(), "{got}");
    let got = c.result("visual.get", json!({"persona_id": "Kira"})).await;
    assert_eq!(got["scene"]["description"], "A quiet library, candles lit.");
}

#[tokio::test]
async fn bad_scene_updates_are_refused_and_other_types_only_broadcast() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    // Old clients' scene updates without a description are only broadcast.
    let r = c
        .result("visual.update", json!({"type": "scene", "data": {"mood": "festive"}}))
        .await;
    assert!(r.get("scene").is_none(), "{r}");
    let e = c
        .error("visual.update", json!({"type": "scene", "data": {"description": 5}}))
        .await;
    assert_eq!(e["message"], "data.description must be a string");
    let e = c
        .error(
            "visual.update",
            json!({"type": "scene", "data": {"description": "x", "persona_id": "Nobody"}}),
        )
        .await;
    assert_eq!(e["code"], -32001);
    let mut watcher = server.client().await;
    watcher.result("visual.subscribe", json!({})).await;
    let r = c
        .result(
            "visual.update",
            json!({"type": "emotion", "data": {"persona_id": "Aria", "mood": "happy"}}),
        )
        .await;
    assert_eq!(r["recipients"], 1);
    assert!(r.get("scene").is_none());
    let f = watcher.read_frame().await.unwrap();
    assert_eq!(
        (f["method"].as_str(), f["params"]["update_type"].as_str()),
        (Some("visual.update"), Some("emotion"))
    );
    let got = c.result("visual.get", json!({})).await;
    assert!(got["scene"].is_null() && got["scenes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn subscribers_hear_about_the_personas_and_changes_they_asked_for() {
    let (_llm, server) = boot(Some("Sure thing."));
    let mut aria_watch = server.client().await;
    let r = aria_watch
        .result("state.subscribe", json!({"persona_id": "Aria"}))
        .await;
    assert_eq!(
        (r["subscribed"].as_bool(), r["subscribers"].as_u64()),
        (Some(true), Some(1))
    );
    let mut turn_watch = server.client().await;
    let r = turn_watch
        .result("state.subscribe", json!({"events": ["turn_completed"]}))
        .await;
    assert_eq!(r["events"], json!(["turn_completed"]));
    assert_eq!(r["subscribers"], 2);

    let mut c = server.client().await;
    c.result("persona.chat", json!({"persona_id": "Kira", "message": "hello Kira"}))
        .await;
    c.result("persona.chat", json!({"persona_id": "Aria", "message": "hello Aria"}))
        .await;
    let n = next_change(&mut aria_watch).await;
    assert_eq!(
        n["persona_name"], "Aria",
        "Kira's chat is not sent to an Aria-only subscriber: {n}"
    );
    assert!(changes(&n).contains(&"emotional_state".to_string()) && changes(&n).contains(&"energy".to_string()));
    assert!(n["state"]["social_energy"].as_f64().unwrap() < 150.0, "{n}");
    assert!(n["state"]["emotional_state"]["mood"].is_number());
    assert_eq!(n["state"]["available"], true);

    c.result("emotional.update_state", json!({"persona_id": "Aria", "mood": -0.5}))
        .await;
    let n = next_change(&mut aria_watch).await;
    assert_eq!(changes(&n), vec!["emotional_state"]);
    let mood = n["state"]["emotional_state"]["mood"].as_f64().unwrap();
    assert!((mood + 0.5).abs() < 0.01, "{n}");

    let started = c
        .result(
            "conversation.start",
            json!({"persona1_id": "Aria", "persona2_id": "Kira", "topic": "music"}),
        )
        .await;
    let id = started["conversation_id"].clone();
    let n = next_change(&mut aria_watch).await;
    assert_eq!(changes(&n), vec!["conversation"]);
    assert_eq!(n["state"]["current_conversation"], id);
    c.result("conversation.turn", json!({"conversation_id": id})).await;
    // The turn-only subscriber hears it once per participant; the chats and the mood change never reached it.
    let mut heard = Vec::new();
    for _ in 0..2 {
        let n = next_change(&mut turn_watch).await;
        assert!(changes(&n).contains(&"turn_completed".to_string()), "{n}");
        assert_eq!(n["detail"]["turn"]["content"], "Sure thing.");
        assert_eq!(n["detail"]["turn"]["speaker_name"], "Aria");
        heard.push(n["persona_name"].as_str().unwrap().to_string());
    }
    heard.sort();
    assert_eq!(heard, vec!["Aria", "Kira"]);
    let n = next_change(&mut aria_watch).await;
    assert!(changes(&n).contains(&"turn_completed".to_string()));

    c.result("conversation.end", json!({"conversation_id": id})).await;
    let n = next_change(&mut aria_watch).await;
    assert!(changes(&n).contains(&"conversation".to_string()) && changes(&n).contains(&"relationship".to_string()));
    assert!(n["state"]["current_conversation"].is_null(), "{n}");
    assert_eq!(
        n["state"]["available"], false,
        "the conversation's cooldown started: {n}"
    );

    c.result(
        "relationship.update",
        json!({"persona1_id": "Kira", "persona2_id": "Aria", "interaction_quality": 0.9}),
    )
    .await;
    let n = next_change(&mut aria_watch).await;
    assert_eq!(changes(&n), vec!["relationship"]);
    assert!(n["detail"]["relationship"]["affinity"].is_number(), "{n}");

    // Unsubscribing stops the notifications.
    aria_watch.result("state.subscribe", json!({"subscribe": false})).await;
    c.result("emotional.update_state", json!({"persona_id": "Aria", "mood": 0.2}))
        .await;
    turn_watch
        .result("state.subscribe", json!({"persona_id": "Aria"}))
        .await;
    c.result("emotional.update_state", json!({"persona_id": "Aria", "mood": 0.3}))
        .await;
    let n = next_change(&mut turn_watch).await;
    let mood = n["state"]["emotional_state"]["mood"].as_f64().unwrap();
    assert!((mood - 0.3).abs() < 0.01, "{n}");
    let stray = tokio::time::timeout(Duration::from_millis(300), aria_watch.read_frame()).await;
    assert!(stray.is_err(), "an unsubscribed connection got {stray:?}");
}

#[tokio::test]
async fn subscriptions_end_with_the_connection_and_bad_events_are_refused() {
    let (_llm, server) = boot(None);
    let mut a = server.client().await;
    let e = a
        .error("state.subscribe", json!({"events": ["energy", "gossip"]}))
        .await;
    assert_eq!(e["code"], -32602);
    assert!(
        e["message"].as_str().unwrap().starts_with("events must hold only"),
        "{e}"
    );
    let e = a.error("state.subscribe", json!({"persona_id": "Nobody"})).await;
    assert_eq!(e["code"], -32001);
    a.result("state.subscribe", json!({})).await;
    let mut b = server.client().await;
    assert_eq!(b.result("state.subscribe", json!({})).await["subscribers"], 2);
    a.close().await;
    let mut c = server.client().await;
    let mut subscribers = 0;
    for _ in 0..50 {
        subscribers = c.result("state.subscribe", json!({})).await["subscribers"]
            .as_u64()
            .unwrap();
        if subscribers == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(subscribers, 2, "the closed connection's subscription is gone");
}
