//! The access log over real sockets: one `info` line on `persona_mcp::access` per JSON-RPC call, MCP request and
//! HTTP request — the call, the persona, the duration and the outcome, never the message — and none with
//! `logging.access` off (a live setting).

use persona_mcp::logbuf::{self, LogFilter, LogLine};
use serde_json::json;

use crate::mcp::{call_tool, ready};
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{install_log_buffer, test_settings, TestServer};

/// The access lines that name `persona`.
fn access_lines(persona: &str) -> Vec<LogLine> {
    let filter = LogFilter {
        level: None,
        target: Some("persona_mcp::access".into()),
    };
    let buffer = logbuf::installed().expect("log buffer installed");
    buffer
        .tail(5000, &filter)
        .into_iter()
        .filter(|l| l.fields.contains(&format!("persona={persona}")))
        .collect()
}

fn server(access: bool) -> (FakeLlm, TestServer, tempfile::TempDir) {
    install_log_buffer();
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.logging.access = access;
    (llm, TestServer::start_with(settings), dir)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn every_call_and_request_leaves_one_line_without_its_contents() {
    let (_llm, server, _dir) = server(true);
    let mut c = server.client().await;
    let name = unique("Ledger");
    let pid = c.result("persona.create", json!({"name": name})).await["persona_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = unique("never-logged-");
    c.result("memory.store", json!({"persona_id": pid, "content": secret}))
        .await;
    let lines = access_lines(&pid);
    let store: Vec<&LogLine> = lines.iter().filter(|l| l.message == "memory.store").collect();
    assert_eq!(store.len(), 1, "one line per call: {lines:?}");
    assert_eq!(store[0].level, "INFO");
    assert!(store[0].fields.contains("outcome=ok"), "{:?}", store[0]);
    assert!(store[0].fields.contains("ms="), "{:?}", store[0]);

    // A refused call: its error code. A persona named only by the connection's switch is the one logged.
    let ghost = unique("Ghost");
    c.error("memory.search", json!({"persona_id": ghost, "query": "anything"}))
        .await;
    let refused = access_lines(&ghost);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].fields.contains("outcome=app_error"), "{:?}", refused[0]);
    assert!(refused[0].fields.contains("code=-32001"), "{:?}", refused[0]);
    c.result("persona.switch", json!({"persona_id": pid})).await;
    c.result("memory.stats", json!({})).await;
    assert!(access_lines(&pid).iter().any(|l| l.message == "memory.stats"));

    // An MCP request: the tool's persona.
    let mut mcp = ready(&server, None).await;
    call_tool(&mut mcp, "memory_search", json!({"persona_id": pid, "query": "ledger"})).await;
    assert!(access_lines(&pid).iter().any(|l| l.message == "tools/call"));

    // An HTTP request: the route pattern, the persona it names and the status.
    let http = reqwest::Client::new();
    let status = http
        .get(server.admin_url(&format!("/personas/{pid}")))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let lines = access_lines(&pid);
    let get = lines
        .iter()
        .find(|l| l.message == "GET /admin/api/v1/personas/{id}")
        .unwrap_or_else(|| panic!("no HTTP line: {lines:?}"));
    assert!(get.fields.contains("code=200"), "{get:?}");

    let everything = logbuf::installed().unwrap().tail(5000, &LogFilter::default());
    assert!(
        everything
            .iter()
            .filter(|l| l.target == "persona_mcp::access")
            .all(|l| !l.message.contains(&secret) && !l.fields.contains(&secret)),
        "a memory's content in an access line"
    );
}

#[tokio::test]
async fn the_access_log_is_off_with_its_setting_and_comes_back_live() {
    let (_llm, server, _dir) = server(false);
    let mut c = server.client().await;
    let ghost = unique("Quiet");
    c.error("memory.search", json!({"persona_id": ghost, "query": "anything"}))
        .await;
    assert!(access_lines(&ghost).is_empty(), "{:?}", access_lines(&ghost));

    c.result("system.config_set", json!({"key": "logging.access", "value": true}))
        .await;
    c.error("memory.search", json!({"persona_id": ghost, "query": "anything"}))
        .await;
    assert_eq!(access_lines(&ghost).len(), 1);
}
