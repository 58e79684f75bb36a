//! relationship.*, emotional.* and the legacy persona.relationship over the WebSocket.

use serde_json::{json, Value};

use crate::boot;
use crate::support::WsClient;

/// Creates a persona and returns its id.
async fn create(c: &mut WsClient, name: &str) -> String {
    let r = c.result("persona.create", json!({ "name": name })).await;
    r["persona_id"].as_str().expect("persona id").to_string()
}

async fn update(c: &mut WsClient, a: &str, b: &str, quality: f64, minutes: f64) -> Value {
    c.result(
        "relationship.update",
        json!({"persona1_id": a, "persona2_id": b, "interaction_quality": quality, "duration_minutes": minutes}),
    )
    .await
}

async fn get(c: &mut WsClient, a: &str, b: &str) -> Value {
    c.result("relationship.get", json!({"persona1_id": a, "persona2_id": b}))
        .await
}

async fn stats(c: &mut WsClient) -> Value {
    c.result("relationship.stats", json!({})).await["relationship_statistics"].clone()
}

async fn feelings(c: &mut WsClient, persona: &str) -> Value {
    let r = c.result("emotional.get_state", json!({ "persona_id": persona })).await;
    r["emotional_state"].clone()
}

fn close(actual: &Value, expected: f64) -> bool {
    actual.as_f64().is_some_and(|v| (v - expected).abs() < 1e-3)
}

#[tokio::test]
async fn good_interactions_turn_strangers_into_close_friends_seen_from_both_sides() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let bram = create(&mut c, "Bram").await;
    let cora = create(&mut c, "Cora").await;

    let none = get(&mut c, "Bram", "Cora").await;
    assert_eq!(none["exists"], false);
    assert!(none["relationship"].is_null());
    assert_eq!(none["message"], "No relationship found between Bram and Cora");

    let mut types = Vec::new();
    for i in 0..24 {
        // alternate the order: it is one relationship whichever side reports it
        let r = if i % 2 == 0 {
            update(&mut c, &bram, &cora, 0.9, 30.0).await
        } else {
            update(&mut c, "cora", "BRAM", 0.9, 30.0).await
        };
        assert_eq!(r["success"], true);
        assert_eq!(r["message"], "Relationship updated successfully");
        assert_eq!(r["interaction_processed"]["quality"], 0.9);
        assert_eq!(r["interaction_processed"]["duration_minutes"], 30.0);
        assert_eq!(r["interaction_processed"]["context"], "conversation");
        let updated = &r["updated_relationship"];
        for field in [
            "affinity",
            "trust",
            "respect",
            "relationship_type",
            "compatibility_score",
        ] {
            assert!(updated.get(field).is_some(), "missing {field}: {updated}");
        }
        types.push(updated["relationship_type"].as_str().unwrap().to_string());
    }
    let first = |t: &str| types.iter().position(|x| x == t).map(|i| i + 1);
    assert_eq!(types[0], "stranger");
    assert_eq!(first("acquaintance"), Some(6));
    assert_eq!(first("friend"), Some(15));
    assert_eq!(first("close_friend"), Some(24));

    let ab = get(&mut c, &bram, &cora).await;
    let ba = get(&mut c, "Cora", "Bram").await;
    assert_eq!(ab, ba);
    assert_eq!(ab["exists"], true);
    let r = &ab["relationship"];
    for field in [
        "persona1_id",
        "persona2_id",
        "affinity",
        "trust",
        "respect",
        "intimacy",
        "relationship_type",
        "interaction_count",
        "total_interaction_time",
        "compatibility_score",
        "relationship_strength",
        "first_meeting",
        "last_interaction",
        "recent_interaction_quality",
    ] {
        assert!(r.get(field).is_some(), "missing {field}: {r}");
    }
    assert_eq!(r["relationship_type"], "close_friend");
    assert_eq!(r["interaction_count"], 24);
    assert_eq!(r["total_interaction_time"], 720.0);
    assert_eq!(r["recent_interaction_quality"], 0.9);
    assert_eq!(r["affinity"], 1.0);

    for (me, other, other_name) in [(&bram, &cora, "Cora"), (&cora, &bram, "Bram")] {
        let list = c.result("relationship.list", json!({ "persona_id": me })).await;
        assert_eq!(&list["persona_id"], me);
        assert_eq!(list["total_relationships"], 1);
        let row = &list["relationships"][0];
        assert_eq!(&row["other_persona_id"], other);
        assert_eq!(row["other_persona_name"], other_name);
        assert_eq!(row["relationship_type"], "close_friend");
        assert_eq!(row["relationship_strength"], r["relationship_strength"]);
        for field in [
            "affinity",
            "trust",
            "respect",
            "intimacy",
            "interaction_count",
            "compatibility_score",
            "last_interaction",
        ] {
            assert!(row.get(field).is_some(), "missing {field}: {row}");
        }
    }
}

