//! Several instances on one PostgreSQL database (run by `make test-pg`, which sets `PERSONA_TEST_PG_URL`; on
//! SQLite these tests have nothing to check and return at once).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Text;
use futures_util::{SinkExt, StreamExt};
use persona_mcp::config::Settings;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::process::{ProcessOptions, ServerProcess};
use crate::support::{on_postgres, test_database_url, test_settings, TestServer, WsClient};

/// Two servers with their own data dirs (so their own vector indexes) on one database; `tweak` changes both
/// one's settings.
fn two_instances(llm: &FakeLlm, tweak: impl Fn(&mut Settings)) -> (TestServer, TestServer, [tempfile::TempDir; 2]) {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut settings_a = test_settings(&llm.url(), dir_a.path());
    tweak(&mut settings_a);
    let a = TestServer::start_with(settings_a);
    // The second data dir names the first one's database.
    share_database(dir_a.path(), dir_b.path());
    let mut settings_b = test_settings(&llm.url(), dir_b.path());
    tweak(&mut settings_b);
    assert_eq!(settings_b.storage.database_url, a.settings.storage.database_url);
    let b = TestServer::start_with(settings_b);
    (a, b, [dir_a, dir_b])
}

/// Makes the data dir `to` name the database of the data dir `from`.
fn share_database(from: &std::path::Path, to: &std::path::Path) {
    std::fs::copy(from.join("persona-mcp.toml"), to.join("persona-mcp.toml")).unwrap();
}

/// Calls `method` on `c` until `done` holds of the part of its result at `pointer` (a JSON pointer, "" for all
/// of it), for at most `within`; answers that part.
async fn result_until(
    c: &mut WsClient,
    method: &str,
    params: Value,
    pointer: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let r = c.result(method, params.clone()).await;
        let part = r.pointer(pointer).cloned().unwrap_or(Value::Null);
        if done(&part) || start.elapsed() > within {
            return part;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Searches `persona`'s memories on `c` until `found` holds of the result, for at most `within`.
async fn search_until(
    c: &mut WsClient,
    persona: &str,
    query: &str,
    within: Duration,
    found: impl Fn(&Value) -> bool,
) -> Value {
    let params = json!({"persona_id": persona, "query": query, "n_results": 3});
    result_until(c, "memory.search", params, "", within, found).await
}

#[tokio::test]
async fn a_persona_and_a_memory_stored_on_one_instance_are_found_on_the_other() {
    if !on_postgres() {
        return;
    }
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let (a, b, _dirs) = two_instances(&llm, |_| {});
    let (mut on_a, mut on_b) = (a.client().await, b.client().await);

    on_a.result(
        "persona.create",
        json!({"name": "Nova", "description": "a lighthouse keeper"}),
    )
    .await;
    let listed = on_b.result("persona.list", json!({})).await;
    assert!(
        listed.to_string().contains("\"Nova\""),
        "the persona created on A is listed on B: {listed}"
    );

    let stored = on_a
        .result(
            "memory.store",
            json!({"persona_id": "Nova", "content": "Nova performed her new ballad at the harvest festival"}),
        )
        .await;
    let id = stored["memory_id"].clone();
    // A private memory is read as its persona.
    on_b.result("persona.switch", json!({"persona_id": "Nova"})).await;
    let acknowledged = Instant::now();
    let has = |r: &Value| {
        r["memories"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == id))
    };
    // Shared words: the keyword index (the database's) finds it.
    let keyword = search_until(&mut on_b, "Nova", "harvest ballad", Duration::from_secs(1), has).await;
    assert!(
        has(&keyword),
        "keyword search on B finds the memory stored on A: {keyword}"
    );
    // No shared word: only B's vector index can find it, once the vector A stored reached it.
    let paraphrase = "song she sang at the autumn fair";
    let vector = search_until(&mut on_b, "Nova", paraphrase, Duration::from_secs(1), has).await;
    assert!(
        has(&vector),
        "vector search on B finds the memory stored on A within a second: {vector}"
    );
    assert!(
        acknowledged.elapsed() < Duration::from_secs(2),
        "{:?}",
        acknowledged.elapsed()
    );
    a.stop().await;
    b.stop().await;
}

/// A short reply: every turn costs the same energy (5).
fn short_replies() -> FakeLlm {
    FakeLlm::start(FakeLlmConfig {
        reply: Some("Gladly.".into()),
        first_token_delay: Duration::from_millis(20),
        ..FakeLlmConfig::default()
    })
}

/// Energy a turn with a short reply costs.
const TURN_COST: f64 = 5.0;
/// Aria's social energy when seeded.
const ARIA_ENERGY: f64 = 150.0;

/// Reads `persona`'s status on `c` until `done` holds of its interaction state, for at most `within`.
async fn state_until(c: &mut WsClient, persona: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let params = json!({"persona_id": persona});
    result_until(c, "persona.status", params, "/interaction_state", within, done).await
}

#[tokio::test]
async fn chats_with_one_persona_through_two_instances_all_apply_to_its_state() {
    if !on_postgres() {
        return;
    }
    let llm = short_replies();
    // No regeneration: the energy counts turns.
    let (a, b, _dirs) = two_instances(&llm, |s| s.persona.energy_per_tick = 0.0);
    const CLIENTS: usize = 4;
    const TURNS: usize = 5;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let url = if i % 2 == 0 { a.ws_url() } else { b.ws_url() };
        clients.push(tokio::spawn(async move {
            let mut c = WsClient::connect(&url).await;
            c.result("persona.switch", json!({"persona_id": "Aria"})).await;
            let mut energies = Vec::new();
            for t in 0..TURNS {
                let r = c
                    .result("persona.chat", json!({"message": format!("Client {i}, question {t}?")}))
                    .await;
                energies.push(r["persona_state"]["social_energy"].as_f64().unwrap());
            }
            energies
        }));
    }
    let mut energies = Vec::new();
    for c in clients {
        energies.extend(c.await.unwrap());
    }
    energies.sort_by(|x, y| y.total_cmp(x));
    let expected: Vec<f64> = (1..=CLIENTS * TURNS)
        .map(|n| ARIA_ENERGY - TURN_COST * n as f64)
        .collect();
    assert_eq!(
        energies, expected,
        "each of the interleaved turns through A and B started from the state the one before left"
    );
    let last = *expected.last().unwrap();
    for server in [&a, &b] {
        let mut c = server.client().await;
        let state = state_until(&mut c, "Aria", Duration::from_secs(2), |s| s["social_energy"] == last).await;
        assert_eq!(
            state["social_energy"], last,
            "both instances read the final state: {state}"
        );
    }
    a.stop().await;
    b.stop().await;
}

