//! state.*: a varied state saved, the data dir wiped, loaded back (every read answers the same, searches rank
//! the same); damaged, truncated, future-version and foreign files refused with nothing changed; kill -9 during
//! a save leaves earlier saves intact; the CLI works with the server stopped.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use persona_mcp::state::format::FORMAT_VERSION;

use crate::admin::{get_avatar, png_bytes, put_avatar};
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer, WsClient};

const VISIBILITIES: [&str; 3] = ["private", "shared", "public"];
const TOPICS: [&str; 10] = [
    "the harvest festival and its songs",
    "star charts kept in the observatory",
    "a blacksmith repairing ploughs",
    "silk and spices from the eastern caravans",
    "floods in the lower fields",
    "dice games behind the temple",
    "taxes on imported wine",
    "a cat asleep on the bakery windowsill",
    "recruits drilling at dawn",
    "wolves near the northern woods",
];

fn fake_llm() -> FakeLlm {
    FakeLlm::start(FakeLlmConfig {
        reply: Some("I will remember that, friend.".into()),
        ..FakeLlmConfig::default()
    })
}

/// Personas, 1,000 memories of every visibility, relationships, emotional states, chats and a finished
/// persona-to-persona conversation.
async fn build_state(c: &mut WsClient) {
    c.result(
        "persona.create",
        json!({"name": "Mira", "description": "A quiet archivist", "personality_traits": {"openness": 0.8}}),
    )
    .await;
    c.result(
        "persona.create",
        json!({"name": "Odo", "description": "A travelling tinker"}),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..1000 {
        let persona = ["Aria", "Kira", "Mira"][i % 3];
        let memory_type = ["event", "fact", "user_input"][i % 3];
        let params = json!({
            "persona_id": persona,
            "content": format!("{} — note {i} kept by {persona}", TOPICS[i % TOPICS.len()]),
            "importance": (i % 10) as f64 / 10.0,
            "emotional_valence": ((i % 7) as f64 - 3.0) / 3.0,
            "visibility": VISIBILITIES[i % 3],
            "memory_type": memory_type,
            "related_personas": if i % 5 == 0 { json!(["Aria"]) } else { json!([]) },
        });
        ids.push(c.request("memory.store", params).await);
        if ids.len() == 100 {
            for id in ids.drain(..) {
                let r = c.frame_for(&id).await;
                assert!(r.get("error").is_none(), "{r}");
            }
        }
    }
    c.result(
        "relationship.update",
        json!({"persona1_id": "Aria", "persona2_id": "Mira", "interaction_quality": 0.7, "duration_minutes": 12}),
    )
    .await;
    c.result(
        "emotional.update_state",
        json!({"persona_id": "Kira", "mood": 0.3, "stress_level": 0.6}),
    )
    .await;
    c.result("persona.switch", json!({"persona_id": "Mira"})).await;
    c.result("persona.chat", json!({"message": "My name is Tom."})).await;
    c.result("persona.chat", json!({"message": "I keep bees."})).await;
    let started = c
        .result(
            "conversation.start",
            json!({"persona1_id": "Kira", "persona2_id": "Odo", "topic": "magic", "token_budget": 30}),
        )
        .await;
    let id = started["conversation_id"].clone();
    for _ in 0..2 {
        c.result("conversation.turn", json!({"conversation_id": id})).await;
    }
    c.result("conversation.end", json!({"conversation_id": id})).await;
}

/// Removes fields that depend on the moment of the call.
fn steady(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for k in [
                    "timestamp",
                    "stats_calculation_time_ms",
                    "storage_size_mb",
                    "duration",
                    "cooldown_remaining",
                    "session_id",
                    "uptime_seconds",
                    // The emotional state's stamp moves as it drifts with time.
                    "last_updated",
                ] {
                    map.remove(k);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            // Emotional states drift toward their baseline as time passes: compared to 3 decimals.
            Value::Number(n) if n.is_f64() => *v = json!((n.as_f64().unwrap() * 1000.0).round() / 1000.0),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// What every read method answers about the state built above.
async fn reads(c: &mut WsClient) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut read = |name: String, v: Value| out.push((name, steady(v)));
    let list = c.result("persona.list", json!({})).await;
    read("persona.list".into(), list.clone());
    for p in list["personas"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap().to_string();
        for (method, params) in [
            ("persona.get", json!({"persona_id": id})),
            ("emotional.get_state", json!({"persona_id": id})),
            ("relationship.list", json!({"persona_id": id})),
            ("memory.stats", json!({"persona_id": id})),
            ("memory.prune_recommendations", json!({"persona_id": id})),
            ("conversation.list", json!({"persona_id": id, "active_only": false})),
        ] {
            let r = c.result(method, params).await;
            read(format!("{method} {id}"), r);
        }
    }
    for (method, params) in [
        (
            "relationship.get",
            json!({"persona1_id": "Aria", "persona2_id": "Mira"}),
        ),
        (
            "relationship.get",
            json!({"persona1_id": "Aria", "persona2_id": "Kira"}),
        ),
        ("relationship.stats", json!({})),
        ("memory.shared_stats", json!({})),
        ("memory.prune_stats", json!({})),
        ("conversation.list", json!({"active_only": false})),
    ] {
        let r = c.result(method, params.clone()).await;
        read(format!("{method} {params}"), r);
    }
    out
}

/// Top 10 memory ids for 20 queries, each persona reading its own memories.
async fn searches(c: &mut WsClient) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for (i, topic) in TOPICS.iter().enumerate() {
        for persona in ["Aria", "Mira"] {
            c.result("persona.switch", json!({"persona_id": persona})).await;
            let r = c
                .result(
                    "memory.search",
                    json!({"persona_id": persona, "query": format!("what about {topic}? ({i})"), "n_results": 10}),
                )
                .await;
            out.push(
                r["memories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].clone())
                    .collect(),
            );
        }
    }
    out
}

fn assert_same(before: &[(String, Value)], after: &[(String, Value)]) {
    assert_eq!(before.len(), after.len());
    for ((name, b), (name2, a)) in before.iter().zip(after) {
        assert_eq!(name, name2);
        assert_eq!(b, a, "{name} differs after the load");
    }
}

#[tokio::test]
async fn a_varied_state_survives_save_wipe_and_load() {
    let llm = fake_llm();
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    build_state(&mut c).await;
    // An avatar of another image than the seeded personas': its file must come back with the load.
    let mut avatar = png_bytes();
    avatar.extend_from_slice(b"mira");
    put_avatar(&server, "Mira", avatar.clone()).await;
    // A stored scene (visual.update) is part of the state too.
    let scene = json!({"type": "scene", "data": {"description": "A lighthouse in fog.", "persona_id": "Mira"}});
    c.result("visual.update", scene).await;
    let session = c.result("persona.switch", json!({"persona_id": "Mira"})).await["session_id"].clone();
    // A picture sent in chat: stored by content hash beside the database, its file must come back too.
    let mut picture = png_bytes();
    picture.extend_from_slice(b"a chat picture");
    let picture_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &picture);
    c.result(
        "persona.chat",
        json!({"message": "Look at my garden.", "images": [picture_b64]}),
    )
    .await;
    let hash: String = Sha256::digest(&picture).iter().map(|b| format!("{b:02x}")).collect();
    let picture_file = PathBuf::from("media").join(format!("{hash}.png"));
    assert!(server.data_dir().join(&picture_file).exists(), "the picture is stored");
    // A first round of reads stores what reading initialises (the emotional state of a persona never asked).
    reads(&mut c).await;
    let saved = c.result("state.save", json!({})).await;
    assert_eq!(saved["state_saved"], true);
    assert_eq!(saved["format_version"], FORMAT_VERSION);
    assert!(saved["counts"]["memories"].as_u64().unwrap() >= 1000, "{saved}");
    assert!(saved["state"]["current_persona_id"].is_string());
    assert!(saved["state"].get("active_conversations").is_some());
    let checksum = saved["checksum"].as_str().unwrap().to_string();
    assert_eq!(checksum.len(), 64);
    let before = reads(&mut c).await;
    let ranked = searches(&mut c).await;
    assert!(ranked.iter().all(|r| r.len() == 10));
    let file = PathBuf::from(saved["path"].as_str().unwrap());
    assert!(file.starts_with(server.data_dir().join("state")));
    let kept = tempfile::tempdir().unwrap();
    let copy = kept.path().join("snapshot.pmstate");
    std::fs::copy(&file, &copy).unwrap();
    c.close().await;

    // Wipe: a new server on an empty data dir (it seeds fresh Aria and Kira with other ids).
    let dir = server.stop().await.unwrap();
    drop(dir);
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    let fresh = c.result("persona.list", json!({})).await;
    assert_eq!(fresh["total_count"], 2);
    std::fs::create_dir_all(server.data_dir().join("state")).unwrap();
    std::fs::copy(&copy, server.data_dir().join("state/snapshot.pmstate")).unwrap();

    let verified = c.result("state.verify", json!({"path": "snapshot.pmstate"})).await;
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["checksum"], checksum.as_str());
    let report = c.result("state.load", json!({})).await;
    assert_eq!(report["state_loaded"], false, "no path and no confirm: nothing loaded");
    assert_eq!(report["available_saves"][0]["name"], "snapshot.pmstate");
    assert_eq!(c.result("persona.list", json!({})).await["total_count"], 2);

    let loaded = c.result("state.load", json!({"confirm": true})).await;
    assert_eq!(loaded["state_loaded"], true);
    assert_eq!(loaded["personas"], 4);
    assert_eq!(loaded["memories"], saved["counts"]["memories"]);
    assert_eq!(loaded["relationships"], saved["counts"]["relationships"]);
    assert!(loaded["relationships"].as_u64().unwrap() >= 2, "{loaded}");
    assert!(loaded["conversations"].as_u64().unwrap() >= 2, "{loaded}");
    // Same embedder: the stored vectors are used; only memories the chats left unembedded at save time are
    // embedded again.
    assert!(loaded["reembedding"].as_u64().unwrap() < 20, "{loaded}");
    assert!(loaded.get("current_persona_id").is_some());

    assert_same(&before, &reads(&mut c).await);
    assert_eq!(get_avatar(&server, "Mira").await, avatar, "the avatar image came back");
    assert_eq!(
        std::fs::read(server.data_dir().join(&picture_file)).ok(),
        Some(picture),
        "the chat picture came back"
    );
    let seen = c.result("visual.get", json!({"persona_id": "Mira"})).await;
    assert_eq!(
        seen["scene"]["description"], "A lighthouse in fog.",
        "the scene came back: {seen}"
    );
    assert_eq!(ranked, searches(&mut c).await, "same top 10 for every query");

    // The chat history came back: the next reply sees the earlier turns.
    c.result("persona.switch", json!({"persona_id": "Mira", "session_id": session}))
        .await;
    c.result("persona.chat", json!({"message": "What do I keep?"})).await;
    let msgs = llm.requests().last().unwrap()["messages"].to_string();
    assert!(
        msgs.contains("My name is Tom.") && msgs.contains("I keep bees."),
        "{msgs}"
    );
}