#[tokio::test]
async fn bad_interactions_make_rivals() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let dax = create(&mut c, "Dax").await;
    let eve = create(&mut c, "Eve").await;
    let mut types = Vec::new();
    for _ in 0..12 {
        let r = update(&mut c, &dax, &eve, -0.9, 30.0).await;
        types.push(r["updated_relationship"]["relationship_type"].clone());
    }
    assert_eq!(types[10], "stranger");
    assert_eq!(types[11], "rival");
    let r = get(&mut c, &eve, &dax).await["relationship"].clone();
    assert!(r["affinity"].as_f64().unwrap() < 0.0);
    assert_eq!(r["trust"], 0.0, "bad interactions never build trust");
    assert!(r["relationship_strength"].as_f64().unwrap() < -0.3);
}

#[tokio::test]
async fn aria_and_kira_start_as_acquaintances_and_get_a_full_compatibility_report() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let seeded = get(&mut c, "Aria", "Kira").await;
    assert_eq!(seeded["exists"], true, "{seeded}");
    let r = &seeded["relationship"];
    assert_eq!(r["relationship_type"], "acquaintance");
    let dimensions = ["affinity", "trust", "respect", "intimacy"].map(|d| r[d].as_f64());
    assert_eq!(dimensions, [Some(0.3), Some(0.3), Some(0.4), Some(0.1)]);

    let report = c
        .result(
            "relationship.compatibility",
            json!({"persona1_id": "Aria", "persona2_id": "Kira"}),
        )
        .await;
    assert_eq!(report["persona1"]["name"], "Aria");
    assert_eq!(report["persona2"]["name"], "Kira");
    assert!(report["persona1"]["id"].is_string());
    assert_eq!(report["existing_relationship"], true);
    let analysis = &report["compatibility_analysis"];
    for factor in ["overall", "personality", "social", "interests", "history"] {
        let v = analysis[factor].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "{factor}: {analysis}");
        assert_eq!((v * 1000.0).round() / 1000.0, v, "{factor} has 3 dp");
    }
    let predictions = ["excellent", "very_good", "good", "challenging", "difficult"];
    assert!(predictions.contains(&analysis["prediction"].as_str().unwrap()));
    let s = &report["interaction_suggestions"];
    for field in ["interaction_style", "relationship_potential", "interaction_frequency"] {
        assert!(s[field].is_string(), "{field}: {s}");
    }
    for field in ["recommended_topics", "potential_challenges", "tips"] {
        assert!(s[field].is_array(), "{field}: {s}");
    }
    assert!(s["recommended_topics"].as_array().unwrap().contains(&json!("magic")));
    assert!(!s["tips"].as_array().unwrap().is_empty());

    let fresh = create(&mut c, "Fenn").await;
    let report = c
        .result(
            "relationship.compatibility",
            json!({"persona1_id": fresh, "persona2_id": "Kira"}),
        )
        .await;
    assert_eq!(report["existing_relationship"], false);
    assert_eq!(report["compatibility_analysis"]["history"], 0.5);
}

#[tokio::test]
async fn stats_add_up() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let r = c.result("relationship.stats", json!({})).await;
    assert!(r["timestamp"].is_string());
    let before = r["relationship_statistics"].clone();
    assert_eq!(before["total_relationships"], 1, "the seeded one: {before}");
    assert_eq!(before["relationship_types"]["acquaintance"], 1);
    assert_eq!(before["total_interactions"], 0);
    assert_eq!(before["average_compatibility"], 0.275);
    assert_eq!(before["most_active_personas"], json!([]));

    let gil = create(&mut c, "Gil").await;
    let hal = create(&mut c, "Hal").await;
    for _ in 0..3 {
        update(&mut c, &gil, &hal, 0.5, 10.0).await;
    }
    update(&mut c, &gil, "Aria", -0.5, 10.0).await;
    let after = stats(&mut c).await;
    assert_eq!(after["total_relationships"], 3);
    assert_eq!(after["total_interactions"], 4);
    let types = after["relationship_types"].as_object().unwrap();
    assert_eq!(types.values().map(|n| n.as_u64().unwrap()).sum::<u64>(), 3);
    assert_eq!(types["stranger"], 2);
    let active = after["most_active_personas"].as_array().unwrap();
    assert_eq!(active[0], json!({"persona_id": gil, "interactions": 4}));
    assert_eq!(active[1], json!({"persona_id": hal, "interactions": 3}));
    assert_eq!(active[2]["interactions"], 1);
    assert_eq!(active.len(), 3);
    for field in ["average_affinity", "average_trust", "average_compatibility"] {
        let v = after[field].as_f64().unwrap();
        assert_eq!((v * 1000.0).round() / 1000.0, v, "{field} has 3 dp");
    }
    assert_eq!(after["strongest"]["relationship_type"], "acquaintance");
}