/// Sends one request over a raw socket and waits for its answer: its result, or `None` when it failed or the
/// server went away.
async fn call_raw(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    id: u64,
    method: &str,
    params: Value,
) -> Option<Value> {
    let frame = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    ws.send(Message::text(frame.to_string())).await.ok()?;
    loop {
        match ws.next().await?.ok()? {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).ok()?;
                if v["id"] == id {
                    return v.get("result").cloned();
                }
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Chats with Aria over `url` until the server goes away, recording the energy each acknowledged turn left.
async fn chat_until_gone(url: String, acked: Arc<Mutex<Vec<f64>>>) {
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        return;
    };
    if call_raw(&mut ws, 1, "persona.switch", json!({"persona_id": "Aria"}))
        .await
        .is_none()
    {
        return;
    }
    for id in 2.. {
        let Some(r) = call_raw(&mut ws, id, "persona.chat", json!({"message": format!("Turn {id}?")})).await else {
            return;
        };
        acked
            .lock()
            .unwrap()
            .push(r["persona_state"]["social_energy"].as_f64().unwrap());
    }
}

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = Text)]
    holder: String,
}

/// The instance holding an unexpired lease `name`, read from the database.
fn lease_holder(url: &str, name: &str) -> Option<String> {
    let mut conn = diesel::pg::PgConnection::establish(url).expect("database reachable");
    diesel::sql_query(
        "SELECT holder FROM leases WHERE name = $1 AND expires_at > EXTRACT(EPOCH FROM clock_timestamp())::float8",
    )
    .bind::<Text, _>(name)
    .get_result::<Holder>(&mut conn)
    .optional()
    .expect("leases readable")
    .map(|h| h.holder)
}

