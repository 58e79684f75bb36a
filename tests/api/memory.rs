//! memory.* over the WebSocket with the real MiniLM embedder.

use serde_json::{json, Value};

use crate::boot;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer, WsClient};

async fn store(c: &mut WsClient, persona: &str, content: &str, extra: Value) -> Value {
    let mut params = json!({"persona_id": persona, "content": content});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    c.result("memory.store", params).await
}

/// Memories about anything but songs and fairs (`memory.import`'s tests use them too).
pub const UNRELATED: [&str; 10] = [
    "Kira catalogued the old star charts in the observatory",
    "The blacksmith repaired a broken plough for the miller",
    "A merchant caravan brought silk and spices from the east",
    "The river flooded the lower fields after the storm",
    "Children played dice behind the temple steps",
    "The mayor raised taxes on imported wine",
    "A stray cat slept on the bakery windowsill every morning",
    "The guard captain drilled recruits at dawn",
    "Wolves were seen near the northern woods",
    "The library roof leaked during the spring rains",
];

#[tokio::test]
async fn store_then_search_finds_it_with_similarity_and_paraphrase_ranks_first() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    for i in 0..50 {
        let text = format!("{} (note {i})", UNRELATED[i % UNRELATED.len()]);
        store(&mut c, "Aria", &text, json!({})).await;
    }
    let stored = store(
        &mut c,
        "Aria",
        "Aria performed her new ballad at the harvest festival",
        json!({"importance": 0.6, "memory_type": "event"}),
    )
    .await;
    assert_eq!(stored["stored"], true);
    assert_eq!(stored["importance"], 0.6);
    let id = stored["memory_id"].clone();
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let r = c
        .result(
            "memory.search",
            json!({"persona_id": "Aria", "query": "song she sang at the autumn fair", "n_results": 5}),
        )
        .await;
    assert_eq!(r["query"], "song she sang at the autumn fair");
    assert_eq!(r["result_count"], 5);
    let top = &r["memories"][0];
    assert_eq!(top["id"], id, "the paraphrase ranks first: {r}");
    assert!(top["similarity"].as_f64().unwrap() > 0.3, "{top}");
    for field in [
        "content",
        "memory_type",
        "importance",
        "emotional_valence",
        "related_personas",
        "visibility",
        "created_at",
    ] {
        assert!(top.get(field).is_some(), "missing {field}");
    }
    assert_eq!(top["accessed_count"], 1);
    let again = c.result("memory.get", json!({"memory_id": id})).await;
    assert_eq!(again["memory"]["accessed_count"], 1, "the search counted as an access");
    assert!(again["memory"]["last_accessed"].is_string());
    let limit = c
        .result(
            "memory.search",
            json!({"persona_id": "Aria", "query": "ballad", "limit": 2}),
        )
        .await;
    assert_eq!(limit["result_count"], 2);
    assert_eq!(limit["memories"][0]["id"], id, "keyword + vector hit first");
}

#[tokio::test]
async fn filters_by_importance_and_type() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    store(
        &mut c,
        "Kira",
        "The dragon egg hatched in the laboratory",
        json!({"importance": 0.9, "memory_type": "event"}),
    )
    .await;
    store(
        &mut c,
        "Kira",
        "A dragon scale was sold at the market",
        json!({"importance": 0.2, "memory_type": "observation"}),
    )
    .await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let r = c
        .result(
            "memory.search",
            json!({"persona_id": "Kira", "query": "dragon", "min_importance": 0.5}),
        )
        .await;
    assert_eq!(r["result_count"], 1);
    assert_eq!(r["memories"][0]["importance"], 0.9);
    let r = c
        .result(
            "memory.search",
            json!({"persona_id": "Kira", "query": "dragon", "memory_type": "observation"}),
        )
        .await;
    assert_eq!(r["result_count"], 1);
    assert_eq!(r["memories"][0]["memory_type"], "observation");
    let auto = store(
        &mut c,
        "Kira",
        "I promise I will never forget the day my mentor died!",
        json!({"importance": "auto"}),
    )
    .await;
    let score = auto["importance"].as_f64().unwrap();
    assert!(
        (0.5..=1.0).contains(&score),
        "auto importance of an emotional line: {score}"
    );
}

