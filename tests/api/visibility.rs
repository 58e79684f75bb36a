//! Who reads a memory, on every read path (issue 11 item 3): the connection's current persona reads what
//! DOMAIN.md lets it see; a `persona_id` on a memory read names whose memories, never who reads; without a current
//! persona only public memories are readable; a chat turn recalls its persona's own memories.

use serde_json::{json, Value};

use crate::boot;
use crate::mcp::{call_tool, ready, strings, structured, Http};
use crate::support::{TestServer, WsClient};

const PRIVATE: &str = "Aria hides a lantern of secrets under the stage";
const SHARED: &str = "Aria lent Kira a lantern for the night road";
const PUBLIC: &str = "Aria sang the lantern song in the square";

/// Aria's three lantern memories (private, shared, public) and their ids in that order. Kira knows Aria (the
/// seeded acquaintance); Bram, created here, knows nobody.
async fn seed(server: &TestServer) -> [Value; 3] {
    let mut c = server.client().await;
    c.result("persona.create", json!({ "name": "Bram" })).await;
    let mut ids = Vec::new();
    for (content, visibility) in [(PRIVATE, "private"), (SHARED, "shared"), (PUBLIC, "public")] {
        let stored = c
            .result(
                "memory.store",
                json!({ "persona_id": "Aria", "content": content, "visibility": visibility }),
            )
            .await;
        ids.push(stored["memory_id"].clone());
    }
    ids.try_into().expect("three ids")
}

/// A WebSocket client switched to `persona` (none: no current persona).
async fn as_persona(server: &TestServer, persona: Option<&str>) -> WsClient {
    let mut c = server.client().await;
    if let Some(p) = persona {
        c.result("persona.switch", json!({ "persona_id": p })).await;
    }
    c
}

