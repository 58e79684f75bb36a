//! Two processes on one data dir, `--role mcp` and `--role admin`: a change made through either is seen by the
//! other within a second, and no write is lost to a stale cached copy.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::WsClient;

/// A server process, killed when dropped.
struct Process {
    child: Child,
    /// `host:port` it printed for its listener.
    addr: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Starts `persona-mcp serve --role ROLE` and waits for the line naming its listener (`marker` precedes the
/// address).
fn spawn(role: &str, data_dir: &std::path::Path, llm_url: &str, marker: &str) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_persona-mcp"))
        .args(["serve", "--role", role])
        .current_dir(data_dir)
        .env("PERSONA_MCP__STORAGE__DATA_DIR", data_dir)
        .env("PERSONA_MCP__LLM__URL", llm_url)
        .env("PERSONA_MCP__LOGGING__LEVEL", "info")
        .env("PERSONA_MCP__SERVER__PORT", "0")
        .env("PERSONA_MCP__ADMIN__PORT", "0")
        .env("PERSONA_MCP__MEMORY__DECAY_ENABLED", "false")
        .env(
            "PERSONA_MCP__EMBEDDER__MODEL_DIR",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/all-MiniLM-L6-v2"),
        )
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let marker = marker.to_string();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split(&marker).nth(1) {
                    let addr: String = rest.chars().take_while(|c| *c != '/' && !c.is_whitespace()).collect();
                    tx.send(addr).ok();
                    sent = true;
                }
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(60)).expect("the server came up");
    Process { child, addr }
}

async fn admin(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http
        .request(method, format!("{base}/admin/api/v1{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("admin answers");
    assert!(
        resp.status().is_success() || resp.status() == StatusCode::CREATED,
        "{path}: {}",
        resp.status()
    );
    resp.json().await.expect("JSON")
}

/// Polls `check` every 50 ms for up to one second.
async fn within_a_second(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..20 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check().await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_process_and_an_mcp_process_share_one_data_dir() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Noted.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mcp = spawn("mcp", dir.path(), &llm.url(), "ws://");
    let adm = spawn("admin", dir.path(), &llm.url(), "admin listening: http://");
    let token = std::fs::read_to_string(dir.path().join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let base = format!("http://{}", adm.addr);
    let http = reqwest::Client::new();
    let no_admin_on_mcp = http
        .get(format!("http://{}/admin/api/v1/personas", mcp.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(no_admin_on_mcp.status(), StatusCode::NOT_FOUND);
    let mut ws = WsClient::connect(&format!("ws://{}/mcp", mcp.addr)).await;

    // The mcp process has Aria's card cached (a chat ran); the admin renames and edits her.
    ws.result("persona.switch", json!({ "persona_id": "Aria" })).await;
    ws.result("persona.chat", json!({ "message": "hello" })).await;
    let patch = json!({ "name": "Aria Prime", "description": "Speaks only in riddles about lighthouses" });
    admin(
        &http,
        &base,
        &token,
        reqwest::Method::PATCH,
        "/personas/Aria",
        Some(patch),
    )
    .await;
    let renamed = within_a_second(async || {
        let list = ws.result("persona.list", json!({})).await;
        list["personas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Aria Prime")
    })
    .await;
    assert!(renamed, "the rename shows in persona.list within a second");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    ws.result("persona.chat", json!({ "message": "who are you?" })).await;
    let last = llm.requests().last().cloned().expect("the model was asked");
    assert!(
        last.to_string().contains("riddles about lighthouses"),
        "the next chat uses the card edited in the admin: {last}"
    );

    // A memory stored over WebSocket shows in the admin's list.
    ws.result(
        "memory.store",
        json!({ "persona_id": "Kira", "content": "Kira charted the northern sky" }),
    )
    .await;
    let listed = within_a_second(async || {
        let page = admin(
            &http,
            &base,
            &token,
            reqwest::Method::GET,
            "/memories?persona=Kira",
            None,
        )
        .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"] == "Kira charted the northern sky")
    })
    .await;
    assert!(listed, "a memory stored over WebSocket shows in the admin memory list");

    // ... and the admin's own vector index finds it: the query shares no word with the memory, so only the
    // vector (embedded by the mcp process, picked up from the shared database's change log) can match.
    let found = within_a_second(async || {
        let page = admin(
            &http,
            &base,
            &token,
            reqwest::Method::GET,
            "/memories?persona=Kira&q=astronomy%20constellations%20stargazing",
            None,
        )
        .await;
        page["items"].as_array().unwrap().iter().any(|m| {
            m["content"] == "Kira charted the northern sky" && m["similarity"].as_f64().is_some_and(|s| s > 0.2)
        })
    })
    .await;
    assert!(
        found,
        "vector search in the admin process finds a memory the mcp process stored"
    );

    // Writes from both sides on one persona: neither is lost.
    admin(
        &http,
        &base,
        &token,
        reqwest::Method::PATCH,
        "/personas/Kira",
        Some(json!({ "description": "edited in the admin" })),
    )
    .await;
    ws.result("persona.update", json!({ "persona_id": "Kira", "charisma": 17 }))
        .await;
    let kira = admin(&http, &base, &token, reqwest::Method::GET, "/personas/Kira", None).await;
    assert_eq!(
        (kira["description"].as_str(), kira["charisma"].as_i64()),
        (Some("edited in the admin"), Some(17))
    );

    // A persona deleted in the admin is gone from the other process too.
    admin(&http, &base, &token, reqwest::Method::DELETE, "/personas/Kira", None).await;
    let err = ws.error("persona.get", json!({ "persona_id": "Kira" })).await;
    assert_eq!(err["code"], -32001);
}
