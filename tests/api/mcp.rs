//! Standard MCP over real sockets: the handshake and the stateless revision on the WebSocket (beside JSON-RPC),
//! tools with progress and cancellation, resources with visibility, prompts, logging, the error cases, Streamable
//! HTTP (sessions, SSE, Origin, stateless requests) and `persona-mcp stdio`.

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::boot;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{TestServer, WsClient};

const REPLY: &str = "One two three four five";
const MODERN: &str = "2026-07-28";

/// The `_meta` of a stateless (2026-07-28) request.
fn envelope(version: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "test", "version": "0" },
    })
}

async fn initialize(c: &mut WsClient) -> Value {
    let r = c
        .result(
            "initialize",
            json!({ "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "test", "version": "0" } }),
        )
        .await;
    c.send_raw(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    r
}

/// A WebSocket client that has made the handshake and, when given, switched to a persona.
pub(crate) async fn ready(server: &TestServer, persona: Option<&str>) -> WsClient {
    let mut c = server.client().await;
    initialize(&mut c).await;
    if let Some(persona) = persona {
        call_tool(&mut c, "persona_switch", json!({ "persona_id": persona })).await;
    }
    c
}

/// `tools/call` that must be answered; returns the tool result.
pub(crate) async fn call_tool(c: &mut WsClient, name: &str, arguments: Value) -> Value {
    c.result("tools/call", json!({ "name": name, "arguments": arguments }))
        .await
}

/// Sends a `tools/call` (with a progress token when given) and returns its request id.
async fn start_tool(c: &mut WsClient, name: &str, arguments: Value, token: Option<Value>) -> Value {
    let mut params = json!({ "name": name, "arguments": arguments });
    if let Some(token) = token {
        params["_meta"] = json!({ "progressToken": token });
    }
    c.request("tools/call", params).await
}

pub(crate) fn structured(result: &Value) -> &Value {
    assert_eq!(result["isError"], false, "tool failed: {result}");
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().expect("text content")).unwrap();
    assert_eq!(text, result["structuredContent"], "text and structured content agree");
    &result["structuredContent"]
}

/// Reads frames until the answer to `id`, collecting the progress notifications on the way.
async fn until_answer(c: &mut WsClient, id: &Value) -> (Vec<Value>, Value) {
    let mut progress = Vec::new();
    loop {
        let f = c.read_frame().await.expect("a frame");
        if f["method"] == "notifications/progress" {
            progress.push(f["params"].clone());
        } else if &f["id"] == id {
            return (progress, f);
        }
    }
}

/// The string field `key` of every item of a JSON array.
pub(crate) fn strings(list: &Value, key: &str) -> Vec<String> {
    let items = list.as_array().expect("an array");
    items
        .iter()
        .map(|i| i[key].as_str().expect("a string").to_string())
        .collect()
}

fn slow_llm() -> FakeLlm {
    FakeLlm::start(FakeLlmConfig {
        reply: None,
        tokens: 200,
        token_delay: Duration::from_millis(30),
        ..FakeLlmConfig::default()
    })
}

async fn upstream_closed(llm: &FakeLlm) {
    for _ in 0..100 {
        if llm.chat_requests_in_flight() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the upstream chat request was not closed");
}

#[tokio::test]
async fn handshake_negotiates_and_gates_requests_beside_json_rpc() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    let e = c.error("tools/list", json!({})).await;
    assert_eq!(e["code"], -32600, "request before initialize: {e}");
    assert!(e["message"].as_str().unwrap().contains("not initialized"));
    assert_eq!(c.result("ping", json!({})).await, json!({}));
    let listed = c.result("persona.list", json!({})).await;
    assert_eq!(listed["total_count"], 2, "JSON-RPC needs no handshake");

    let e = c.error("initialize", json!({ "capabilities": {} })).await;
    assert_eq!(e["code"], -32602);
    let r = c
        .result(
            "initialize",
            json!({ "protocolVersion": "1999-01-01", "capabilities": {} }),
        )
        .await;
    assert_eq!(
        r["protocolVersion"], "2025-11-25",
        "unknown version: the newest is offered"
    );
    let r = c
        .result(
            "initialize",
            json!({ "protocolVersion": "2025-03-26", "capabilities": {} }),
        )
        .await;
    assert_eq!(r["protocolVersion"], "2025-03-26", "a supported version is kept");
    let r = initialize(&mut c).await;
    assert_eq!(r["protocolVersion"], "2025-11-25");
    assert_eq!(r["serverInfo"]["name"], "persona-mcp");
    assert_eq!(r["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    for capability in ["tools", "resources", "prompts", "logging"] {
        assert!(r["capabilities"][capability].is_object(), "{capability}: {r}");
    }
    assert!(r.get("resultType").is_none(), "handshake results stay as they were");
    assert_eq!(c.result("ping", json!({})).await, json!({}));
    let e = c.error("resources/subscribe", json!({ "uri": "persona://Aria" })).await;
    assert_eq!(e["code"], -32601);
}

#[tokio::test]
async fn tools_are_the_method_table_with_generated_schemas_and_pages() {
    let (_llm, server) = boot(Some(REPLY));
    let mut c = ready(&server, None).await;
    let first = c.result("tools/list", json!({})).await;
    assert_eq!(first["tools"].as_array().unwrap().len(), 32);
    assert!(first["nextCursor"].is_string(), "a second page");
    // Every page but the last is full; the last has no cursor.
    let mut tools: Vec<Value> = Vec::new();
    let mut page = first;
    loop {
        let listed = page["tools"].as_array().unwrap();
        tools.extend(listed.iter().cloned());
        let Some(cursor) = page["nextCursor"].as_str().map(str::to_string) else {
            assert!(!listed.is_empty() && listed.len() <= 32);
            break;
        };
        assert_eq!(listed.len(), 32);
        page = c.result("tools/list", json!({ "cursor": cursor })).await;
    }
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for wanted in [
        "persona_list",
        "persona_chat",
        "persona_chat_stream",
        "memory_search",
        "relationship_list",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    for t in &tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["inputSchema"]["properties"]["session_id"]["type"], "string", "{t}");
        assert_eq!(t["name"], t["title"].as_str().unwrap().replace('.', "_"));
    }
    let search = tools.iter().find(|t| t["name"] == "memory_search").unwrap();
    assert!(search["inputSchema"]["properties"]["query"].is_object(), "{search}");
    let chat = tools.iter().find(|t| t["name"] == "persona_chat").unwrap();
    assert_eq!(chat["inputSchema"]["required"], json!(["message"]));
    let e = c.error("tools/list", json!({ "cursor": "bogus" })).await;
    assert_eq!(e["code"], -32602);

    let listed = call_tool(&mut c, "persona_list", json!({})).await;
    assert_eq!(structured(&listed)["total_count"], 2);
    let e = c
        .error("tools/call", json!({ "name": "no_such_tool", "arguments": {} }))
        .await;
    assert_eq!(
        (e["code"].clone(), e["message"].clone()),
        (json!(-32602), json!("Unknown tool: no_such_tool"))
    );
    let e = c
        .error("tools/call", json!({ "name": "persona_list", "arguments": [1] }))
        .await;
    assert_eq!(e["code"], -32602);
    let bad = call_tool(&mut c, "persona_switch", json!({})).await;
    assert_eq!(bad["isError"], true);
    assert_eq!(bad["content"][0]["text"], "persona_id is required");
    assert_eq!(bad["structuredContent"]["error"]["code"], -32602);
    let missing = call_tool(&mut c, "persona_switch", json!({ "persona_id": "Nobody" })).await;
    assert_eq!(missing["isError"], true);
    assert_eq!(missing["structuredContent"]["error"]["code"], -32001);
    let no_persona = call_tool(&mut c, "persona_chat", json!({ "message": "hi" })).await;
    assert_eq!(no_persona["structuredContent"]["error"]["code"], -32002);

    let switched = call_tool(&mut c, "persona_switch", json!({ "persona_id": "Aria" })).await;
    assert_eq!(structured(&switched)["name"], "Aria");
    let chat = call_tool(&mut c, "persona_chat", json!({ "message": "Hello" })).await;
    assert_eq!(structured(&chat)["response"], REPLY);
    assert_eq!(structured(&chat)["response_type"], "direct");
}

#[tokio::test]
async fn streamed_chat_sends_one_progress_notification_per_chunk() {
    let (_llm, server) = boot(Some(REPLY));
    let mut c = ready(&server, Some("Kira")).await;
    let id = start_tool(
        &mut c,
        "persona_chat_stream",
        json!({ "message": "Count" }),
        Some(json!("tok")),
    )
    .await;
    let (progress, answer) = until_answer(&mut c, &id).await;
    let result = structured(&answer["result"]).clone();
    assert_eq!(result["full_response"], REPLY);
    assert_eq!(result["persona_name"], "Kira");
    assert_eq!(progress.len() as u64, result["chunk_count"].as_u64().unwrap());
    assert!(progress.len() > 1);
    for (i, p) in progress.iter().enumerate() {
        assert_eq!(p["progressToken"], "tok");
        assert_eq!(p["progress"], i + 1);
    }
    let text: String = progress.iter().map(|p| p["message"].as_str().unwrap()).collect();
    assert_eq!(text, REPLY);

    let id = start_tool(&mut c, "persona_chat", json!({ "message": "Again" }), Some(json!(7))).await;
    let (progress, answer) = until_answer(&mut c, &id).await;
    assert!(!progress.is_empty() && progress.iter().all(|p| p["progressToken"] == 7));
    assert_eq!(structured(&answer["result"])["response"], REPLY);

    let id = start_tool(&mut c, "persona_chat_stream", json!({ "message": "Quiet" }), None).await;
    let (progress, answer) = until_answer(&mut c, &id).await;
    assert!(progress.is_empty(), "no token, no progress");
    assert_eq!(structured(&answer["result"])["full_response"], REPLY);
}

#[tokio::test]
async fn cancelled_notification_stops_a_streamed_tool_call() {
    let llm = slow_llm();
    let server = TestServer::start(&llm.url());
    let mut c = ready(&server, Some("Aria")).await;
    let id = start_tool(
        &mut c,
        "persona_chat_stream",
        json!({ "message": "A long story" }),
        Some(json!(1)),
    )
    .await;
    let first = c.read_frame().await.expect("progress");
    assert_eq!(first["method"], "notifications/progress");
    let cancel = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": id, "reason": "changed my mind" } });
    c.send_raw(&cancel.to_string()).await;
    upstream_closed(&llm).await;
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(800);
    let mut after = 0;
    while let Ok(Some(f)) = tokio::time::timeout_at(quiet_until, c.read_frame()).await {
        assert_ne!(f["id"], id, "a cancelled call gets no answer: {f}");
        after += 1;
    }
    assert!(after < 20, "progress stopped ({after} more frames)");
    assert_eq!(c.result("ping", json!({})).await, json!({}), "the connection goes on");
}

/// `resources/read` of a JSON document.
async fn read_resource(c: &mut WsClient, uri: String) -> Value {
    let r = c.result("resources/read", json!({ "uri": uri })).await;
    let contents = &r["contents"][0];
    assert_eq!(contents["mimeType"], "application/json", "{r}");
    serde_json::from_str(contents["text"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn resources_show_card_relationships_and_visible_memories() {
    let (_llm, server) = boot(None);
    let mut c = ready(&server, None).await;
    let listed = c.result("resources/list", json!({})).await;
    let resources = listed["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 6, "three documents per persona");
    let aria = resources.iter().find(|r| r["title"] == "Aria").expect("Aria's card");
    let uri = aria["uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("persona://"));
    assert_eq!(aria["mimeType"], "application/json");
    let templates = c.result("resources/templates/list", json!({})).await;
    let templates = strings(&templates["resourceTemplates"], "uriTemplate");
    assert_eq!(
        templates,
        [
            "persona://{persona_id}",
            "persona://{persona_id}/memories",
            "persona://{persona_id}/relationships"
        ]
    );

    let card = read_resource(&mut c, uri.clone()).await;
    assert_eq!(card["persona"]["name"], "Aria");
    assert!(card["interaction_state"]["social_energy"].is_number());
    assert!(card["emotional_state"]["mood"].is_number());
    assert_eq!(
        read_resource(&mut c, "persona://aria".into()).await["persona"]["name"],
        "Aria",
        "by name"
    );
    let relationships = read_resource(&mut c, format!("{uri}/relationships")).await;
    assert_eq!(relationships["relationships"][0]["other_persona_name"], "Kira");

    for (content, visibility) in [
        ("a secret", "private"),
        ("a shared tale", "shared"),
        ("a public song", "public"),
    ] {
        let body = json!({ "persona_id": "Aria", "content": content, "visibility": visibility });
        c.result("memory.store", body).await;
    }
    let seen = |doc: Value| {
        let mut v = strings(&doc["memories"], "content");
        v.sort();
        v
    };
    let memories = format!("{uri}/memories");
    assert_eq!(
        seen(read_resource(&mut c, memories.clone()).await),
        ["a public song", "a secret", "a shared tale"],
        "no current persona: the operator reads them all"
    );
    c.result("persona.switch", json!({ "persona_id": "Kira" })).await;
    assert_eq!(
        seen(read_resource(&mut c, memories.clone()).await),
        ["a public song", "a shared tale"],
        "Kira knows Aria: shared and public"
    );
    c.result("persona.switch", json!({ "persona_id": "Aria" })).await;
    assert_eq!(
        seen(read_resource(&mut c, memories).await).len(),
        3,
        "the owner sees all"
    );

    for bad in ["persona://Nobody", "persona://Aria/diary", "file:///etc/passwd"] {
        let e = c.error("resources/read", json!({ "uri": bad })).await;
        assert_eq!(e["code"], -32002, "{bad}: {e}");
        assert_eq!(e["data"]["uri"], bad);
    }
    let e = c.error("resources/read", json!({})).await;
    assert_eq!(e["code"], -32602);
}

#[tokio::test]
async fn prompts_give_each_persona_system_prompt_and_logging_follows_the_level() {
    let (_llm, server) = boot(None);
    let mut c = ready(&server, None).await;
    let listed = c.result("prompts/list", json!({})).await;
    let names = strings(&listed["prompts"], "name");
    assert_eq!(names, ["chat_as_aria", "chat_as_kira"]);
    let prompt = c
        .result(
            "prompts/get",
            json!({ "name": "chat_as_kira", "arguments": { "message": "Hello" } }),
        )
        .await;
    let messages = prompt["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert!(messages[0]["content"]["text"]
        .as_str()
        .unwrap()
        .starts_with("You are Kira."));
    assert_eq!(messages[1]["content"]["text"], "Hello");
    let e = c.error("prompts/get", json!({ "name": "chat_as_nobody" })).await;
    assert_eq!(e["code"], -32602);

    let e = c.error("logging/setLevel", json!({ "level": "loud" })).await;
    assert_eq!(e["code"], -32602);
    let id = c.request("tools/call", json!({ "name": "persona_list" })).await;
    let (_, answer) = until_answer(&mut c, &id).await;
    assert_eq!(answer["result"]["isError"], false, "no log before a level is set");
    c.result("logging/setLevel", json!({ "level": "debug" })).await;
    let id = c.request("tools/call", json!({ "name": "persona_list" })).await;
    let log = c.read_frame().await.expect("a log message");
    assert_eq!(log["method"], "notifications/message", "{log}");
    assert_eq!(log["params"]["level"], "debug");
    assert_eq!(log["params"]["data"]["tool"], "persona_list");
    assert_eq!(c.frame_for(&id).await["result"]["isError"], false);
}

#[tokio::test]
async fn stateless_requests_carry_their_version_and_a_session_handle() {
    let (_llm, server) = boot(Some(REPLY));
    let mut a = server.client().await;
    let discover = a.result("server/discover", json!({ "_meta": envelope(MODERN) })).await;
    assert_eq!(discover["supportedVersions"], json!([MODERN]));
    assert_eq!(discover["resultType"], "complete");
    assert_eq!(
        discover["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "persona-mcp"
    );
    assert!(discover["capabilities"]["tools"].is_object());
    let tools = a.result("tools/list", json!({ "_meta": envelope(MODERN) })).await;
    assert_eq!(tools["resultType"], "complete", "no handshake needed");
    assert_eq!(tools["ttlMs"], 0);
    assert!(tools["cacheScope"].is_string());

    for version in ["2099-01-01", "2025-11-25"] {
        let e = a.error("tools/list", json!({ "_meta": envelope(version) })).await;
        assert_eq!(e["code"], -32022, "{version}: {e}");
        assert_eq!(e["data"]["supported"], json!([MODERN]));
        assert_eq!(e["data"]["requested"], version);
    }
    let e = a
        .error(
            "tools/list",
            json!({ "_meta": { "io.modelcontextprotocol/protocolVersion": MODERN } }),
        )
        .await;
    assert_eq!(e["code"], -32602, "client capabilities are required");

    let call =
        |name: &str, arguments: Value| json!({ "name": name, "arguments": arguments, "_meta": envelope(MODERN) });
    let switched = a
        .result("tools/call", call("persona_switch", json!({ "persona_id": "Aria" })))
        .await;
    assert_eq!(switched["resultType"], "complete");
    let handle = structured(&switched)["session_id"].as_str().unwrap().to_string();
    a.close().await;

    let mut b = server.client().await;
    let lost = b
        .result("tools/call", call("persona_chat", json!({ "message": "Hi" })))
        .await;
    assert_eq!(
        lost["structuredContent"]["error"]["code"], -32002,
        "a new connection has no persona"
    );
    let chat = b
        .result(
            "tools/call",
            call("persona_chat", json!({ "message": "Hi", "session_id": handle })),
        )
        .await;
    assert_eq!(
        structured(&chat)["response"],
        REPLY,
        "the handle brings the persona back"
    );
}

/// A Streamable HTTP client.
pub(crate) struct Http {
    client: reqwest::Client,
    url: String,
}

impl Http {
    pub(crate) fn new(server: &TestServer) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: server.http_url("/mcp"),
        }
    }

    async fn post(&self, body: Value, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self
            .client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("POST /mcp")
    }

    /// A request of the stateless revision (its `_meta` and headers added, no session); answers the last
    /// JSON-RPC message of the response (a JSON body or an SSE stream).
    pub(crate) async fn stateless(&self, id: u64, method: &str, mut params: Value) -> Value {
        params["_meta"] = envelope(MODERN);
        let headers = [("mcp-protocol-version", MODERN), ("mcp-method", method)];
        let r = self.post(rpc(id, method, params), &headers).await;
        let sse = content_type(&r).starts_with("text/event-stream");
        let body = r.text().await.expect("a body");
        if sse {
            sse_messages(&body).pop().expect("an SSE message")
        } else {
            serde_json::from_str(&body).expect("a JSON body")
        }
    }

    /// `tools/call` in the stateless revision; answers the tool result.
    pub(crate) async fn tool(&self, name: &str, arguments: Value) -> Value {
        let answer = self
            .stateless(1, "tools/call", json!({ "name": name, "arguments": arguments }))
            .await;
        assert!(answer.get("error").is_none(), "tools/call {name} failed: {answer}");
        answer["result"].clone()
    }
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// The JSON messages of an SSE body.
fn sse_messages(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).expect("JSON in an SSE event"))
        .collect()
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn streamable_http_sessions_streams_and_origin() {
    let (_llm, server) = boot(Some(REPLY));
    let http = Http::new(&server);
    let init = rpc(
        1,
        "initialize",
        json!({ "protocolVersion": "2025-11-25", "capabilities": {} }),
    );
    let r = http.post(init.clone(), &[("origin", "http://evil.example")]).await;
    assert_eq!(r.status(), 403, "foreign origin");
    let r = http.post(init.clone(), &[("origin", "http://localhost:6274")]).await;
    assert_eq!(r.status(), 200, "loopback origin (the Inspector)");
    let r = http.post(init, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(content_type(&r).starts_with("application/json"));
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
    assert_eq!(
        r.json::<Value>().await.unwrap()["result"]["protocolVersion"],
        "2025-11-25"
    );
    let with = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let note = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    assert_eq!(http.post(note, &with).await.status(), 202);

    let r = http.post(rpc(2, "tools/list", json!({})), &with).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["result"]["tools"]
            .as_array()
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        http.post(rpc(3, "tools/list", json!({})), &[]).await.status(),
        400,
        "no session"
    );
    let r = http
        .post(rpc(3, "tools/list", json!({})), &[("mcp-session-id", "nope")])
        .await;
    assert_eq!(r.status(), 404, "unknown session");
    let bad_version = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "1999-01-01"),
    ];
    assert_eq!(http.post(rpc(4, "ping", json!({})), &bad_version).await.status(), 400);
    let r = http.client.post(&http.url).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], -32700);

    let get = http.client.get(&http.url).header("accept", "text/event-stream");
    assert_eq!(get.send().await.unwrap().status(), 405, "GET needs a session");
    let stream = http
        .client
        .get(&http.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(content_type(&stream).starts_with("text/event-stream"));
    http.post(rpc(5, "visual.subscribe", json!({})), &with).await;
    let mut other = server.client().await;
    other
        .result("visual.update", json!({ "type": "scene", "data": { "x": 1 } }))
        .await;
    let mut events = stream.bytes_stream();
    let chunk = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event on the standalone stream")
        .unwrap()
        .unwrap();
    let broadcast = &sse_messages(std::str::from_utf8(&chunk).unwrap())[0];
    assert_eq!(broadcast["method"], "visual.update");

    let switch = rpc(
        6,
        "tools/call",
        json!({ "name": "persona_switch", "arguments": { "persona_id": "Aria" } }),
    );
    let switched = sse_messages(&http.post(switch, &with).await.text().await.unwrap());
    assert_eq!(switched[0]["result"]["structuredContent"]["name"], "Aria");
    let call = rpc(
        7,
        "tools/call",
        json!({ "name": "persona_chat_stream", "arguments": { "message": "Hi" }, "_meta": { "progressToken": "p" } }),
    );
    let r = http.post(call, &with).await;
    assert!(content_type(&r).starts_with("text/event-stream"));
    let messages = sse_messages(&r.text().await.unwrap());
    let (answer, progress) = messages.split_last().unwrap();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"]["structuredContent"]["full_response"], REPLY);
    assert_eq!(
        progress.len() as u64,
        answer["result"]["structuredContent"]["chunk_count"].as_u64().unwrap()
    );
    assert!(progress.iter().all(|p| p["method"] == "notifications/progress"));

    let delete = || http.client.delete(&http.url).header("mcp-session-id", &session).send();
    assert_eq!(delete().await.unwrap().status(), 200);
    assert_eq!(delete().await.unwrap().status(), 404);
    assert_eq!(http.post(rpc(8, "ping", json!({})), &with).await.status(), 404);
}

#[tokio::test]
async fn cancelled_notification_posted_to_a_session_ends_the_call_without_answer() {
    let llm = slow_llm();
    let server = TestServer::start(&llm.url());
    let http = Http::new(&server);
    let init = rpc(
        1,
        "initialize",
        json!({ "protocolVersion": "2025-06-18", "capabilities": {} }),
    );
    let r = http.post(init, &[]).await;
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let with = [("mcp-session-id", session.as_str())];
    let switch = rpc(2, "persona.switch", json!({ "persona_id": "Aria" }));
    assert_eq!(
        http.post(switch, &with).await.status(),
        200,
        "JSON-RPC methods work on a session too"
    );
    let call = rpc(
        3,
        "tools/call",
        json!({ "name": "persona_chat_stream", "arguments": { "message": "Long" }, "_meta": { "progressToken": 3 } }),
    );
    let mut events = http.post(call, &with).await.bytes_stream();
    let first = events.next().await.expect("an event").unwrap();
    assert!(std::str::from_utf8(&first).unwrap().contains("notifications/progress"));
    let cancel = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": 3 } });
    assert_eq!(http.post(cancel, &with).await.status(), 202);
    let mut rest = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("the stream ends")
    {
        rest.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(
        sse_messages(&rest).iter().all(|m| m.get("id").is_none()),
        "no answer to a cancelled call"
    );
    upstream_closed(&llm).await;
}

#[tokio::test]
async fn streamable_http_stateless_requests() {
    let (_llm, server) = boot(Some(REPLY));
    let http = Http::new(&server);
    let modern = |method: &'static str| [("mcp-protocol-version", MODERN), ("mcp-method", method)];
    let discover = rpc(1, "server/discover", json!({ "_meta": envelope(MODERN) }));
    let r = http.post(discover.clone(), &modern("server/discover")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("mcp-session-id").is_none(),
        "no session in the stateless revision"
    );
    assert_eq!(
        r.json::<Value>().await.unwrap()["result"]["supportedVersions"],
        json!([MODERN])
    );
    let r = http.post(discover.clone(), &[]).await;
    assert_eq!(r.status(), 400, "the version header is required");
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], -32020);
    let r = http.post(discover, &modern("tools/list")).await;
    assert_eq!(r.status(), 400, "method header mismatch");
    let old = rpc(2, "tools/list", json!({ "_meta": envelope("2099-01-01") }));
    let r = http.post(old, &[("mcp-protocol-version", "2099-01-01")]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], -32022);
    let r = http
        .post(
            rpc(3, "nothing/here", json!({ "_meta": envelope(MODERN) })),
            &modern("nothing/here"),
        )
        .await;
    assert_eq!(r.status(), 404);

    let call = |id: u64, name: &str, arguments: Value, token: Option<&str>| {
        let mut meta = envelope(MODERN);
        if let Some(token) = token {
            meta["progressToken"] = json!(token);
        }
        rpc(
            id,
            "tools/call",
            json!({ "name": name, "arguments": arguments, "_meta": meta }),
        )
    };
    let r = http
        .post(
            call(4, "persona_switch", json!({ "persona_id": "Kira" }), None),
            &modern("tools/call"),
        )
        .await;
    let switched = sse_messages(&r.text().await.unwrap()).pop().unwrap();
    let handle = switched["result"]["structuredContent"]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http
        .post(
            call(
                5,
                "persona_chat",
                json!({ "message": "Hi", "session_id": handle }),
                Some("t"),
            ),
            &modern("tools/call"),
        )
        .await;
    let messages = sse_messages(&r.text().await.unwrap());
    let (answer, progress) = messages.split_last().unwrap();
    assert_eq!(answer["result"]["structuredContent"]["response"], REPLY);
    assert_eq!(answer["result"]["resultType"], "complete");
    assert!(!progress.is_empty() && progress.iter().all(|p| p["params"]["progressToken"] == "t"));
}

#[tokio::test]
async fn closing_a_stateless_response_stream_cancels_the_call() {
    let llm = slow_llm();
    let server = TestServer::start(&llm.url());
    let http = Http::new(&server);
    let headers = [("mcp-protocol-version", MODERN), ("mcp-method", "tools/call")];
    let switch = rpc(
        1,
        "tools/call",
        json!({ "name": "persona_switch", "arguments": { "persona_id": "Aria" }, "_meta": envelope(MODERN) }),
    );
    let r = http.post(switch, &headers).await;
    let switched = sse_messages(&r.text().await.unwrap()).pop().unwrap();
    let handle = switched["result"]["structuredContent"]["session_id"].clone();
    let mut meta = envelope(MODERN);
    meta["progressToken"] = json!(1);
    let chat = rpc(
        2,
        "tools/call",
        json!({ "name": "persona_chat_stream", "arguments": { "message": "Long", "session_id": handle }, "_meta": meta }),
    );
    let r = http.post(chat, &headers).await;
    let mut events = r.bytes_stream();
    let first = events.next().await.expect("an event").unwrap();
    assert!(std::str::from_utf8(&first).unwrap().contains("notifications/progress"));
    assert!(llm.chat_requests_in_flight() > 0);
    drop(events);
    upstream_closed(&llm).await;
}

#[tokio::test]
async fn stdio_serves_mcp_and_json_rpc_and_keeps_stdout_clean() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some(REPLY.to_string()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_persona-mcp"))
        .arg("stdio")
        .env("PERSONA_MCP__STORAGE__DATA_DIR", dir.path())
        .env("PERSONA_MCP__LLM__URL", llm.url())
        .env("PERSONA_MCP__EMBEDDER__PROVIDER", "none")
        .env("PERSONA_MCP__MEMORY__DECAY_ENABLED", "false")
        .env("PERSONA_MCP__LOGGING__LEVEL", "info")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("persona-mcp stdio starts");
    let mut stdin = child.stdin.take().unwrap();
    let lines = [
        rpc(
            1,
            "initialize",
            json!({ "protocolVersion": "2025-06-18", "capabilities": {} }),
        )
        .to_string(),
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }).to_string(),
        rpc(
            2,
            "tools/call",
            json!({ "name": "persona_switch", "arguments": { "persona_id": "Aria" } }),
        )
        .to_string(),
        "{oops".to_string(),
        rpc(3, "persona.list", json!({})).to_string(),
    ];
    for line in &lines {
        stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    }
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answers = Vec::new();
    while answers.len() < 4 {
        let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
            .await
            .expect("an answer")
            .unwrap()
            .expect("stdout open");
        answers.push(serde_json::from_str::<Value>(&line).expect("stdout carries JSON-RPC only"));
    }
    let by_id = |id: Value| answers.iter().find(|a| a["id"] == id).cloned().unwrap();
    assert_eq!(by_id(json!(1))["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(by_id(json!(2))["result"]["structuredContent"]["name"], "Aria");
    assert_eq!(by_id(json!(3))["result"]["total_count"], 2);
    assert_eq!(by_id(Value::Null)["error"]["code"], -32700);
    let chat = rpc(
        4,
        "tools/call",
        json!({ "name": "persona_chat", "arguments": { "message": "Hi" } }),
    );
    stdin.write_all(format!("{chat}\n").as_bytes()).await.unwrap();
    drop(stdin);
    let line = out.next_line().await.unwrap().expect("the chat's answer before exit");
    let chat: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        chat["result"]["structuredContent"]["response"], REPLY,
        "stdin closed after the request"
    );
    assert!(out.next_line().await.unwrap().is_none());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits when stdin closes")
        .unwrap();
    assert!(status.success());
    let mut logs = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut logs)
        .await
        .unwrap();
    assert!(logs.contains("seeded default persona"), "logs go to stderr: {logs}");
}