#[tokio::test]
async fn visibility_is_enforced_on_every_read_path() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    c.result("persona.create", json!({"name": "Bram"})).await;
    let private = store(
        &mut c,
        "Aria",
        "Aria secretly fears the deep sea",
        json!({"importance": 0.9}),
    )
    .await;
    store(
        &mut c,
        "Aria",
        "Aria shared her sea shanty with friends",
        json!({"importance": 0.9, "visibility": "shared"}),
    )
    .await;
    store(
        &mut c,
        "Aria",
        "Aria sang a sea song for the whole town",
        json!({"importance": 0.9, "visibility": "public"}),
    )
    .await;
    let search = |who: &'static str| json!({"persona_id": who, "query": "sea song", "min_importance": 0.0});
    let mut as_kira = server.client().await;
    as_kira.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let kira = as_kira.result("memory.search_cross_persona", search("Kira")).await;
    let contents: Vec<&str> = kira["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert!(
        contents.contains(&"Aria shared her sea shanty with friends"),
        "Kira knows Aria: {contents:?}"
    );
    assert!(contents.contains(&"Aria sang a sea song for the whole town"));
    assert!(
        !contents.iter().any(|c| c.contains("secretly")),
        "never a private memory: {contents:?}"
    );
    let hit = &kira["memories"][0];
    assert_eq!(hit["source"], "cross_persona");
    assert_eq!(hit["source_persona_name"], "Aria");
    assert_eq!(kira["search_params"]["include_shared"], true);
    let bram = as_kira.result("memory.search_cross_persona", search("Bram")).await;
    let contents: Vec<&str> = bram["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        ["Aria sang a sea song for the whole town"],
        "a stranger sees public only"
    );
    let own = as_kira.result("memory.search_cross_persona", search("Aria")).await;
    assert!(own["memories"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["source"] == "own" && m["visibility"] != "private"));
    let only_public = as_kira
        .result(
            "memory.search_cross_persona",
            json!({"persona_id": "Kira", "query": "sea song", "min_importance": 0.0, "include_public": false}),
        )
        .await;
    assert!(only_public["memories"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["visibility"] == "shared"));
    let e = c
        .error(
            "memory.get",
            json!({"memory_id": private["memory_id"], "persona_id": "Kira"}),
        )
        .await;
    assert_eq!(e["code"], -32008);
    let e = c
        .error(
            "memory.delete",
            json!({"memory_id": private["memory_id"], "persona_id": "Kira"}),
        )
        .await;
    assert_eq!(e["code"], -32008);
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let e = c.error("memory.get", json!({"memory_id": private["memory_id"]})).await;
    assert_eq!(e["code"], -32008, "the current persona is the viewer");
    let legacy = c.result("persona.memory", json!({"query": "sea"})).await;
    assert_eq!(legacy["total_found"], 0, "Kira's own memories only");
    let kira_search = c.result("memory.search", json!({"query": "deep sea fears"})).await;
    assert_eq!(kira_search["result_count"], 0);
    let fresh = server.client().await;
    let mut fresh = fresh;
    let e = fresh
        .error("memory.search_cross_persona", json!({"query": "sea"}))
        .await;
    assert_eq!(e["code"], -32002);
    assert_eq!(e["message"], "No active persona. Please switch to a persona first.");
}

#[tokio::test]
async fn pruning_recommends_then_removes_only_unprotected_memories() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.memory.pruning_threshold = 15;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    for i in 0..16 {
        store(
            &mut c,
            "Kira",
            &format!("Routine note number {i} about nothing much"),
            json!({"importance": 0.1 + i as f64 * 0.01}),
        )
        .await;
    }
    store(&mut c, "Kira", "A vital discovery", json!({"importance": 0.95})).await;
    store(
        &mut c,
        "Kira",
        "Met Aria at the inn",
        json!({"importance": 0.2, "memory_type": "relationship"}),
    )
    .await;
    store(
        &mut c,
        "Kira",
        "Told Aria a secret",
        json!({"importance": 0.2, "related_personas": ["Aria"]}),
    )
    .await;
    let before = c.result("memory.stats", json!({"persona_id": "Kira"})).await;
    assert_eq!(before["total_memories"], 19);

    let rec = c
        .result("memory.prune_recommendations", json!({"persona_id": "Kira"}))
        .await;
    assert_eq!(rec["recommendations"]["needs_pruning"], true);
    assert_eq!(rec["recommendations"]["current_count"], 19);
    let would = rec["would_prune"].as_u64().unwrap();
    assert!((1..=4).contains(&would), "at most 25 %: {rec}");
    assert!(rec["recommendations"]["recommendation"]
        .as_str()
        .unwrap()
        .starts_with(&format!("Would prune {would} memories")));
    assert_eq!(
        c.result("memory.stats", json!({"persona_id": "Kira"})).await["total_memories"],
        19,
        "changes nothing"
    );

    let pruned = c.result("memory.prune", json!({"persona_id": "Kira"})).await;
    assert_eq!(pruned["status"], "pruning_completed");
    assert_eq!(pruned["memories_before"], 19);
    assert_eq!(pruned["memories_pruned"], would);
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let left = c
        .result(
            "memory.search",
            json!({"persona_id": "Kira", "query": "vital discovery inn secret", "n_results": 20}),
        )
        .await;
    let contents: Vec<&str> = left["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    for kept in ["A vital discovery", "Met Aria at the inn", "Told Aria a secret"] {
        assert!(contents.contains(&kept), "protected memory {kept:?} kept: {contents:?}");
    }
    let stats = c.result("memory.prune_stats", json!({})).await;
    assert_eq!(stats["pruning_statistics"]["total_pruning_operations"], 1);
    assert_eq!(stats["pruning_statistics"]["total_memories_pruned"], would);
    assert!(stats.get("message").is_none());

    let forced = c.result("memory.prune", json!({"persona_id": "Aria"})).await;
    assert_eq!(forced["status"], "no_pruning_needed");
    assert_eq!(forced["message"], "Memory collection is within acceptable limits");
    for i in 0..12 {
        store(
            &mut c,
            "Aria",
            &format!("Aria's idle thought {i}"),
            json!({"importance": 0.2}),
        )
        .await;
    }
    let forced = c
        .result("memory.prune", json!({"persona_id": "Aria", "force": true}))
        .await;
    assert_eq!(forced["memories_after"], 10, "never below the safe count of 10");
    let all = c.result("memory.prune_all", json!({})).await;
    assert_eq!(all["status"], "global_pruning_completed");
    assert_eq!(all["personas_processed"], 2);
    assert_eq!(all["errors_encountered"], 0);
}