/// Rewrites the trailing checksum so only the intended change is wrong.
fn reseal(bytes: &mut Vec<u8>) {
    bytes.truncate(bytes.len() - 32);
    let digest = Sha256::digest(&bytes[..]);
    bytes.extend_from_slice(&digest);
}

#[tokio::test]
async fn damaged_truncated_future_and_foreign_files_are_refused_with_nothing_changed() {
    let llm = fake_llm();
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    c.result(
        "memory.store",
        json!({"persona_id": "Aria", "content": "The lighthouse keeper waved"}),
    )
    .await;
    let saved = c.result("state.save", json!({"path": "good.pmstate"})).await;
    let good = std::fs::read(saved["path"].as_str().unwrap()).unwrap();
    // Changes after the save, which a refused load must leave in place.
    c.result("persona.create", json!({"name": "Nell"})).await;
    c.result(
        "memory.store",
        json!({"persona_id": "Nell", "content": "Nell mended the nets"}),
    )
    .await;
    let before = reads_small(&mut c).await;

    let state = server.data_dir().join("state");
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let truncated = good[..good.len() - 100].to_vec();
    let text = String::from_utf8_lossy(&good).into_owned();
    let header_end = text.find(&format!("\"{FORMAT_VERSION}\"")).expect("version in header");
    let mut future = good.clone();
    future[header_end..header_end + 5].copy_from_slice(b"\"2.0\"");
    reseal(&mut future);
    let mut body_damaged = good.clone();
    let near_end = body_damaged.len() - 40;
    body_damaged[near_end] ^= 0xff;
    reseal(&mut body_damaged);
    for (name, bytes) in [
        ("flipped.pmstate", flipped),
        ("truncated.pmstate", truncated),
        ("future.pmstate", future),
        ("resealed.pmstate", body_damaged),
        ("foreign.pmstate", b"just some text, not a snapshot\n".to_vec()),
        ("empty.pmstate", Vec::new()),
    ] {
        std::fs::write(state.join(name), &bytes).unwrap();
        let e = c.error("state.load", json!({"path": name})).await;
        assert_eq!(e["code"], -32007, "{name}: {e}");
        let v = c.result("state.verify", json!({"path": name})).await;
        assert_eq!(v["valid"], false, "{name}: {v}");
        assert_eq!(reads_small(&mut c).await, before, "{name} changed something");
    }
    let future_err = c.error("state.load", json!({"path": "future.pmstate"})).await;
    assert!(
        future_err["message"].as_str().unwrap().contains("newer"),
        "{future_err}"
    );

    // Paths outside the data dir are refused for save and load alike.
    for method in ["state.save", "state.load", "state.verify"] {
        for path in ["../escape.pmstate", "/etc/passwd", "/tmp/x.pmstate"] {
            let e = c.error(method, json!({"path": path})).await;
            assert_eq!(e["code"], -32602, "{method} {path}: {e}");
        }
    }
    // The good file still loads: Nell and her memory are gone again.
    c.result("state.load", json!({"path": "good.pmstate"})).await;
    let names = c.result("persona.list", json!({})).await.to_string();
    assert!(!names.contains("Nell"), "{names}");
}

