//! Who reads a memory, on every read path (issue 26 item 1): a call that names a persona (`persona_id`, else the
//! connection's current persona) acts as that persona and sees all of its own memories plus what visibility grants
//! it of others'; a call about one memory with neither is the operator's. Visibility is what one persona learns of
//! another's memories: cross-persona search, chat and dialogue prompts, chatrooms, `prompt show`, state files and
//! MCP tools and resources each hold to it.

use serde_json::{json, Value};

use crate::boot;
use crate::cli::binary;
use crate::mcp::{call_tool, ready, strings, structured, Http};
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer, WsClient};

const PRIVATE: &str = "Aria hides a lantern of secrets under the stage";
const SHARED: &str = "Aria lent Kira a lantern for the night road";
const PUBLIC: &str = "Aria sang the lantern song in the square";
/// Kira's own private memory: what she recalls of herself.
const KIRAS: &str = "Kira keeps a lantern of blue glass on her desk";

/// Aria's three lantern memories (private, shared, public) and their ids in that order, and Kira's private one.
/// Kira knows Aria (the seeded acquaintance); Bram, created here, knows nobody.
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
    c.result("memory.store", json!({ "persona_id": "Kira", "content": KIRAS }))
        .await;
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

/// The system message of the LLM's last chat request.
fn last_system(llm: &FakeLlm) -> String {
    llm.requests().last().expect("a chat request")["messages"][0]["content"]
        .as_str()
        .expect("a system message")
        .to_string()
}

#[tokio::test]
async fn a_fresh_connection_stores_finds_by_paraphrase_and_gets_without_switching() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    for other in [
        "The lighthouse keeper polished the brass lamp before the storm arrived",
        "The astronaut floated outside the space station repairing a solar panel",
        "A violinist practised scales in a cold concert hall at dawn",
    ] {
        c.result("memory.store", json!({ "persona_id": "Aria", "content": other }))
            .await;
    }
    let memory = "Grandmother baked apple pie with cinnamon for the village festival";
    let stored = c
        .result("memory.store", json!({ "persona_id": "Aria", "content": memory }))
        .await;
    let id = stored["memory_id"].clone();

    // No persona.switch anywhere: the call names the persona it acts as.
    let found = c
        .result(
            "memory.search",
            json!({ "persona_id": "Aria", "query": "granny cooking fruit dessert spiced for town celebration" }),
        )
        .await;
    assert_eq!(
        found["memories"][0]["id"], id,
        "the paraphrase finds it at once: {found}"
    );
    assert_eq!(found["memories"][0]["visibility"], "private");
    let legacy = c
        .result(
            "persona.memory",
            json!({ "persona_id": "Aria", "query": "granny cooking fruit dessert" }),
        )
        .await;
    assert!(
        strings(&legacy["memories"], "content").contains(&memory.to_string()),
        "{legacy}"
    );

    let got = c.result("memory.get", json!({ "memory_id": id })).await;
    assert_eq!(
        got["memory"]["content"], memory,
        "no persona named or current: the operator's call"
    );
    let got = c
        .result("memory.get", json!({ "memory_id": id, "persona_id": "Aria" }))
        .await;
    assert_eq!(got["memory"]["content"], memory, "Aria reads her own");
    let e = c
        .error("memory.get", json!({ "memory_id": id, "persona_id": "Kira" }))
        .await;
    assert_eq!(e["code"], -32008, "Kira may not read Aria's private memory: {e}");
    assert_eq!(e["data"]["memory_id"], id);
    let e = c
        .error("memory.get", json!({ "memory_id": id, "persona_id": "Nobody" }))
        .await;
    assert_eq!(e["code"], -32001, "an unknown acting persona: {e}");
}