#[tokio::test]
async fn concurrent_updates_of_one_pair_are_all_applied() {
    let (_llm, server) = boot(None);
    let mut a = server.client().await;
    let mut b = server.client().await;
    let params = json!({"persona1_id": "Aria", "persona2_id": "Kira", "interaction_quality": 0.4});
    let mut ids = (Vec::new(), Vec::new());
    for _ in 0..10 {
        ids.0.push(a.request("relationship.update", params.clone()).await);
        ids.1.push(b.request("relationship.update", params.clone()).await);
    }
    for id in &ids.0 {
        assert!(a.frame_for(id).await.get("result").is_some());
    }
    for id in &ids.1 {
        assert!(b.frame_for(id).await.get("result").is_some());
    }
    let r = get(&mut a, "Kira", "Aria").await;
    assert_eq!(r["relationship"]["interaction_count"], 20);
    assert!(close(&r["relationship"]["total_interaction_time"], 100.0));
}

#[tokio::test]
async fn emotional_updates_are_clamped_and_chat_turns_move_the_state() {
    let (llm, server) = boot(Some("Magic is my life's work."));
    let mut c = server.client().await;
    let initial = c.result("emotional.get_state", json!({"persona_id": "Aria"})).await;
    assert!(initial["persona_id"].is_string());
    let s = &initial["emotional_state"];
    for (field, value) in [
        ("mood", 0.5),
        ("energy_level", 0.7),
        ("stress_level", 0.3),
        ("curiosity", 0.6),
        ("social_battery", 0.8),
    ] {
        assert!(close(&s[field], value), "{field}: {s}");
    }
    assert!(s["last_updated"].is_string());

    let r = c
        .result(
            "emotional.update_state",
            json!({"persona_id": "Aria", "mood": 5, "energy_level": -2, "deltas": {"stress_level": 0.9},
                   "websocket_id": "ignored"}),
        )
        .await;
    assert_eq!(r["success"], true);
    assert_eq!(r["message"], "Emotional state updated successfully");
    let u = &r["updated_state"];
    assert_eq!(u["mood"], 1.0);
    assert_eq!(u["energy_level"], 0.0);
    assert_eq!(u["stress_level"], 1.0);
    assert!(close(&u["curiosity"], 0.6));
    let now = feelings(&mut c, "aria").await;
    assert!(close(&now["mood"], 1.0) && close(&now["energy_level"], 0.0));

    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let mine = c
        .result("emotional.update_state", json!({"deltas": {"mood": -0.5}}))
        .await;
    assert!(
        close(&mine["updated_state"]["mood"], 0.0),
        "the current persona by default: {mine}"
    );
    c.result(
        "persona.chat",
        json!({"message": "What do you know about magic? I love it, thanks!"}),
    )
    .await;
    let after = c.result("emotional.get_state", json!({})).await["emotional_state"].clone();
    assert!(
        after["mood"].as_f64().unwrap() > 0.05,
        "kind words lift the mood: {after}"
    );
    assert!(
        close(&after["social_battery"], 0.79),
        "a turn costs social battery: {after}"
    );
    assert!(
        close(&after["curiosity"], 0.65),
        "a question on a favourite topic: {after}"
    );
    let system = llm.requests().last().unwrap()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.contains("You feel calm."), "feelings in the prompt: {system}");
}

#[tokio::test]
async fn legacy_persona_relationship_uses_the_current_persona() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let e = c.error("persona.relationship", json!({})).await;
    assert_eq!(e["code"], -32002);
    let switched = c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let one = c
        .result("persona.relationship", json!({"target_persona": "kira"}))
        .await;
    assert_eq!(one["current_persona"], switched["persona_id"]);
    assert!(one["target_persona"].is_string());
    assert_eq!(one["relationship"]["relationship_type"], "acquaintance");
    let all = c.result("persona.relationship", json!({})).await;
    assert_eq!(all["relationships"].as_array().unwrap().len(), 1);
    assert_eq!(all["relationships"][0]["other_persona_name"], "Kira");
    let lone = create(&mut c, "Ivo").await;
    let none = c.result("persona.relationship", json!({"target_persona": lone})).await;
    assert!(none["relationship"].is_null());
    let mine = c.result("relationship.list", json!({})).await;
    assert_eq!(mine["total_relationships"], 1, "current persona by default");
    let e = c.error("persona.relationship", json!({"target_persona": "Aria"})).await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["field"], "target_persona");
}