/// Waits up to `within` for `name` to be held by an instance `accept` accepts; answers the holder and when.
fn wait_for_holder(url: &str, name: &str, within: Duration, accept: impl Fn(&str) -> bool) -> Option<String> {
    let start = Instant::now();
    loop {
        if let Some(h) = lease_holder(url, name).filter(|h| accept(h)) {
            return Some(h);
        }
        if start.elapsed() > within {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The instance id a server process logged at start.
fn instance_of(p: &mut ServerProcess) -> String {
    let line = p.wait_for_line("sharing the database with other instances", Duration::from_secs(5));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("instance="))
        .expect("the line names the instance")
        .to_string()
}

#[tokio::test]
async fn kill_9_of_the_instance_holding_a_persona_loses_no_acknowledged_turn_and_the_other_takes_over() {
    if !on_postgres() {
        return;
    }
    let llm = short_replies();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let url = test_database_url(dir_a.path()).expect("a PostgreSQL database");
    share_database(dir_a.path(), dir_b.path());
    // A regeneration tick every second that gives no energy (the energy counts turns) but lowers fatigue.
    let options = |dir: &std::path::Path| {
        let mut o = ProcessOptions::new(dir, &llm.url());
        o.env = vec![
            ("PERSONA_MCP__PERSONA__REGEN_TICK_SECS".into(), "1".into()),
            ("PERSONA_MCP__PERSONA__ENERGY_PER_TICK".into(), "0".into()),
        ];
        o
    };
    let mut servers = vec![
        ServerProcess::start(&options(dir_a.path())),
        ServerProcess::start(&options(dir_b.path())),
    ];
    let instances: Vec<String> = servers.iter_mut().map(instance_of).collect();

    // Both serve Aria.
    let mut clients = Vec::new();
    let mut aria = String::new();
    for s in &servers {
        let mut c = WsClient::connect(&s.ws_url).await;
        aria = c.result("persona.switch", json!({"persona_id": "Aria"})).await["persona_id"]
            .as_str()
            .unwrap()
            .to_string();
        c.result("persona.chat", json!({"message": "Hello?"})).await;
        clients.push(c);
    }
    let lease = format!("persona:{aria}");
    let holder = wait_for_holder(&url, &lease, Duration::from_secs(5), |_| true).expect("someone holds Aria's lease");
    let owner = instances
        .iter()
        .position(|i| *i == holder)
        .expect("one of the two holds it");
    let survivor = 1 - owner;

    // A burst of chats through the holder, killed in the middle.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let burst = tokio::spawn(chat_until_gone(servers[owner].ws_url.clone(), acked.clone()));
    let start = Instant::now();
    while acked.lock().unwrap().len() < 4 {
        assert!(start.elapsed() < Duration::from_secs(20), "the burst runs");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dead = servers.remove(owner);
    dead.kill9();
    let killed = Instant::now();
    burst.await.unwrap();
    let survivor_process = servers.pop().unwrap();
    let mut on_survivor = clients.remove(survivor);

    // The survivor serves Aria at once, from every acknowledged turn's state.
    let r = on_survivor
        .result("persona.chat", json!({"message": "Still there?"}))
        .await;
    let energy = r["persona_state"]["social_energy"].as_f64().unwrap();
    let acknowledged = 2 + acked.lock().unwrap().len() + 1;
    let lowest_acked = acked.lock().unwrap().iter().copied().fold(f64::MAX, f64::min);
    assert!(
        energy <= lowest_acked - TURN_COST,
        "the survivor's turn follows every turn acknowledged before the kill ({energy} after {lowest_acked})"
    );
    // At most the turn in flight at the kill was applied but never acknowledged.
    let applied = (ARIA_ENERGY - energy) / TURN_COST;
    assert!(
        applied == acknowledged as f64 || applied == acknowledged as f64 + 1.0,
        "{applied} turns applied, {acknowledged} acknowledged"
    );

    // It takes the lease over and regenerates Aria within 10 s of the kill.
    let took = wait_for_holder(&url, &lease, Duration::from_secs(10), |h| h == instances[survivor]);
    assert!(
        took.is_some(),
        "the survivor holds Aria's lease within 10 s of the kill ({:?})",
        killed.elapsed()
    );
    let tired = on_survivor.result("persona.chat", json!({"message": "Tired?"})).await["persona_state"]
        ["interaction_fatigue"]
        .as_f64()
        .unwrap();
    let rested = state_until(&mut on_survivor, "Aria", Duration::from_secs(3), |s| {
        s["interaction_fatigue"].as_f64().unwrap() < tired
    })
    .await;
    assert!(
        rested["interaction_fatigue"].as_f64().unwrap() < tired,
        "the survivor regenerates Aria: {rested} after {tired}"
    );
    assert!(killed.elapsed() < Duration::from_secs(15), "{:?}", killed.elapsed());
    drop(survivor_process);
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_expires_or_is_given_up() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut storage = test_settings("http://127.0.0.1:9", dir.path()).storage;
    storage.pool_size = 2;
    // Two stores on one database: two instances, as far as leases go.
    let (a, b) = (
        persona_mcp::storage::Store::connect(&storage).unwrap(),
        persona_mcp::storage::Store::connect(&storage).unwrap(),
    );
    let name = || vec!["decay".to_string()];
    assert!(a.leases().hold(name(), 0.5).await.unwrap().contains("decay"));
    assert!(b.leases().hold(name(), 0.5).await.unwrap().is_empty(), "held by A");
    assert!(
        a.leases().hold(name(), 0.5).await.unwrap().contains("decay"),
        "A renews it"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        b.leases().hold(name(), 60.0).await.unwrap().contains("decay"),
        "expired: B takes it"
    );
    assert!(a.leases().hold(name(), 0.5).await.unwrap().is_empty(), "held by B");
    b.leases().release().await.unwrap();
    assert!(
        a.leases().hold(name(), 0.5).await.unwrap().contains("decay"),
        "given up by B: A takes it"
    );
}

#[tokio::test]
async fn an_instance_stopped_with_sigterm_gives_its_leases_up() {
    if !on_postgres() {
        return;
    }
    let llm = short_replies();
    let dir = tempfile::tempdir().unwrap();
    let url = test_database_url(dir.path()).expect("a PostgreSQL database");
    let mut server = ServerProcess::start(&ProcessOptions::new(dir.path(), &llm.url()));
    let me = instance_of(&mut server);
    let mut c = WsClient::connect(&server.ws_url).await;
    let aria = c.result("persona.switch", json!({"persona_id": "Aria"})).await["persona_id"]
        .as_str()
        .unwrap()
        .to_string();
    c.result("persona.chat", json!({"message": "Hello?"})).await;
    let lease = format!("persona:{aria}");
    assert!(wait_for_holder(&url, &lease, Duration::from_secs(5), |h| h == me).is_some());
    server.signal("TERM");
    assert!(
        server.wait_exit(Duration::from_secs(20)),
        "the server exits after SIGTERM"
    );
    assert_eq!(
        lease_holder(&url, &lease),
        None,
        "the lease was given up, not left to expire"
    );
}

#[test]
fn instances_starting_together_on_a_new_database_seed_it_once() {
    // Every store seeds at the same moment, as instances started together (compose, a rolling deploy) do; on
    // SQLite two processes may share the file too (`serve --role`).
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let storage = test_settings("http://127.0.0.1:9", dir.path()).storage;
        let stores: Vec<_> = (0..3)
            .map(|_| persona_mcp::storage::Store::connect(&storage).unwrap())
            .collect();
        let barrier = std::sync::Barrier::new(stores.len());
        std::thread::scope(|s| {
            for store in &stores {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    persona_mcp::app::seed_defaults(store).expect("seeding an empty database never fails");
                });
            }
        });
        let names: Vec<String> = actix_rt::System::new()
            .block_on(stores[0].personas().list())
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Aria", "Kira"], "seeded once");
    }
}

