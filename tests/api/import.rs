//! `memory.import` over the WebSocket with the real MiniLM embedder: many memories in one call, all or nothing,
//! found by meaning as soon as the call answers.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{json, Value};

use crate::boot;
use crate::memory::UNRELATED as TOPICS;
use crate::support::WsClient;

/// Shares no word with [`PARAPHRASE`]: only its vector can find it.
const BALLAD: &str = "Aria performed her new ballad at the harvest festival";
const PARAPHRASE: &str = "song she sang at the autumn fair";

/// `n` filler memories, the `i`th one a variant of a topic.
fn fillers(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({ "content": format!("{} (day {i})", TOPICS[i % TOPICS.len()]) }))
        .collect()
}

/// How many memories `persona` has.
async fn count(c: &mut WsClient, persona: &str) -> u64 {
    let stats = c.result("memory.stats", json!({ "persona_id": persona })).await;
    stats["total_memories"].as_u64().expect("a count")
}

#[tokio::test]
async fn two_hundred_memories_in_one_call_are_found_by_paraphrase_at_once() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let mut memories = fillers(199);
    let ballad = json!({
        "content": BALLAD,
        "memory_type": "event",
        "importance": 0.6,
        "emotional_valence": 0.4,
        "related_personas": ["Kira"],
        "visibility": "shared",
        "metadata": { "source": "history" },
    });
    memories.insert(137, ballad);
    let r = c
        .result("memory.import", json!({ "persona_id": "Aria", "memories": memories }))
        .await;
    assert_eq!(r["status"], "success");
    assert_eq!(r["imported"], 200);
    let ids = r["memory_ids"].as_array().expect("ids");
    assert_eq!(ids.len(), 200);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 200, "distinct ids");
    assert_eq!(count(&mut c, "Aria").await, 200);

    let found = c
        .result(
            "memory.search",
            json!({ "persona_id": "Aria", "query": PARAPHRASE, "n_results": 5 }),
        )
        .await;
    assert_eq!(
        found["memories"][0]["id"], ids[137],
        "the paraphrase ranks first: {found}"
    );

    let got = c.result("memory.get", json!({ "memory_id": ids[137] })).await["memory"].clone();
    assert_eq!(got["content"], BALLAD);
    assert_eq!(got["memory_type"], "event");
    assert_eq!(got["importance"], 0.6);
    assert_eq!(got["emotional_valence"], 0.4);
    assert_eq!(got["visibility"], "shared");
    assert_eq!(got["related_personas"].as_array().map(Vec::len), Some(1));
    let first = c.result("memory.get", json!({ "memory_id": ids[0] })).await["memory"].clone();
    assert_eq!(first["memory_type"], "user_input", "memory.store's defaults");
    assert_eq!(first["importance"], 0.5);
    assert_eq!(first["visibility"], "private");

    // The connection's current persona is the owner when none is named.
    c.result("persona.switch", json!({ "persona_id": "Kira" })).await;
    let r = c
        .result(
            "memory.import",
            json!({ "memories": [{ "content": "Kira found a comet", "importance": "auto" }] }),
        )
        .await;
    assert_eq!(r["imported"], 1);
    assert_eq!(count(&mut c, "Kira").await, 1);
}