#[tokio::test]
async fn searches_act_as_the_persona_they_name_whoever_is_current() {
    let (_llm, server) = boot(None);
    seed(&server).await;
    let everything = sorted(&[PRIVATE, SHARED, PUBLIC]);
    let related = sorted(&[SHARED, PUBLIC]);
    let public = sorted(&[PUBLIC]);
    let search = json!({ "persona_id": "Aria", "query": "lantern", "n_results": 10 });
    let legacy = |query: &str| json!({ "persona_id": "aria", "query": query, "limit": 10 });
    let cross = |who: &str| json!({ "persona_id": who, "query": "lantern", "min_importance": 0.0 });
    for current in [None, Some("Aria"), Some("Kira"), Some("Bram")] {
        let mut c = as_persona(&server, current).await;
        let r = c.result("memory.search", search.clone()).await;
        assert_eq!(contents(&r), everything, "memory.search as Aria, current {current:?}");
        let r = c.result("persona.memory", legacy("lantern")).await;
        assert_eq!(contents(&r), everything, "persona.memory by query, current {current:?}");
        let r = c.result("persona.memory", legacy("")).await;
        assert_eq!(contents(&r), everything, "persona.memory newest, current {current:?}");
        assert_eq!(r["total_found"], everything.len());

        for (requester, wanted) in [("Kira", &related), ("Bram", &public), ("Aria", &related)] {
            let r = c.result("memory.search_cross_persona", cross(requester)).await;
            let theirs: Vec<String> = contents(&r).into_iter().filter(|m| m.starts_with("Aria")).collect();
            assert_eq!(
                &theirs, wanted,
                "cross-persona search as {requester}, current {current:?}"
            );
            let requester_id =
                c.result("persona.get", json!({ "persona_id": requester })).await["persona"]["id"].clone();
            assert_eq!(r["requesting_persona"], requester_id);
        }
    }

    let mut aria = as_persona(&server, Some("Aria")).await;
    let own = aria
        .result("memory.search", json!({ "query": "lantern", "n_results": 10 }))
        .await;
    assert_eq!(
        contents(&own),
        everything,
        "the current persona acts when none is named"
    );
    let mut kira = as_persona(&server, Some("Kira")).await;
    let own = kira
        .result("memory.search", json!({ "query": "lantern", "n_results": 10 }))
        .await;
    assert_eq!(contents(&own), sorted(&[KIRAS]), "Kira searches her own memories");
    let r = kira
        .result(
            "memory.search_cross_persona",
            json!({ "query": "lantern", "min_importance": 0.0 }),
        )
        .await;
    assert_eq!(
        contents(&r),
        related,
        "the current persona requests; never a private memory"
    );
    let mut bram = as_persona(&server, Some("Bram")).await;
    let r = bram
        .result(
            "memory.search_cross_persona",
            json!({ "query": "lantern", "min_importance": 0.0 }),
        )
        .await;
    assert_eq!(contents(&r), public, "a stranger sees public only");
}

#[tokio::test]
async fn get_and_delete_act_as_the_named_or_current_persona_else_the_operator() {
    let (_llm, server) = boot(None);
    let [private, shared, public] = seed(&server).await;
    let get = |id: &Value| json!({ "memory_id": id });
    let get_as = |id: &Value, who: &str| json!({ "memory_id": id, "persona_id": who });

    let mut operator = as_persona(&server, None).await;
    for (id, content) in [(&private, PRIVATE), (&shared, SHARED), (&public, PUBLIC)] {
        let r = operator.result("memory.get", get(id)).await;
        assert_eq!(r["memory"]["content"], content, "the operator reads every memory");
    }
    for (who, id, visible) in [
        ("Aria", &private, true),
        ("Kira", &private, false),
        ("Kira", &shared, true),
        ("Kira", &public, true),
        ("Bram", &private, false),
        ("Bram", &shared, false),
        ("Bram", &public, true),
    ] {
        if visible {
            operator.result("memory.get", get_as(id, who)).await;
        } else {
            let e = operator.error("memory.get", get_as(id, who)).await;
            assert_eq!(e["code"], -32008, "{who} reads {id}: {e}");
            assert_eq!(e["data"]["memory_id"], *id);
        }
    }

    let mut kira = as_persona(&server, Some("Kira")).await;
    assert_eq!(
        kira.error("memory.get", get(&private)).await["code"],
        -32008,
        "the current persona acts"
    );
    assert_eq!(
        kira.result("memory.get", get(&shared)).await["memory"]["content"],
        SHARED
    );
    assert_eq!(
        kira.result("memory.get", get_as(&private, "Aria")).await["memory"]["content"],
        PRIVATE,
        "a named persona acts instead of the current one"
    );
    assert_eq!(
        kira.error("memory.delete", get(&shared)).await["code"],
        -32008,
        "a persona deletes only its own memories"
    );
    assert_eq!(
        operator.error("memory.delete", get_as(&private, "Kira")).await["code"],
        -32008
    );

    let deleted = operator.result("memory.delete", get_as(&private, "Aria")).await;
    assert_eq!(deleted["deleted"], true, "Aria deletes her own without switching");
    assert_eq!(
        operator.error("memory.get", get(&private)).await["code"],
        -32008,
        "gone"
    );
    let deleted = operator.result("memory.delete", get(&public)).await;
    assert_eq!(deleted["deleted"], true, "the operator deletes any memory");
    assert_eq!(
        operator.result("memory.get", get(&shared)).await["memory"]["content"],
        SHARED,
        "the refused deletes changed nothing"
    );
}