#[tokio::test]
async fn decay_force_lowers_unprotected_importance_and_stats_add_up() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let low = store(&mut c, "Aria", "Bought bread", json!({"importance": 0.5})).await;
    let high = store(
        &mut c,
        "Aria",
        "Saved the prince",
        json!({"importance": 0.9, "memory_type": "event"}),
    )
    .await;
    store(
        &mut c,
        "Kira",
        "Read a book",
        json!({"importance": 0.3, "visibility": "public"}),
    )
    .await;
    let d = c
        .result("memory.decay_force", json!({"persona_id": "Aria", "decay_factor": 0.2}))
        .await;
    assert_eq!(d["status"], "persona_decay_completed");
    assert_eq!(d["memories_processed"], 2);
    assert_eq!(d["memories_decayed"], 1);
    let mut aria = server.client().await;
    aria.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let m = aria.result("memory.get", json!({"memory_id": low["memory_id"]})).await;
    assert!((m["memory"]["importance"].as_f64().unwrap() - 0.4).abs() < 1e-9);
    let m = aria.result("memory.get", json!({"memory_id": high["memory_id"]})).await;
    assert_eq!(m["memory"]["importance"], 0.9, "protected");
    let cycle = c.result("memory.decay_force", json!({})).await;
    assert_eq!(cycle["status"], "global_decay_cycle_completed");
    assert_eq!(cycle["personas_processed"], 2);
    let e = c.error("memory.decay_force", json!({"decay_factor": 2})).await;
    assert_eq!(e["code"], -32602);

    let all = c.result("memory.stats", json!({})).await;
    assert_eq!(all["total_memories"], 3);
    let types: u64 = all["memory_types"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(types, 3);
    let dist = &all["importance_distribution"];
    assert_eq!(
        dist["high"].as_u64().unwrap() + dist["medium"].as_u64().unwrap() + dist["low"].as_u64().unwrap(),
        3
    );
    assert_eq!(all["high_importance_count"], 1);
    assert_eq!(all["created_today"], 3);
    assert_eq!(all["visibility_counts"]["public"], 1);
    let by_persona: u64 = all["memories_by_persona"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_persona, 3);
    let card = c.result("persona.get", json!({"persona_id": "Aria"})).await;
    assert_eq!(card["persona"]["memory_stats"]["total_memories"], 2);
    let shared = c.result("memory.shared_stats", json!({})).await;
    assert_eq!(shared["shared_memory_statistics"]["public_memories"], 1);
    assert_eq!(shared["shared_memory_statistics"]["total_personas"], 2);

    let stats = c.result("memory.decay_stats", json!({})).await;
    assert_eq!(stats["decay_statistics"]["total_decay_cycles"], 1);
    assert_eq!(stats["decay_statistics"]["background_running"], false);
    let started = c
        .result("memory.decay_start", json!({"interval_minutes": 120, "mode": "linear"}))
        .await;
    assert_eq!(started["status"], "background_decay_started");
    assert_eq!(started["already_running"], false);
    assert_eq!(started["interval_hours"], 2.0);
    assert_eq!(started["mode"], "linear");
    let again = c.result("memory.decay_start", json!({})).await;
    assert_eq!(again["already_running"], true);
    let stopped = c.result("memory.decay_stop", json!({})).await;
    assert_eq!(
        (stopped["status"].clone(), stopped["was_running"].clone()),
        (json!("background_decay_stopped"), json!(true))
    );
    let e = c.error("memory.decay_start", json!({"mode": "sideways"})).await;
    assert_eq!(e["code"], -32602);
}