#[tokio::test]
async fn a_bad_item_is_named_by_its_index_and_nothing_is_stored() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let long = "x".repeat(32 * 1024 + 1);
    // (index of the bad item, the item, its field, how the message goes on after naming it)
    let cases: Vec<(usize, Value, &str, &str)> = vec![
        (3, json!({ "memory_type": "event" }), "content", "is required"),
        (0, json!({ "content": "  " }), "content", "is required"),
        (7, json!({ "content": 7 }), "content", "must be a string"),
        (5, json!({ "content": "ok", "importance": 2 }), "importance", "must be"),
        (
            1,
            json!({ "content": "ok", "visibility": "secret" }),
            "visibility",
            "must be",
        ),
        (
            9,
            json!({ "content": "ok", "emotional_valence": -2 }),
            "emotional_valence",
            "must be",
        ),
        (4, json!({ "content": long }), "content", "must be at most"),
    ];
    for (index, bad, field, rest) in cases {
        let mut memories = fillers(10);
        memories[index] = bad;
        let e = c
            .error("memory.import", json!({ "persona_id": "Aria", "memories": memories }))
            .await;
        let named = format!("memories[{index}].{field}");
        assert_eq!(e["code"], -32602, "{e}");
        assert_eq!(e["data"]["field"], named.as_str(), "{e}");
        assert!(
            e["message"].as_str().unwrap().starts_with(&format!("{named} {rest}")),
            "{e}"
        );
    }
    // An unknown related persona fails the whole call too (-32001), after every other item was fine.
    let mut memories = fillers(10);
    memories[6] = json!({ "content": "ok", "related_personas": ["Nobody"] });
    let e = c
        .error("memory.import", json!({ "persona_id": "Aria", "memories": memories }))
        .await;
    assert_eq!(e["code"], -32001, "{e}");

    assert_eq!(count(&mut c, "Aria").await, 0, "nothing stored");
    let found = c
        .result(
            "memory.search",
            json!({ "persona_id": "Aria", "query": "blacksmith plough" }),
        )
        .await;
    assert_eq!(found["result_count"], 0, "{found}");
}

#[tokio::test]
async fn more_than_the_cap_or_none_is_refused() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let max = persona_mcp::rpc::memory::MAX_IMPORT;
    for n in [max + 1, 0] {
        let e = c
            .error("memory.import", json!({ "persona_id": "Aria", "memories": fillers(n) }))
            .await;
        assert_eq!(e["code"], -32602, "{e}");
        assert_eq!(e["data"]["field"], "memories", "{e}");
        assert!(e["message"].as_str().unwrap().contains(&max.to_string()), "{e}");
    }
    let e = c.error("memory.import", json!({ "persona_id": "Aria" })).await;
    assert_eq!(e["message"], "memories is required");
    let e = c.error("memory.import", json!({ "memories": fillers(1) })).await;
    assert_eq!(e["code"], -32002, "no persona named nor current: {e}");
    assert_eq!(count(&mut c, "Aria").await, 0, "nothing stored");
}

/// The result of a call that may take longer than the client's 15 s wait for a frame.
async fn slow_result(c: &mut WsClient, method: &str, params: Value) -> Value {
    let id = c.request(method, params).await;
    for _ in 0..40 {
        if let Some(frame) = c.read_frame().await.filter(|f| f["id"] == id) {
            assert!(frame.get("error").is_none(), "{method} failed: {frame}");
            return frame["result"].clone();
        }
    }
    panic!("{method} did not answer within 10 minutes");
}

/// Import throughput with vectors: calls of `MAX_IMPORT` memories of chat-turn length, each answered once every
/// memory is embedded and indexed, beside `memory.store` one at a time, each awaited. Prints memories/s (`cargo
/// test --test api import_throughput -- --ignored --nocapture`; the numbers depend on the build profile and the
/// load).
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn import_throughput() {
    const CALLS: usize = 2;
    const ONE_BY_ONE: usize = 200;
    let max = persona_mcp::rpc::memory::MAX_IMPORT;
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let turn = |i: usize| {
        format!(
            "[{} May 2023] Caroline: {}, and I keep thinking about it (day {i}) because it mattered to me.",
            1 + i % 28,
            TOPICS[i % TOPICS.len()],
        )
    };
    let started = Instant::now();
    for call in 0..CALLS {
        let memories: Vec<Value> = (0..max).map(|i| json!({ "content": turn(call * max + i) })).collect();
        let params = json!({ "persona_id": "Aria", "memories": memories });
        assert_eq!(slow_result(&mut c, "memory.import", params).await["imported"], max);
    }
    let imported = (max * CALLS) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..ONE_BY_ONE {
        let params = json!({ "persona_id": "Kira", "content": turn(i) });
        slow_result(&mut c, "memory.store", params).await;
    }
    let stored = ONE_BY_ONE as f64 / started.elapsed().as_secs_f64();
    println!(
        "memory.import: {CALLS} calls of {max} memories: {imported:.0} memories/s; memory.store awaited one at a \
         time: {stored:.0} memories/s"
    );
    assert_eq!(count(&mut c, "Aria").await, (max * CALLS) as u64);
}