async fn reads_small(c: &mut WsClient) -> Vec<Value> {
    vec![
        steady(c.result("persona.list", json!({})).await),
        steady(c.result("memory.shared_stats", json!({})).await),
        steady(c.result("relationship.stats", json!({})).await),
    ]
}

#[tokio::test]
async fn list_keeps_the_newest_and_delete_removes_by_name() {
    let llm = fake_llm();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.state.keep = 2;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    let mut paths = Vec::new();
    for _ in 0..3 {
        paths.push(c.result("state.save", json!({})).await["path"].clone());
    }
    let list = c.result("state.list", json!({})).await;
    let saves = list["saves"].as_array().unwrap();
    assert_eq!(saves.len(), 2, "keep = 2: {list}");
    assert_eq!(saves[0]["path"], paths[2], "newest first");
    assert_eq!(saves[1]["path"], paths[1]);
    for field in ["name", "bytes", "created_at", "format_version", "counts"] {
        assert!(saves[0].get(field).is_some(), "{field} missing");
    }
    assert!(
        !Path::new(paths[0].as_str().unwrap()).exists(),
        "the oldest was deleted"
    );
    let name = saves[1]["name"].as_str().unwrap().to_string();
    let deleted = c.result("state.delete", json!({"name": name})).await;
    assert_eq!(deleted["deleted"], true);
    assert_eq!(
        c.result("state.list", json!({})).await["saves"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for bad in [name.as_str(), "../persona-mcp.db", "persona-mcp.db"] {
        let e = c.error("state.delete", json!({"name": bad})).await;
        assert_eq!(e["code"], -32602, "{bad}: {e}");
    }
    if !crate::support::on_postgres() {
        assert!(server.data_dir().join("persona-mcp.db").exists());
    }
}

fn binary(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_persona-mcp"));
    cmd.current_dir(data_dir)
        .env("PERSONA_MCP__STORAGE__DATA_DIR", data_dir)
        .env("PERSONA_MCP__LOGGING__LEVEL", "warn")
        .env("PERSONA_MCP__EMBEDDER__PROVIDER", "none");
    cmd
}

fn cli(data_dir: &Path, args: &[&str]) -> (bool, Value, String) {
    let out = binary(data_dir).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    )
}

/// Fills a data dir with many large memories (no embedder), so a save takes a while.
async fn fill(data_dir: &Path, memories: usize) {
    let llm = fake_llm();
    let mut settings = test_settings(&llm.url(), data_dir);
    settings.embedder.provider = persona_mcp::config::EmbedderProvider::None;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    let filler = "lorem ipsum dolor sit amet ".repeat(150);
    let mut ids = Vec::new();
    for i in 0..memories {
        let content = format!("{i} {filler} {i}");
        ids.push(
            c.request("memory.store", json!({"persona_id": "Aria", "content": content}))
                .await,
        );
        if ids.len() == 200 {
            for id in ids.drain(..) {
                c.frame_for(&id).await;
            }
        }
    }
    for id in ids.drain(..) {
        c.frame_for(&id).await;
    }
    c.close().await;
    server.stop().await;
}

#[tokio::test]
async fn the_cli_saves_verifies_lists_and_loads_with_the_server_stopped() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 20).await;
    let (ok, saved, err) = cli(dir.path(), &["state", "save"]);
    assert!(ok, "{err}");
    assert_eq!(saved["counts"]["memories"], 20);
    let (ok, listed, err) = cli(dir.path(), &["state", "list"]);
    assert!(ok, "{err}");
    assert_eq!(listed["saves"].as_array().unwrap().len(), 1);
    let (ok, verified, err) = cli(dir.path(), &["state", "verify"]);
    assert!(ok, "{err}");
    assert_eq!(verified["checksum"], saved["checksum"]);
    // More data, then load the save back: the extra memories are gone.
    fill(dir.path(), 5).await;
    let (ok, loaded, err) = cli(dir.path(), &["state", "load"]);
    assert!(ok, "{err}");
    assert_eq!(loaded["counts"]["memories"], 20);
    let foreign = dir.path().join("foreign.bin");
    std::fs::write(&foreign, b"nope").unwrap();
    let (ok, _, err) = cli(dir.path(), &["state", "load", foreign.to_str().unwrap()]);
    assert!(!ok && err.contains("not a persona-mcp state file"), "{err}");
}