#[tokio::test]
async fn mcp_tools_and_resources_follow_the_same_rule() {
    let (_llm, server) = boot(None);
    let [private, ..] = seed(&server).await;
    let search = json!({ "persona_id": "Aria", "query": "lantern", "n_results": 10 });
    let everything = sorted(&[PRIVATE, SHARED, PUBLIC]);
    let read_doc = |read: &Value| -> Value {
        serde_json::from_str(read["result"]["contents"][0]["text"].as_str().expect("a document")).unwrap()
    };

    let http = Http::new(&server);
    let r = http.tool("memory_search", search.clone()).await;
    assert_eq!(
        contents(structured(&r)),
        everything,
        "stateless HTTP names Aria: her memories"
    );
    let r = http.tool("memory_get", json!({ "memory_id": private })).await;
    assert_eq!(structured(&r)["memory"]["content"], PRIVATE, "the operator's call");
    let r = http
        .tool("memory_get", json!({ "memory_id": private, "persona_id": "Kira" }))
        .await;
    assert_eq!(r["isError"], true, "{r}");
    assert_eq!(r["structuredContent"]["error"]["code"], -32008);
    let r = http
        .tool("persona_memory", json!({ "persona_id": "Aria", "query": "" }))
        .await;
    assert_eq!(contents(structured(&r)), everything);
    let r = http
        .tool(
            "memory_search_cross_persona",
            json!({ "persona_id": "Bram", "query": "lantern", "min_importance": 0.0 }),
        )
        .await;
    assert_eq!(contents(structured(&r)), sorted(&[PUBLIC]), "Bram knows nobody");
    let read = http
        .stateless(2, "resources/read", json!({ "uri": "persona://Aria/memories" }))
        .await;
    assert_eq!(
        contents(&read_doc(&read)),
        everything,
        "the resource, no persona: the operator's read"
    );

    let mut ws = ready(&server, Some("Kira")).await;
    let r = call_tool(&mut ws, "memory_search", search.clone()).await;
    assert_eq!(
        contents(structured(&r)),
        everything,
        "a named persona acts, whoever is current"
    );
    let r = call_tool(&mut ws, "memory_get", json!({ "memory_id": private })).await;
    assert_eq!(r["isError"], true, "Kira is current: {r}");
    assert_eq!(r["structuredContent"]["error"]["code"], -32008);
    let r = call_tool(
        &mut ws,
        "memory_search_cross_persona",
        json!({ "query": "lantern", "min_importance": 0.0 }),
    )
    .await;
    let aria_s: Vec<String> = contents(structured(&r))
        .into_iter()
        .filter(|m| m.starts_with("Aria"))
        .collect();
    assert_eq!(aria_s, sorted(&[SHARED, PUBLIC]), "Kira knows Aria: shared and public");
    let read = ws
        .result("resources/read", json!({ "uri": "persona://Aria/memories" }))
        .await;
    let doc: Value = serde_json::from_str(read["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(contents(&doc), sorted(&[SHARED, PUBLIC]), "the resource read as Kira");
    assert_eq!(doc["total_visible"], 2);
}

#[tokio::test]
async fn chat_and_dialogue_prompts_recall_only_what_the_speaker_may_see() {
    let (llm, server) = boot(Some("I remember."));
    seed(&server).await;

    // A chat recalls the persona's own memories, private ones included, whichever way it was selected.
    let http = Http::new(&server);
    http.tool(
        "persona_chat",
        json!({ "persona_id": "Aria", "message": "Where is the lantern?" }),
    )
    .await;
    let prompt = last_system(&llm);
    assert!(prompt.contains(PRIVATE), "Aria recalls her private memory: {prompt}");
    let mut as_aria = as_persona(&server, Some("Aria")).await;
    as_aria
        .result(
            "persona.chat",
            json!({ "persona_id": "Kira", "message": "Where is the lantern?" }),
        )
        .await;
    let prompt = last_system(&llm);
    assert!(prompt.contains(KIRAS), "Kira recalls her own: {prompt}");
    for aria_s in [PRIVATE, SHARED, PUBLIC] {
        assert!(!prompt.contains(aria_s), "Kira's chat recalls only her own: {prompt}");
    }

    // In a dialogue the speaker also recalls what it may see of its partner's memories: never a private one.
    let mut c = server.client().await;
    let (started, turn) = start_and_turn(
        &mut c,
        json!({ "persona1_id": "Kira", "persona2_id": "Aria", "topic": "the lantern", "token_budget": 1000 }),
    )
    .await;
    assert_eq!(turn["speaker_name"], "Kira");
    let prompt = last_system(&llm);
    assert!(prompt.contains(KIRAS), "Kira recalls her own: {prompt}");
    assert!(prompt.contains(SHARED), "Aria shares it with Kira: {prompt}");
    assert!(prompt.contains(PUBLIC), "public: {prompt}");
    assert!(!prompt.contains(PRIVATE), "never Aria's private memory: {prompt}");
    c.result(
        "conversation.turn",
        json!({ "conversation_id": started["conversation_id"] }),
    )
    .await;
    let prompt = last_system(&llm);
    assert!(prompt.starts_with("You are Aria."), "{prompt}");
    assert!(prompt.contains(PRIVATE), "Aria recalls her own: {prompt}");
    assert!(!prompt.contains(KIRAS), "never Kira's private memory: {prompt}");
}

#[tokio::test]
async fn a_chatroom_stranger_recalls_only_public_memories() {
    let (llm, server) = boot(Some("Hello."));
    seed(&server).await;
    let mut c = server.client().await;
    let (_, turn) = start_and_turn(
        &mut c,
        json!({ "participants": ["Bram", "Aria", "Kira"], "topic": "the lantern", "token_budget": 1000 }),
    )
    .await;
    assert_eq!(turn["speaker_name"], "Bram");
    let prompt = last_system(&llm);
    assert!(prompt.contains("You are talking with Aria"), "{prompt}");
    assert!(prompt.contains(PUBLIC), "Bram may see Aria's public memory: {prompt}");
    assert!(!prompt.contains(SHARED), "Bram has no relationship with Aria: {prompt}");
    assert!(!prompt.contains(PRIVATE), "never a private memory: {prompt}");
}

#[tokio::test]
async fn prompt_show_recalls_only_what_the_persona_may_see() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(test_settings(&llm.url(), dir.path()));
    seed(&server).await;
    let _ = server.stop().await;
    let show = |persona: &str| {
        let out = binary(dir.path(), &llm.url())
            .args([
                "prompt",
                "show",
                "--persona",
                persona,
                "--message",
                "Where is the lantern?",
            ])
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{shown}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        shown
    };
    let kira = show("kira");
    assert!(kira.contains(KIRAS), "{kira}");
    assert!(
        !kira.contains(PRIVATE),
        "Kira's prompt never holds Aria's private memory: {kira}"
    );
    let aria = show("aria");
    assert!(aria.contains(PRIVATE), "{aria}");
    assert!(!aria.contains(KIRAS), "{aria}");
}

#[tokio::test]
async fn visibility_survives_a_state_file() {
    let (_llm, server) = boot(None);
    let [private, shared, public] = seed(&server).await;
    let mut operator = server.client().await;
    let saved = operator.result("state.save", json!({})).await;
    for id in [&private, &shared, &public] {
        operator.result("memory.delete", json!({ "memory_id": id })).await;
    }
    let loaded = operator
        .result("state.load", json!({ "path": saved["path"], "confirm": true }))
        .await;
    assert_eq!(loaded["state_loaded"], true, "{loaded}");

    let mut c = server.client().await;
    for (id, visibility) in [(&private, "private"), (&shared, "shared"), (&public, "public")] {
        let r = c
            .result("memory.get", json!({ "memory_id": id, "persona_id": "Aria" }))
            .await;
        assert_eq!(r["memory"]["visibility"], visibility, "loaded back as it was saved");
    }
    let e = c
        .error("memory.get", json!({ "memory_id": private, "persona_id": "Kira" }))
        .await;
    assert_eq!(e["code"], -32008, "still private after the load");
    let r = c
        .result(
            "memory.search_cross_persona",
            json!({ "persona_id": "Kira", "query": "lantern", "min_importance": 0.0 }),
        )
        .await;
    assert_eq!(contents(&r), sorted(&[SHARED, PUBLIC]));
    let r = c
        .result(
            "memory.search_cross_persona",
            json!({ "persona_id": "Bram", "query": "lantern", "min_importance": 0.0 }),
        )
        .await;
    assert_eq!(contents(&r), sorted(&[PUBLIC]));
}

/// Starts a persona-to-persona conversation and runs its first turn: (the start's result, the turn's result).
async fn start_and_turn(c: &mut WsClient, start: Value) -> (Value, Value) {
    let started = c.result("conversation.start", start).await;
    let turn = c
        .result(
            "conversation.turn",
            json!({ "conversation_id": started["conversation_id"] }),
        )
        .await;
    (started, turn)
}