#[tokio::test]
async fn bad_memory_input_names_the_field_and_stores_nothing() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let cases = [
        (json!({"persona_id": "Aria", "content": ""}), -32602, "content"),
        (
            json!({"persona_id": "Aria", "content": "x".repeat(33 * 1024)}),
            -32602,
            "content",
        ),
        (
            json!({"persona_id": "Aria", "content": "ok", "importance": 1.5}),
            -32602,
            "importance",
        ),
        (
            json!({"persona_id": "Aria", "content": "ok", "importance": "very"}),
            -32602,
            "importance",
        ),
        (
            json!({"persona_id": "Aria", "content": "ok", "visibility": "secret"}),
            -32602,
            "visibility",
        ),
        (
            json!({"persona_id": "Aria", "content": "ok", "emotional_valence": -2}),
            -32602,
            "emotional_valence",
        ),
        (json!({"persona_id": "Nobody", "content": "ok"}), -32001, "Nobody"),
        (json!({"content": "ok"}), -32002, "persona"),
    ];
    for (params, code, needle) in cases {
        let e = c.error("memory.store", params.clone()).await;
        assert_eq!(e["code"], code, "{params}: {e}");
        assert!(e["message"].as_str().unwrap().contains(needle), "{e}");
    }
    for n in [0, 1000] {
        let e = c
            .error(
                "memory.search",
                json!({"persona_id": "Aria", "query": "x", "n_results": n}),
            )
            .await;
        assert_eq!(e["code"], -32602);
        assert!(e["message"].as_str().unwrap().starts_with("n_results"));
    }
    let e = c.error("memory.search", json!({"persona_id": "Aria"})).await;
    assert_eq!(e["message"], "Query is required");
    let e = c.error("memory.get", json!({"memory_id": "not-a-uuid"})).await;
    assert_eq!(e["code"], -32602);
    assert_eq!(
        c.result("memory.stats", json!({})).await["total_memories"],
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn chat_turns_become_memories_and_come_back_in_the_prompt() {
    let (llm, server) = boot(Some("I adore the old ballads of the mountain dwarves!"));
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    c.result(
        "persona.chat",
        json!({"message": "What songs do the mountain dwarves sing?"}),
    )
    .await;
    let r = c
        .result("memory.search", json!({"query": "mountain dwarves songs"}))
        .await;
    assert_eq!(r["result_count"], 1, "read-your-writes: {r}");
    let m = &r["memories"][0];
    assert_eq!(m["memory_type"], "conversation");
    assert!(m["content"]
        .as_str()
        .unwrap()
        .contains("User: What songs do the mountain dwarves sing?"));
    let importance = m["importance"].as_f64().unwrap();
    assert!(
        (0.1..=1.0).contains(&importance) && importance != 0.5,
        "scored: {importance}"
    );
    c.result("persona.chat", json!({"message": "Tell me again about the dwarves"}))
        .await;
    let system = llm.requests().last().unwrap()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.contains("Things you remember:"), "{system}");
    assert!(system.contains("mountain dwarves"), "{system}");
    let legacy = c.result("persona.memory", json!({})).await;
    assert_eq!(legacy["total_found"], 2);
    assert!(legacy["memories"][0]["content"].is_string());
}

#[tokio::test]
async fn memories_survive_restart_and_a_lost_index_is_rebuilt() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let stored = store(
        &mut c,
        "Kira",
        "The comet returns every seventy-six years",
        json!({"importance": 0.7}),
    )
    .await;
    store(&mut c, "Kira", "Bread prices rose again", json!({})).await;
    c.close().await;
    let server = server.restart().await;
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let r = c
        .result(
            "memory.search",
            json!({"persona_id": "Kira", "query": "when does the comet come back"}),
        )
        .await;
    assert_eq!(r["memories"][0]["id"], stored["memory_id"]);
    let similarity = r["memories"][0]["similarity"].as_f64().unwrap();
    assert!(similarity > 0.4, "vector search after restart: {similarity}");
    c.close().await;
    let vectors = server.data_dir().join("vectors");
    let mut removed = 0;
    for entry in std::fs::read_dir(&vectors).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "usearch") {
            std::fs::remove_file(entry.path()).unwrap();
            removed += 1;
        }
    }
    assert_eq!(removed, 1, "one index file for Kira");
    let server = server.restart().await;
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Kira"})).await;
    let r = c
        .result(
            "memory.search",
            json!({"persona_id": "Kira", "query": "when does the comet come back"}),
        )
        .await;
    assert_eq!(r["memories"][0]["id"], stored["memory_id"]);
    assert!(
        (r["memories"][0]["similarity"].as_f64().unwrap() - similarity).abs() < 1e-3,
        "same vectors after rebuild"
    );
    let files = std::fs::read_dir(&vectors)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "usearch"))
        .count();
    assert_eq!(files, 1, "the rebuilt index was written back");
}