/// `bot.get` on `c` until its status is one of `statuses`, for at most 30 s.
async fn bot_until(c: &mut WsClient, bot: &Value, statuses: &[&str]) -> Value {
    let b = result_until(
        c,
        "bot.get",
        json!({ "bot_id": bot }),
        "",
        Duration::from_secs(30),
        |b| statuses.iter().any(|s| b["status"] == *s),
    )
    .await;
    assert!(
        statuses.iter().any(|s| b["status"] == *s),
        "bot never {statuses:?}: {b}"
    );
    b
}

#[tokio::test]
async fn one_instance_runs_the_bots_and_another_takes_over_when_it_stops() {
    if !on_postgres() {
        return;
    }
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let (a, b, _dirs) = two_instances(&llm, |s| {
        s.bots.executable = Some(env!("CARGO_BIN_EXE_persona-mcp").into());
    });
    let (mut ca, mut cb) = (a.client().await, b.client().await);
    // Created through the instance that does not run the bots: the one that does picks it up. Its homeserver
    // refuses connections, so its process keeps starting and backing off, on one instance only.
    let bot = cb
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": "http://127.0.0.1:9", "user_id": "@aria:localhost",
                   "password": "pw-1234"}),
        )
        .await["bot_id"]
        .clone();
    let (runner, mut runner_c, mut standby_c) = {
        let on_a = result_until(
            &mut ca,
            "bot.get",
            json!({ "bot_id": bot }),
            "",
            Duration::from_secs(30),
            |v| v["restarts"].as_u64() > Some(0),
        )
        .await;
        let on_b = cb.result("bot.get", json!({ "bot_id": bot })).await;
        if on_a["restarts"].as_u64() > Some(0) {
            ("a", ca, cb)
        } else {
            assert!(
                on_b["restarts"].as_u64() > Some(0),
                "neither instance runs the bot: {on_a} {on_b}"
            );
            ("b", cb, ca)
        }
    };
    let standby = standby_c.result("bot.get", json!({ "bot_id": bot })).await;
    assert_eq!(standby["status"], "stopped", "{standby}");
    assert_eq!(standby["restarts"], 0, "{standby}");
    assert!(
        standby["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("another instance")),
        "{standby}"
    );
    bot_until(&mut runner_c, &bot, &["starting", "backoff"]).await;

    // The instance running the bots stops: the other takes them over.
    let survivor = if runner == "a" {
        drop(runner_c);
        a.stop().await;
        b
    } else {
        drop(runner_c);
        b.stop().await;
        a
    };
    let taken = result_until(
        &mut standby_c,
        "bot.get",
        json!({ "bot_id": bot }),
        "",
        Duration::from_secs(30),
        |v| v["restarts"].as_u64() > Some(0),
    )
    .await;
    assert!(
        taken["restarts"].as_u64() > Some(0),
        "the bot was not taken over: {taken}"
    );
    survivor.stop().await;
}
