//! JSON-RPC framing, error codes, limits, operations endpoints and system.* over real sockets.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::boot;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

#[tokio::test]
async fn framing_errors_have_the_right_codes() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    c.send_raw("{not json").await;
    let r = c.next_frame().await;
    assert_eq!(r["error"]["code"], -32700);
    assert_eq!(r["error"]["message"], "Parse error");
    assert!(r["id"].is_null() && r.get("result").is_none());

    c.send_raw(r#"{"jsonrpc":"1.0","id":"a","method":"persona.list"}"#)
        .await;
    let r = c.next_frame().await;
    assert_eq!(
        (r["id"].clone(), r["error"]["code"].clone()),
        (json!("a"), json!(-32600))
    );

    c.send_raw(r#"{"jsonrpc":"2.0","id":3,"method":7}"#).await;
    assert_eq!(c.next_frame().await["error"]["code"], -32600);

    c.send_raw(r#"{"jsonrpc":"2.0","id":4,"method":"persona.list","params":"x"}"#)
        .await;
    assert_eq!(c.next_frame().await["error"]["code"], -32600);

    c.send_raw("[]").await;
    assert_eq!(c.next_frame().await["error"]["code"], -32600);

    let e = c.error("persona.nope", json!({})).await;
    assert_eq!(e["code"], -32601);
    assert_eq!(e["message"], "Method not found: persona.nope");

    c.send_message(Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(c.next_frame().await["error"]["code"], -32600);
}

#[tokio::test]
async fn ids_keep_their_type_and_notifications_get_no_answer() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    c.send_raw(r#"{"jsonrpc":"2.0","method":"persona.list"}"#).await;
    c.send_raw(r#"{"jsonrpc":"2.0","id":"str-1","method":"persona.list"}"#)
        .await;
    let r = c.next_frame().await;
    assert_eq!(r["id"], "str-1", "the notification was not answered");
    assert_eq!(r["jsonrpc"], "2.0");
    assert!(r.get("error").is_none());
    c.send_raw(r#"{"jsonrpc":"2.0","id":null,"method":"persona.list"}"#)
        .await;
    let r = c.next_frame().await;
    assert!(r["id"].is_null() && r["result"]["total_count"] == 2);
    c.send_raw(r#"{"jsonrpc":"2.0","id":9.5,"method":"persona.list"}"#)
        .await;
    assert_eq!(c.next_frame().await["id"], 9.5);
}

#[tokio::test]
async fn batches_answer_each_request_and_skip_notifications() {
    let (_llm, server) = boot(None);
    let mut c = server.client().await;
    c.send_raw(
        r#"[{"jsonrpc":"2.0","id":1,"method":"persona.list"},
            {"jsonrpc":"2.0","method":"persona.list"},
            {"jsonrpc":"2.0","id":2,"method":"nope"},
            {"jsonrpc":"2.0","id":3,"method":"persona.get","params":{}},
            5]"#,
    )
    .await;
    let r = c.next_frame().await;
    let answers = r.as_array().expect("batch answer is an array");
    assert_eq!(answers.len(), 4);
    let by_id = |id: serde_json::Value| answers.iter().find(|a| a["id"] == id).cloned().unwrap();
    assert_eq!(by_id(json!(1))["result"]["total_count"], 2);
    assert_eq!(by_id(json!(2))["error"]["code"], -32601);
    assert_eq!(by_id(json!(3))["error"]["code"], -32602);
    assert!(answers
        .iter()
        .any(|a| a["id"].is_null() && a["error"]["code"] == -32600));
}

#[tokio::test]
async fn rate_limit_answers_32005_with_retry_after() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.server.rate_limit_per_second = 1;
    settings.server.rate_limit_burst = 3;
    // Every request costs a token (none runs free while others are in flight).
    settings.server.rate_limit_in_flight = 0;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    for i in 0..6 {
        c.send_raw(&format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"persona.list"}}"#))
            .await;
    }
    let mut limited = 0;
    for _ in 0..6 {
        let r = c.next_frame().await;
        if r["error"]["code"] == -32005 {
            assert!(r["error"]["data"]["retry_after_ms"].as_u64().unwrap() > 0);
            limited += 1;
        }
    }
    assert!(limited >= 2, "burst of 3 lets at most 3 through, got {limited} limited");
}

#[tokio::test]
async fn connection_limit_refuses_the_upgrade_with_503() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.server.max_connections = 1;
    let server = TestServer::start_with(settings);
    let _first = server.client().await;
    let second = tokio_tungstenite::connect_async(server.ws_url()).await;
    match second {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let (_llm, server) = boot(None);
    let http = reqwest::Client::new();
    let health = http.get(server.http_url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = http
        .get(server.http_url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], true);
    assert_eq!(ready["llm_available"], true);
    let mut c = server.client().await;
    c.result("persona.list", json!({})).await;
    let metrics = http
        .get(server.http_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("persona_mcp_requests_total{method=\"persona.list\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("persona_mcp_connections 1"));
    let missing = http.get(server.http_url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn system_status_and_models_report_the_server() {
    let (_llm, server) = boot(Some("hi"));
    let mut c = server.client().await;
    let s = c.result("system.status", json!({})).await;
    assert_eq!(s["system_status"], "operational");
    assert_eq!(s["health"], "healthy");
    assert_eq!(s["llm_available"], true);
    assert_eq!(s["total_personas"], 2);
    assert_eq!(s["available_personas"], 2);
    assert!(s["current_persona"].is_null() && s["current_conversation"].is_null());
    assert_eq!(s["active_connections"], 1);
    assert!(s["timestamp"].is_string() && s["session_id"].is_string() && s["version"].is_string());
    assert!(s["uptime_seconds"].is_u64());
    let switched = c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    c.result("persona.chat", json!({"message": "hello"})).await;
    let s = c.result("system.status", json!({})).await;
    assert_eq!(s["current_persona"], switched["persona_id"]);
    assert!(s["current_conversation"].is_string());
    assert_eq!(s["active_conversations"], 1);
    let m = c.result("system.models", json!({})).await;
    assert_eq!(m["provider"], "ollama");
    assert_eq!(m["current_model"], "llama3.2");
    assert!(m["available_models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == "llama3.2:latest"));
}

#[tokio::test]
async fn visual_updates_reach_subscribers_only() {
    let (_llm, server) = boot(None);
    let mut sender = server.client().await;
    let mut watcher = server.client().await;
    let _bystander = server.client().await;
    assert_eq!(watcher.result("visual.subscribe", json!({})).await["subscribed"], true);
    let r = sender
        .result("visual.update", json!({"type": "scene", "data": {"mood": "festive"}}))
        .await;
    assert_eq!(r["visual_updated"], true);
    assert_eq!(r["update_type"], "scene");
    assert_eq!(r["recipients"], 1);
    let note = watcher.next_frame().await;
    assert_eq!(note["method"], "visual.update");
    assert_eq!(note["params"]["data"]["mood"], "festive");
    let r = sender.result("visual.update", json!({})).await;
    assert_eq!(r["update_type"], "general");
}
