//! Several instances on one PostgreSQL database (run by `make test-pg`, which sets `PERSONA_TEST_PG_URL`; on
//! SQLite these tests have nothing to check and return at once).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{on_postgres, test_settings, TestServer, WsClient};

/// Two servers with their own data dirs (so their own vector indexes) on one database.
fn two_instances(llm: &FakeLlm) -> (TestServer, TestServer, [tempfile::TempDir; 2]) {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestServer::start_with(test_settings(&llm.url(), dir_a.path()));
    // The second data dir names the first one's database.
    std::fs::copy(
        dir_a.path().join("persona-mcp.toml"),
        dir_b.path().join("persona-mcp.toml"),
    )
    .unwrap();
    let settings_b = test_settings(&llm.url(), dir_b.path());
    assert_eq!(settings_b.storage.database_url, a.settings.storage.database_url);
    let b = TestServer::start_with(settings_b);
    (a, b, [dir_a, dir_b])
}

/// Searches `persona`'s memories on `c` until `found` holds of the result, for at most `within`.
async fn search_until(
    c: &mut WsClient,
    persona: &str,
    query: &str,
    within: Duration,
    found: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let r = c
            .result(
                "memory.search",
                json!({"persona_id": persona, "query": query, "n_results": 3}),
            )
            .await;
        if found(&r) || start.elapsed() > within {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_persona_and_a_memory_stored_on_one_instance_are_found_on_the_other() {
    if !on_postgres() {
        return;
    }
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let (a, b, _dirs) = two_instances(&llm);
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