#[tokio::test]
async fn kill_9_during_a_save_leaves_earlier_saves_intact_and_lists_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 3000).await;
    let (ok, first, err) = cli(dir.path(), &["state", "save"]);
    assert!(ok, "{err}");
    let first_path = PathBuf::from(first["path"].as_str().unwrap());
    let first_bytes = std::fs::read(&first_path).unwrap();
    let mut interrupted = 0;
    for delay_ms in [5u64, 20, 40, 80, 120, 200, 300] {
        let mut child = binary(dir.path()).args(["state", "save"]).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !finished {
            interrupted += 1;
        }
        let (ok, listed, err) = cli(dir.path(), &["state", "list"]);
        assert!(ok, "{err}");
        for save in listed["saves"].as_array().unwrap() {
            let path = save["path"].as_str().unwrap();
            assert!(!save["name"].as_str().unwrap().starts_with('.'), "{save}");
            let (ok, v, err) = cli(dir.path(), &["state", "verify", path]);
            assert!(
                ok,
                "a listed save does not verify after kill -9 at {delay_ms} ms: {err}"
            );
            assert_eq!(v["valid"], true);
        }
        assert_eq!(
            std::fs::read(&first_path).unwrap(),
            first_bytes,
            "the earlier save is untouched"
        );
    }
    assert!(interrupted > 0, "no save was cut short; make the data bigger");
    // The next save cleans up what the killed ones left behind.
    let (ok, _, err) = cli(dir.path(), &["state", "save"]);
    assert!(ok, "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_version_1_0_file_still_loads() {
    let llm = fake_llm();
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    let state = server.data_dir().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1.0.pmstate");
    std::fs::copy(fixture, state.join("v1.pmstate")).unwrap();
    let verified = c.result("state.verify", json!({"path": "v1.pmstate"})).await;
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["format_version"], "1.0");
    let loaded = c.result("state.load", json!({"path": "v1.pmstate"})).await;
    assert_eq!(loaded["state_loaded"], true);
    assert_eq!(loaded["personas"], 2);
    assert_eq!(loaded["memories"], 4);
    // Saved with the same embedder: its stored vectors are used as they are.
    assert_eq!(loaded["reembedding"], 0, "{loaded}");
    let found = c
        .result(
            "memory.search",
            json!({"persona_id": "Aria", "query": "a flower pressed between pages", "n_results": 1}),
        )
        .await;
    assert_eq!(
        found["memories"][0]["content"],
        "Aria keeps a pressed violet from the spring fair in her notebook"
    );
    let kira = c.result("emotional.get_state", json!({"persona_id": "Kira"})).await;
    assert!(kira.to_string().contains("0.4"), "{kira}");
    // Saved again, it is written in the current format.
    let saved = c.result("state.save", json!({})).await;
    assert_eq!(saved["format_version"], FORMAT_VERSION);
}

