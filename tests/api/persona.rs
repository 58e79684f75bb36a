//! persona.* over the WebSocket.

use serde_json::json;

use crate::boot;

#[tokio::test]
async fn seeded_personas_are_listed_in_creation_order_with_all_fields() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let r = c.result("persona.list", json!({})).await;
    assert_eq!(r["total_count"], 2);
    assert_eq!(r["available_count"], 2);
    let names: Vec<&str> = r["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Aria", "Kira"]);
    let aria = &r["personas"][0];
    for field in [
        "id",
        "name",
        "description",
        "available",
        "social_energy",
        "current_priority",
        "cooldown_remaining",
    ] {
        assert!(aria.get(field).is_some(), "missing {field}: {aria}");
    }
    assert_eq!(aria["social_energy"], 150.0);
    assert_eq!(aria["current_priority"], "social");
    assert_eq!(r["personas"][1]["current_priority"], "academic");
}

#[tokio::test]
async fn get_accepts_name_case_insensitively_and_id() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let by_name = c.result("persona.get", json!({"persona_id": "kIRA"})).await;
    let p = &by_name["persona"];
    assert_eq!(p["name"], "Kira");
    assert_eq!(p["charisma"], 12);
    assert_eq!(p["intelligence"], 18);
    assert_eq!(p["social_rank"], "scholar");
    assert_eq!(p["personality_traits"]["analytical"], 95);
    assert_eq!(p["topic_preferences"]["research"], 95.0);
    for field in ["model", "avatar_url"] {
        assert!(p.get(field).is_some(), "missing {field}");
    }
    let by_id = c.result("persona.get", json!({"persona_id": p["id"]})).await;
    assert_eq!(by_id["persona"]["name"], "Kira");
}

#[tokio::test]
async fn switch_returns_session_and_state() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let r = c.result("persona.switch", json!({"persona_id": "aria"})).await;
    assert_eq!(r["name"], "Aria");
    assert_eq!(r["status"], "active");
    assert_eq!(r["available_time"], 600.0);
    assert_eq!(r["current_priority"], "social");
    assert!(r["session_id"].as_str().unwrap().len() >= 32);
    assert!(r["persona_id"].is_string());
    let status = c.result("persona.status", json!({})).await;
    assert_eq!(status["persona"]["name"], "Aria");
    let st = &status["interaction_state"];
    for field in [
        "interest_level",
        "interaction_fatigue",
        "current_priority",
        "available_time",
        "social_energy",
        "cooldown_until",
        "is_available",
    ] {
        assert!(st.get(field).is_some(), "missing {field}: {st}");
    }
    assert_eq!(st["is_available"], true);
}

#[tokio::test]
async fn create_update_delete_round_trip() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let created = c
        .result(
            "persona.create",
            json!({
                "name": "Bram",
                "description": "A gruff dwarven smith",
                "personality_traits": {"stubborn": 80, "loyal": "high"},
                "topic_preferences": {"metalwork": 95},
                "charisma": 8,
                "social_rank": "merchant",
                "websocket_id": "ignored-extra",
            }),
        )
        .await;
    assert_eq!(created["created"], true);
    assert_eq!(created["name"], "Bram");
    let id = created["persona_id"].clone();
    let got = c.result("persona.get", json!({"persona_id": id})).await;
    assert_eq!(got["persona"]["personality_traits"]["loyal"], "high");
    assert_eq!(got["persona"]["intelligence"], 10);

    let dup = c.error("persona.create", json!({"name": "bram"})).await;
    assert_eq!(dup["code"], -32007);

    let updated = c
        .result(
            "persona.update",
            json!({"persona_id": "Bram", "description": "A cheerful smith", "model": "mistral"}),
        )
        .await;
    assert_eq!(updated["persona"]["description"], "A cheerful smith");
    assert_eq!(updated["persona"]["model"], "mistral");
    assert_eq!(updated["persona"]["charisma"], 8);

    let list = c.result("persona.list", json!({})).await;
    assert_eq!(list["total_count"], 3);
    assert_eq!(list["personas"][2]["name"], "Bram");

    let deleted = c.result("persona.delete", json!({"persona_id": id})).await;
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["name"], "Bram");
    assert!(deleted["message"].is_string());
    let gone = c.error("persona.get", json!({"persona_id": "Bram"})).await;
    assert_eq!(gone["code"], -32001);
    assert_eq!(gone["message"], "Persona not found: Bram");
}

#[tokio::test]
async fn bad_persona_input_names_the_field() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let e = c.error("persona.switch", json!({})).await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["message"], "persona_id is required");
    let e = c.error("persona.get", json!({"persona_id": 42})).await;
    assert_eq!(e["code"], -32602);
    assert!(e["message"].as_str().unwrap().starts_with("persona_id"), "{e}");
    let e = c.error("persona.create", json!({"name": "X", "charisma": 40})).await;
    assert_eq!(e["code"], -32602);
    assert!(e["message"].as_str().unwrap().contains("charisma"), "{e}");
    let e = c
        .error(
            "persona.create",
            json!({"name": "Y", "topic_preferences": {"art": 101}}),
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("topic_preferences.art"), "{e}");
    let e = c.error("persona.create", json!({"description": "no name"})).await;
    assert_eq!(e["message"], "name is required");
    let e = c.error("persona.switch", json!({"persona_id": "Nobody"})).await;
    assert_eq!(e["code"], -32001);
    assert_eq!(e["data"]["persona_id"], "Nobody");
    let e = c.error("persona.status", json!({})).await;
    assert_eq!(e["code"], -32002);
    assert_eq!(e["message"], "No persona selected. Use persona.switch first");
    let list = c.result("persona.list", json!({})).await;
    assert_eq!(list["total_count"], 2, "nothing was created by bad input");
}

#[tokio::test]
async fn names_are_unique_and_found_in_any_case_across_unicode() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let created = c.result("persona.create", json!({"name": "Émile"})).await;
    for taken in ["émile", "ÉMILE", " émILE "] {
        let dup = c.error("persona.create", json!({ "name": taken })).await;
        assert_eq!(dup["code"], -32007, "{taken}: {dup}");
    }
    let renamed = c
        .error("persona.update", json!({"persona_id": "Kira", "name": "éMILE"}))
        .await;
    assert_eq!(renamed["code"], -32007, "{renamed}");
    let found = c.result("persona.get", json!({"persona_id": "éMILE"})).await;
    assert_eq!(found["persona"]["id"], created["persona_id"]);
    assert_eq!(found["persona"]["name"], "Émile");
    let same = c
        .result("persona.update", json!({"persona_id": "émile", "name": "ÉMILE"}))
        .await;
    assert_eq!(
        same["persona"]["name"], "ÉMILE",
        "a persona may change the case of its own name"
    );
}