#[tokio::test]
async fn relationships_and_feelings_survive_a_restart_and_go_with_a_deleted_persona() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let jo = create(&mut c, "Jo").await;
    for _ in 0..7 {
        update(&mut c, &jo, "Kira", 0.8, 20.0).await;
    }
    c.result(
        "emotional.update_state",
        json!({"persona_id": "Jo", "mood": -0.8, "curiosity": 0.95}),
    )
    .await;
    let before = get(&mut c, "Kira", "Jo").await;
    let stats_before = stats(&mut c).await;
    c.close().await;

    let server = server.restart().await;
    let mut c = server.client().await;
    assert_eq!(get(&mut c, "Jo", "Kira").await, before);
    assert_eq!(stats(&mut c).await, stats_before);
    let f = feelings(&mut c, &jo).await;
    assert!(close(&f["mood"], -0.8) && close(&f["curiosity"], 0.95), "{f}");
    assert_eq!(get(&mut c, "Aria", "Kira").await["exists"], true, "seeded once, kept");

    c.result("persona.delete", json!({"persona_id": jo})).await;
    let kira = c.result("relationship.list", json!({"persona_id": "Kira"})).await;
    assert_eq!(kira["total_relationships"], 1, "only Aria is left: {kira}");
    assert_eq!(stats(&mut c).await["total_interactions"], 0);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let aria_id = c.result("persona.get", json!({"persona_id": "Aria"})).await["persona"]["id"].clone();
    let seeded = get(&mut c, "Aria", "Kira").await;
    let stats_before = stats(&mut c).await;

    let pair = |a: Value, b: Value| json!({"persona1_id": a, "persona2_id": b, "interaction_quality": 0.5});
    for method in ["relationship.get", "relationship.compatibility", "relationship.update"] {
        let e = c.error(method, pair(json!("Aria"), aria_id.clone())).await;
        assert_eq!(e["code"], -32602, "{method}: {e}");
        assert_eq!(e["data"]["field"], "persona2_id", "{method}: {e}");
        assert!(e["message"].as_str().unwrap().contains("persona2_id"), "{e}");
        let e = c.error(method, pair(json!("Aria"), json!("Nobody"))).await;
        assert_eq!(e["code"], -32001, "{method}: {e}");
        assert_eq!(e["message"], "Persona not found: Nobody");
        let e = c.error(method, json!({"persona2_id": "Kira"})).await;
        assert_eq!(e["message"], "persona1_id is required", "{method}");
    }
    for quality in [json!(1.5), json!(-1.01)] {
        let e = c
            .error(
                "relationship.update",
                json!({"persona1_id": "Aria", "persona2_id": "Kira", "interaction_quality": quality}),
            )
            .await;
        assert_eq!(e["code"], -32602);
        assert_eq!(
            e["message"],
            "interaction_quality must be a number between -1.0 and 1.0"
        );
    }
    let e = c
        .error(
            "relationship.update",
            json!({"persona1_id": "Aria", "persona2_id": "Kira", "interaction_quality": "great"}),
        )
        .await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["field"], "interaction_quality");
    let e = c
        .error(
            "relationship.update",
            json!({"persona1_id": "Aria", "persona2_id": "Kira", "duration_minutes": -1}),
        )
        .await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["field"], "duration_minutes");
    assert_eq!(get(&mut c, "Aria", "Kira").await, seeded);
    assert_eq!(stats(&mut c).await, stats_before);
    let e = c.error("relationship.list", json!({})).await;
    assert_eq!(e["code"], -32002);
    let e = c.error("relationship.list", json!({"persona_id": "Nobody"})).await;
    assert_eq!(e["code"], -32001);

    let feelings_before = c
        .result("emotional.update_state", json!({"persona_id": "Kira", "mood": 0.2}))
        .await["updated_state"]
        .clone();
    let e = c
        .error(
            "emotional.update_state",
            json!({"persona_id": "Kira", "mood": 0.9, "deltas": {"joy": 0.5}}),
        )
        .await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["field"], "deltas.joy");
    assert!(e["message"].as_str().unwrap().contains("joy"), "{e}");
    let e = c
        .error(
            "emotional.update_state",
            json!({"persona_id": "Kira", "mood": 0.9, "happiness": 0.5}),
        )
        .await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["field"], "happiness");
    assert!(e["message"].as_str().unwrap().contains("happiness"), "{e}");
    let e = c
        .error("emotional.update_state", json!({"persona_id": "Kira", "mood": "sad"}))
        .await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["field"], "mood");
    let e = c
        .error("emotional.update_state", json!({"persona_id": "Nobody", "mood": 0.1}))
        .await;
    assert_eq!(e["code"], -32001);
    let e = c.error("emotional.get_state", json!({})).await;
    assert_eq!(e["code"], -32002);
    let now = feelings(&mut c, "Kira").await;
    assert!(close(&now["mood"], 0.2), "unchanged: {now} vs {feelings_before}");
}
