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

#[tokio::test]
async fn update_validates_flat_fields_and_the_updates_object_alike() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let card = |mut got: serde_json::Value| {
        got["persona"]["memory_stats"].take();
        got["persona"].take()
    };
    let before = card(c.result("persona.get", json!({"persona_id": "Aria"})).await);
    let wrong = [
        (json!({"social_rank": 12345}), "social_rank must be a string"),
        (json!({"charisma": "high"}), "charisma must be an integer"),
        (
            json!({"charisma": 40}),
            "charisma must be an integer between 1 and 20, got 40",
        ),
        (
            json!({"personality_traits": "zz"}),
            "personality_traits must be an object",
        ),
        (
            json!({"personality_traits": {"bold": [1]}}),
            "personality_traits.bold must be a number between 0 and 100 or a word such as \"high\", got [1]",
        ),
        (
            json!({"topic_preferences": {"art": 101}}),
            "topic_preferences.art must be a number between 0 and 100, got 101",
        ),
        (json!({"name": "  "}), "name is required"),
        (json!({"social_rank": ""}), "social_rank must not be blank"),
    ];
    for (fields, message) in wrong {
        let mut flat = fields.clone();
        flat["persona_id"] = json!("Aria");
        let e = c.error("persona.update", flat.clone()).await;
        assert_eq!(e["code"], -32602, "{flat}: {e}");
        assert_eq!(e["message"], message, "{flat}: {e}");

        let nested = json!({"persona_id": "Aria", "updates": fields});
        let e = c.error("persona.update", nested.clone()).await;
        assert_eq!(e["code"], -32602, "{nested}: {e}");
        assert_eq!(e["message"], format!("updates.{message}"), "{nested}: {e}");
    }
    for (params, message) in [
        (json!({"updates": {"charisma": 5}}), "persona_id is required"),
        (json!({"persona_id": 7, "charisma": 5}), "persona_id must be a string"),
        (
            json!({"persona_id": "Aria", "updates": "zz"}),
            "updates must be an object",
        ),
        (
            json!({"persona_id": "Aria", "updates": {"charisma": 5}, "intelligence": 6}),
            "give the fields to change either in updates or beside persona_id, not both",
        ),
    ] {
        let e = c.error("persona.update", params.clone()).await;
        assert_eq!(e["code"], -32602, "{params}: {e}");
        assert_eq!(e["message"], message, "{params}: {e}");
    }
    let after = card(c.result("persona.get", json!({"persona_id": "Aria"})).await);
    assert_eq!(after, before, "no refused update changed anything");

    let flat = c
        .result(
            "persona.update",
            json!({"persona_id": "Aria", "social_rank": "noble", "charisma": 17, "websocket_id": "ignored-extra"}),
        )
        .await;
    assert_eq!(flat["persona"]["social_rank"], "noble");
    assert_eq!(flat["persona"]["charisma"], 17);
    let nested = c
        .result(
            "persona.update",
            json!({"persona_id": "aria", "updates": {"personality_traits": {"bold": "high", "calm": 40}, "intelligence": 3, "unknown": 1}}),
        )
        .await;
    assert_eq!(
        nested["persona"]["personality_traits"],
        json!({"bold": "high", "calm": 40})
    );
    assert_eq!(nested["persona"]["intelligence"], 3);
    let got = c.result("persona.get", json!({"persona_id": "Aria"})).await["persona"].clone();
    assert_eq!(
        (
            &got["social_rank"],
            &got["charisma"],
            &got["intelligence"],
            &got["personality_traits"]["bold"]
        ),
        (&json!("noble"), &json!(17), &json!(3), &json!("high")),
        "both forms were stored: {got}"
    );
}