#[tokio::test]
async fn requests_during_a_load_wait_for_it_and_apply_to_the_loaded_data() {
    // Every reply streams for about 1.5 s.
    let llm = FakeLlm::start(FakeLlmConfig {
        tokens: 30,
        token_delay: std::time::Duration::from_millis(50),
        ..FakeLlmConfig::default()
    });
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    c.result("persona.create", json!({"name": "Vell"})).await;
    let saved = c.result("state.save", json!({})).await;
    c.result("persona.delete", json!({"persona_id": "Vell"})).await;

    // A chat is streaming when the load is asked for: the load waits for it; a store sent meanwhile waits for
    // the load and lands in the loaded data.
    let mut chatting = server.client().await;
    chatting.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let chat = chatting
        .request("persona.chat_stream", json!({"message": "Tell me a long story"}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut loader = server.client().await;
    let load = loader
        .request("state.load", json!({"path": saved["path"], "confirm": true}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut writer = server.client().await;
    let store = writer
        .request(
            "memory.store",
            json!({"persona_id": "Vell", "content": "Vell came back with the load", "visibility": "public"}),
        )
        .await;

    let ((frames, chat_done), (loaded, load_done), (stored, store_done)) = tokio::join!(
        async { (chatting.stream_frames(&chat).await, std::time::Instant::now()) },
        async { (loader.frame_for(&load).await, std::time::Instant::now()) },
        async { (writer.frame_for(&store).await, std::time::Instant::now()) },
    );
    assert_eq!(
        frames.last().unwrap()["result"]["event_type"],
        "stream_complete",
        "the chat ran to its end"
    );
    assert_eq!(loaded["result"]["state_loaded"], true, "{loaded}");
    assert!(chat_done <= load_done, "the load waited for the chat");
    assert!(load_done <= store_done, "the store waited for the load");
    // Vell exists only in the loaded data: the store ran after the load, against it.
    let id = stored["result"]["memory_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{stored}"));
    let got = c.result("memory.get", json!({"memory_id": id})).await;
    assert_eq!(got["memory"]["content"], "Vell came back with the load");
}