/// The contents of a result's `memories`, sorted.
fn contents(result: &Value) -> Vec<String> {
    let mut v = strings(&result["memories"], "content");
    v.sort();
    v
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn searches_answer_what_the_reader_may_see() {
    let (_llm, server) = boot(None);
    seed(&server).await;
    let everything = sorted(&[PRIVATE, SHARED, PUBLIC]);
    let related = sorted(&[SHARED, PUBLIC]);
    let public = sorted(&[PUBLIC]);
    let search = json!({ "persona_id": "Aria", "query": "lantern", "n_results": 10 });
    let legacy = |query: &str| json!({ "persona_id": "aria", "query": query, "limit": 10 });
    for (reader, wanted) in [
        (Some("Aria"), &everything),
        (Some("Kira"), &related),
        (Some("Bram"), &public),
        (None, &public),
    ] {
        let mut c = as_persona(&server, reader).await;
        let r = c.result("memory.search", search.clone()).await;
        assert_eq!(&contents(&r), wanted, "memory.search read by {reader:?}");
        let r = c.result("persona.memory", legacy("lantern")).await;
        assert_eq!(&contents(&r), wanted, "persona.memory by query read by {reader:?}");
        let r = c.result("persona.memory", legacy("")).await;
        assert_eq!(&contents(&r), wanted, "persona.memory newest read by {reader:?}");
        assert_eq!(r["total_found"], wanted.len());
    }
    let mut aria = as_persona(&server, Some("Aria")).await;
    let own = aria.result("memory.search", json!({ "query": "lantern" })).await;
    assert_eq!(contents(&own), everything, "the current persona is the default owner");

    let cross = json!({ "persona_id": "Kira", "query": "lantern", "min_importance": 0.0 });
    for (reader, wanted) in [(Some("Kira"), &related), (Some("Bram"), &public), (None, &public)] {
        let mut c = as_persona(&server, reader).await;
        let r = c.result("memory.search_cross_persona", cross.clone()).await;
        assert_eq!(
            &contents(&r),
            wanted,
            "cross-persona search for Kira read by {reader:?}"
        );
        assert_eq!(
            r["requesting_persona"],
            c.result("persona.get", json!({"persona_id": "Kira"})).await["persona"]["id"]
        );
    }
}

#[tokio::test]
async fn get_and_delete_answer_not_found_for_what_the_reader_may_not_see() {
    let (_llm, server) = boot(None);
    let [private, shared, public] = seed(&server).await;
    let get = |id: &Value| json!({ "memory_id": id });
    let mut nobody = as_persona(&server, None).await;
    for id in [&private, &shared] {
        let e = nobody.error("memory.get", get(id)).await;
        assert_eq!(e["code"], -32008, "no persona: {e}");
        assert_eq!(e["data"]["memory_id"], *id);
    }
    let e = nobody
        .error("memory.get", json!({ "memory_id": private, "persona_id": "Aria" }))
        .await;
    assert_eq!(e["code"], -32008, "naming the owner does not make the caller the owner");
    assert_eq!(
        nobody.result("memory.get", get(&public)).await["memory"]["content"],
        PUBLIC
    );
    let e = nobody.error("memory.delete", get(&public)).await;
    assert_eq!(e["code"], -32008, "only the owner deletes");

    let mut kira = as_persona(&server, Some("Kira")).await;
    assert_eq!(
        kira.result("memory.get", get(&shared)).await["memory"]["content"],
        SHARED
    );
    assert_eq!(kira.error("memory.get", get(&private)).await["code"], -32008);
    assert_eq!(kira.error("memory.delete", get(&shared)).await["code"], -32008);
    let mut bram = as_persona(&server, Some("Bram")).await;
    assert_eq!(bram.error("memory.get", get(&shared)).await["code"], -32008);

    let mut aria = as_persona(&server, Some("Aria")).await;
    assert_eq!(
        aria.result("memory.get", get(&private)).await["memory"]["content"],
        PRIVATE
    );
    let deleted = aria.result("memory.delete", get(&private)).await;
    assert_eq!(deleted["deleted"], true);
    assert_eq!(aria.error("memory.get", get(&private)).await["code"], -32008);
    assert_eq!(
        aria.result("memory.get", get(&public)).await["memory"]["content"],
        PUBLIC,
        "the refused deletes changed nothing"
    );
}

#[tokio::test]
async fn tools_over_websocket_and_http_follow_the_same_rule() {
    let (llm, server) = boot(Some("I remember."));
    let [private, ..] = seed(&server).await;
    let search = json!({ "persona_id": "Aria", "query": "lantern", "n_results": 10 });

    let mut ws = ready(&server, None).await;
    let r = call_tool(&mut ws, "memory_search", search.clone()).await;
    assert_eq!(
        contents(structured(&r)),
        sorted(&[PUBLIC]),
        "MCP over WebSocket, no persona"
    );
    call_tool(&mut ws, "persona_switch", json!({ "persona_id": "Kira" })).await;
    let r = call_tool(&mut ws, "memory_search", search.clone()).await;
    assert_eq!(
        contents(structured(&r)),
        sorted(&[SHARED, PUBLIC]),
        "MCP over WebSocket as Kira"
    );

    let http = Http::new(&server);
    let r = http.tool("memory_search", search.clone()).await;
    assert_eq!(
        contents(structured(&r)),
        sorted(&[PUBLIC]),
        "stateless HTTP, no session"
    );
    let r = http.tool("memory_get", json!({ "memory_id": private })).await;
    assert_eq!(r["isError"], true, "{r}");
    assert_eq!(r["structuredContent"]["error"]["code"], -32008);
    let r = http
        .tool("persona_memory", json!({ "persona_id": "Aria", "query": "" }))
        .await;
    assert_eq!(contents(structured(&r)), sorted(&[PUBLIC]));
    let read = http
        .stateless(2, "resources/read", json!({ "uri": "persona://Aria/memories" }))
        .await;
    let doc: Value = serde_json::from_str(read["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(contents(&doc), sorted(&[PUBLIC]), "resource over stateless HTTP");

    let switched = http.tool("persona_switch", json!({ "persona_id": "Aria" })).await;
    let session = structured(&switched)["session_id"].clone();
    let mut as_aria = search.clone();
    as_aria["session_id"] = session;
    let r = http.tool("memory_search", as_aria).await;
    assert_eq!(
        contents(structured(&r)),
        sorted(&[PRIVATE, SHARED, PUBLIC]),
        "the session handle makes the caller Aria again"
    );

    // A chat names its persona and recalls that persona's own memories, private ones included.
    let chat = http
        .tool(
            "persona_chat",
            json!({ "persona_id": "Aria", "message": "Where is the lantern?" }),
        )
        .await;
    assert_eq!(structured(&chat)["response"], "I remember.");
    let prompt = llm.requests().last().expect("a chat request")["messages"][0]["content"]
        .as_str()
        .expect("a system message")
        .to_string();
    assert!(prompt.contains(PRIVATE), "Aria recalls her private memory: {prompt}");
    http.tool(
        "persona_chat",
        json!({ "persona_id": "Kira", "message": "Where is the lantern?" }),
    )
    .await;
    let prompt = llm.requests().last().expect("a chat request")["messages"][0]["content"].to_string();
    assert!(
        !prompt.contains("lantern"),
        "Kira recalls only her own memories: {prompt}"
    );
}
