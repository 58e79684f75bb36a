//! Crash safety of the real binary: kill -9 in the middle of a burst of `memory.store` and chats, and SIGTERM
//! then SIGKILL while the memory indexes are being saved. After a restart every acknowledged write is there, the
//! database passes `integrity_check`, and keyword and vector search find every acknowledged memory.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::process::{ProcessOptions, ServerProcess};
use crate::support::WsClient;
use crate::support::SCENES;

/// Most memories one writer stores (so that each scene's memories fit in one page of 100 search hits).
const PER_WRITER: usize = 120;

/// One acknowledged memory.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    scene: usize,
    /// A word of its own, for the keyword search.
    code: String,
}

/// A WebSocket client that gives up quietly when the server dies (the burst's writers).
struct Line(tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>);

impl Line {
    async fn open(url: &str) -> Option<Self> {
        tokio_tungstenite::connect_async(url).await.ok().map(|(ws, _)| Self(ws))
    }

    /// One call; `None` once the connection is gone.
    async fn call(&mut self, id: u64, method: &str, params: Value) -> Option<Value> {
        let frame = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.0.send(Message::text(frame.to_string())).await.ok()?;
        loop {
            match tokio::time::timeout(Duration::from_secs(30), self.0.next())
                .await
                .ok()??
            {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).ok()?;
                    if v["id"] == json!(id) {
                        return Some(v);
                    }
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

/// Stores memories until told to stop, the cap is reached or the server dies; every acknowledged one is recorded.
async fn store_memories(url: String, writer: usize, stop: Arc<AtomicBool>, acked: Arc<Mutex<Vec<Acked>>>) {
    let Some(mut line) = Line::open(&url).await else { return };
    let visibility = ["private", "shared", "public"];
    for i in 0..PER_WRITER {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let scene = i % SCENES.len();
        let code = format!("zq{writer}x{i}");
        let params = json!({
            "persona_id": "Aria",
            "content": format!("{}. Note {code}.", SCENES[scene].0),
            "importance": 0.5,
            "visibility": visibility[i % 3],
        });
        let Some(answer) = line.call(i as u64 + 1, "memory.store", params).await else {
            return;
        };
        let id = answer["result"]["memory_id"]
            .as_str()
            .expect("memory.store answers an id")
            .to_string();
        acked.lock().unwrap().push(Acked { id, scene, code });
    }
}

/// Chats with Kira until told to stop or the server dies; every acknowledged message is recorded.
async fn chat(url: String, stop: Arc<AtomicBool>, acked: Arc<Mutex<Vec<String>>>) {
    let Some(mut line) = Line::open(&url).await else { return };
    if line
        .call(1, "persona.switch", json!({"persona_id": "Kira"}))
        .await
        .is_none()
    {
        return;
    }
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let message = format!("crash chat message {i}");
        let Some(answer) = line.call(i + 2, "persona.chat", json!({"message": message})).await else {
            return;
        };
        assert!(answer.get("result").is_some(), "{answer}");
        acked.lock().unwrap().push(message);
        // Paced: each turn leaves memories for the same embedding queue as the writers' stores, and hundreds of
        // back-to-back turns kept the writers waiting behind them in a loaded debug build.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn database(data_dir: &Path) -> SqliteConnection {
    let path = data_dir.join("persona-mcp.db");
    SqliteConnection::establish(path.to_str().unwrap()).expect("the database opens")
}

/// `PRAGMA integrity_check` answers `ok`.
fn assert_integrity(data_dir: &Path) {
    let rows: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut database(data_dir))
        .expect("integrity_check runs");
    let verdict: Vec<String> = rows.into_iter().map(|r| r.integrity_check).collect();
    assert_eq!(verdict, vec!["ok".to_string()]);
}

fn unembedded(data_dir: &Path) -> i64 {
    let rows: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM memories WHERE embedding IS NULL")
        .load(&mut database(data_dir))
        .expect("count runs");
    rows[0].n
}

fn options(dir: &Path, llm: &FakeLlm) -> ProcessOptions {
    let mut o = ProcessOptions::new(dir, &llm.url());
    // The whole history is sent to the model, so nothing is folded into a summary while the test reads it.
    o.env
        .push(("PERSONA_MCP__CHAT__MAX_CONTEXT_MESSAGES".into(), "1000".into()));
    o.env
        .push(("PERSONA_MCP__CHAT__CONTEXT_SUMMARY_THRESHOLD".into(), "100000".into()));
    o
}

fn hit_ids(result: &Value) -> HashSet<String> {
    result["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_no_acknowledged_write() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Noted, and remembered.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path(), &llm);
    let server = ServerProcess::start(&options);

    let stop = Arc::new(AtomicBool::new(false));
    let memories = Arc::new(Mutex::new(Vec::new()));
    let chats = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for writer in 0..2 {
        tasks.push(tokio::spawn(store_memories(
            server.ws_url.clone(),
            writer,
            stop.clone(),
            memories.clone(),
        )));
    }
    tasks.push(tokio::spawn(chat(server.ws_url.clone(), stop.clone(), chats.clone())));

    // Kill while the writers are still writing. Each store is answered once its vector is indexed: with the
    // debug build's embedder on two cores that other suites share, 80 of them took over a minute once.
    let deadline = Instant::now() + Duration::from_secs(180);
    while memories.lock().unwrap().len() < 80 || chats.lock().unwrap().len() < 5 {
        assert!(Instant::now() < deadline, "the burst is too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let data_dir = server.data_dir.clone();
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let memories = memories.lock().unwrap().clone();
    let chats = chats.lock().unwrap().clone();
    assert!(memories.len() < 2 * PER_WRITER, "the kill came after the burst");
    assert_integrity(&data_dir);
    let pending = unembedded(&data_dir);
    eprintln!(
        "killed after {} acknowledged memories ({pending} without a vector yet) and {} chats",
        memories.len(),
        chats.len()
    );

    let server = ServerProcess::start(&options);
    assert_integrity(&data_dir);
    let mut c = WsClient::connect(&server.ws_url).await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;

    // Every acknowledged memory is there and found by a keyword of its own.
    for m in &memories {
        let got = c.result("memory.get", json!({"memory_id": m.id})).await;
        assert_eq!(got["memory"]["memory_id"], m.id.as_str());
        let found = c
            .result("memory.search", json!({"query": m.code, "n_results": 5}))
            .await;
        assert!(hit_ids(&found).contains(&m.id), "keyword search misses {m:?}");
    }

    // And by meaning alone (no shared word): the vector indexes hold them, re-embedded where the crash left
    // them without a vector.
    let mut by_scene: BTreeMap<usize, HashSet<String>> = BTreeMap::new();
    for m in &memories {
        by_scene.entry(m.scene).or_default().insert(m.id.clone());
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for (scene, wanted) in &by_scene {
        loop {
            let found = c
                .result("memory.search", json!({"query": SCENES[*scene].1, "n_results": 100}))
                .await;
            let hits = hit_ids(&found);
            let missing: Vec<_> = wanted.difference(&hits).collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "vector search of scene {scene} misses {} of {}",
                missing.len(),
                wanted.len()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    // The rows written but never acknowledged (the newest keys, embedded last) get their vectors too.
    while unembedded(&data_dir) > 0 {
        assert!(
            Instant::now() < deadline,
            "{} memories still have no vector",
            unembedded(&data_dir)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every acknowledged chat message is in Kira's conversation, answered.
    let list = server.admin_get("/conversations?persona=Kira&kind=chat").await;
    let mut contents = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let conversation = server
            .admin_get(&format!("/conversations/{}", item["id"].as_str().unwrap()))
            .await;
        for m in conversation["messages"].as_array().unwrap() {
            contents.push((
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            ));
        }
    }
    for message in &chats {
        let at = contents
            .iter()
            .position(|(role, content)| role == "user" && content == message)
            .unwrap_or_else(|| panic!("{message:?} lost"));
        assert_eq!(
            contents.get(at + 1).map(|(r, _)| r.as_str()),
            Some("assistant"),
            "{message:?} unanswered"
        );
    }
    server.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_then_sigkill_during_the_index_save_leaves_a_whole_index() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path(), &llm);
    let mut stored: Vec<(String, String)> = Vec::new();
    let mut cut_mid_save = 0;
    // Three rounds of store, SIGTERM, SIGKILL; each start (and a last one) checks what the rounds before left.
    for round in 0..=3 {
        let mut server = ServerProcess::start(&options);
        assert!(
            !server
                .lines()
                .iter()
                .any(|l| l.contains("vector index file is corrupt")),
            "round {round}: a torn index: {:#?}",
            server.lines()
        );
        let mut c = WsClient::connect(&server.ws_url).await;
        // Aria reads her own memories, private ones included.
        c.result("persona.switch", json!({"persona_id": "Aria"})).await;
        for (id, content) in &stored {
            let found = c
                .result(
                    "memory.search",
                    json!({"persona_id": "Aria", "query": content, "n_results": 3}),
                )
                .await;
            assert!(hit_ids(&found).contains(id), "round {round}: lost {content:?}");
        }
        if round == 3 {
            break;
        }
        // New memories make every persona's index dirty; several personas make the save take a while.
        let personas: Vec<String> = (0..6).map(|p| format!("Saver{round}x{p}")).collect();
        for name in &personas {
            c.result("persona.create", json!({"name": name})).await;
        }
        for i in 0..60 {
            let persona = &personas[i % personas.len()];
            let content = format!("{} (round {round}, item {i})", SCENES[i % SCENES.len()].0);
            c.result(
                "memory.store",
                json!({"persona_id": persona, "content": content, "importance": 0.5}),
            )
            .await;
        }
        let content = format!("Aria hid the round {round} key under the blue stone");
        let id = c
            .result("memory.store", json!({"persona_id": "Aria", "content": content}))
            .await["memory_id"]
            .as_str()
            .unwrap()
            .to_string();
        stored.push((id, content));
        c.close().await;

        server.signal("TERM");
        server.wait_for_line("saving memory indexes", Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50 * round as u64));
        let saved = server.lines().iter().any(|l| l.contains("memory indexes saved"));
        cut_mid_save += usize::from(!saved);
        server.kill9();
    }
    eprintln!("{cut_mid_save} of 3 kills landed before the index save finished");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("vectors"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
