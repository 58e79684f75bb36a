//! Live configuration: `system.config_get` / `system.config_set` over a real socket, and SIGHUP re-reading the
//! files of a real process.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::process::{ProcessOptions, ServerProcess};
use crate::support::{install_log_buffer, test_settings, TestServer, WsClient};

const SECRET: &str = "sk-live-config-secret-4711";

/// Sets a live key, which must succeed; answers the result.
async fn set(c: &mut WsClient, key: &str, value: Value) -> Value {
    c.result("system.config_set", json!({"key": key, "value": value})).await
}

/// An admin request to `/admin/api/v1{path}`: (status, JSON body).
async fn admin_call(server: &TestServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, server.admin_url(path))
        .bearer_auth(server.admin_token());
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// `GET /admin/api/v1/system/config`.
async fn admin_config(server: &TestServer) -> Value {
    admin_call(server, reqwest::Method::GET, "/system/config", None).await.1
}

fn key<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == name)
        .unwrap_or_else(|| panic!("{name} listed"))
}

/// The fake LLM's last chat request's sampling temperature (Ollama puts it in `options`).
fn last_temperature(llm: &FakeLlm) -> f64 {
    let requests = llm.requests();
    let last = requests.last().expect("a chat request reached the model");
    last["options"]["temperature"].as_f64().expect("temperature sent")
}

/// A server whose LLM API key is [`SECRET`], and a client of it.
async fn boot_with_secret() -> (FakeLlm, tempfile::TempDir, TestServer, WsClient) {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.llm.api_key = Some(SECRET.into());
    let server = TestServer::start_with(settings);
    let c = server.client().await;
    (llm, dir, server, c)
}

#[tokio::test]
async fn config_get_lists_every_key_with_liveness_and_no_secret() {
    let (_llm, _dir, server, mut c) = boot_with_secret().await;
    let view = c.result("system.config_get", json!({})).await;
    assert!(!view.to_string().contains(SECRET), "a secret leaked: {view}");
    assert_eq!(view["settings"]["llm"]["api_key"], "<redacted>");
    assert_eq!(key(&view, "llm.api_key")["value"], "<redacted>");
    assert_eq!(key(&view, "llm.temperature")["live"], true);
    assert_eq!(key(&view, "memory.decay_mode")["live"], true);
    assert_eq!(key(&view, "logging.level")["live"], true);
    assert_eq!(key(&view, "server.port")["live"], false);
    assert_eq!(key(&view, "storage.data_dir")["live"], false);
    assert_eq!(key(&view, "chat.max_context_messages")["value"], 20);

    let admin = admin_config(&server).await;
    assert!(!admin.to_string().contains(SECRET));
    set(&mut c, "llm.temperature", json!(0.4)).await;
    let admin = admin_config(&server).await;
    assert!(
        (admin["llm"]["temperature"].as_f64().unwrap() - 0.4).abs() < 1e-6,
        "{admin}"
    );

    // The admin routes: every key with its liveness, and a live change (a restart-only key is a 422 naming it).
    let (status, keys) = admin_call(&server, reqwest::Method::GET, "/system/config/keys", None).await;
    assert_eq!(status, 200);
    assert_eq!(key(&keys, "server.port")["live"], false);
    assert!(!keys.to_string().contains(SECRET));
    let body = json!({"key": "llm.temperature", "value": 0.6});
    let (status, changed) = admin_call(&server, reqwest::Method::PUT, "/system/config", Some(body)).await;
    assert_eq!(status, 200, "{changed}");
    assert!((changed["value"].as_f64().unwrap() - 0.6).abs() < 1e-6);
    let body = json!({"key": "server.port", "value": 1});
    let (status, refused) = admin_call(&server, reqwest::Method::PUT, "/system/config", Some(body)).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("server.port needs a restart"));
}

#[tokio::test]
async fn live_keys_apply_at_once() {
    install_log_buffer();
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Fine words.".into()),
        ..FakeLlmConfig::default()
    });
    let server = TestServer::start(&llm.url());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;

    // Sampling temperature: the next chat asks the model with the new one.
    c.result("persona.chat", json!({"message": "Hello"})).await;
    assert!((last_temperature(&llm) - 0.8).abs() < 1e-6);
    let changed = set(&mut c, "llm.temperature", json!(0.15)).await;
    assert_eq!(changed["key"], "llm.temperature");
    assert_eq!(changed["changed"], true);
    assert!((changed["value"].as_f64().unwrap() - 0.15).abs() < 1e-6);
    assert!((changed["previous"].as_f64().unwrap() - 0.8).abs() < 1e-6);
    c.result("persona.chat", json!({"message": "Again"})).await;
    assert!((last_temperature(&llm) - 0.15).abs() < 1e-6);

    // The change is logged.
    let logged = persona_mcp::logbuf::installed()
        .expect("log buffer")
        .tail(5000, &persona_mcp::logbuf::LogFilter::default());
    assert!(
        logged
            .iter()
            .any(|l| l.message.contains("setting changed") && l.fields.contains("llm.temperature")),
        "no log line for the change"
    );

    // Chat sizes: a message over the new limit is refused, under it accepted (a string value is read as a number).
    set(&mut c, "chat.max_message_bytes", json!("16")).await;
    let e = c
        .error("persona.chat", json!({"message": "far more than sixteen bytes"}))
        .await;
    assert_eq!(e["code"], -32602, "{e}");
    c.result("persona.chat", json!({"message": "short"})).await;

    // Rate limits apply to connections already open (here every request costs a token, none running free).
    let mut other = server.client().await;
    set(&mut c, "server.rate_limit_in_flight", json!(0)).await;
    set(&mut c, "server.rate_limit_burst", json!(2)).await;
    set(&mut c, "server.rate_limit_per_second", json!(1)).await;
    let mut limited = 0;
    for _ in 0..6 {
        let r = other.call("visual.subscribe", json!({})).await;
        limited += usize::from(r["error"]["code"] == -32005);
    }
    assert!(limited >= 3, "{limited} of 6 refused");
    set(&mut c, "server.rate_limit_per_second", json!(10000)).await;
    set(&mut c, "server.rate_limit_burst", json!(10000)).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..6 {
        other.result("visual.subscribe", json!({})).await;
    }

    // Decay: mode, interval and on/off follow the settings.
    set(&mut c, "memory.decay_mode", json!("linear")).await;
    set(&mut c, "memory.decay_interval_minutes", json!(30)).await;
    set(&mut c, "memory.decay_enabled", json!(true)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = c.result("memory.decay_stats", json!({})).await["decay_statistics"].clone();
        if stats["background_running"] == true && stats["mode"] == "linear" && stats["config"]["interval_hours"] == 0.5
        {
            break;
        }
        assert!(Instant::now() < deadline, "decay did not follow: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    set(&mut c, "memory.decay_enabled", json!(false)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.result("memory.decay_stats", json!({})).await["decay_statistics"]["background_running"] != false {
        assert!(Instant::now() < deadline, "decay did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn refused_changes_name_the_key_and_change_nothing() {
    let (_llm, _dir, _server, mut c) = boot_with_secret().await;
    let before = c.result("system.config_get", json!({})).await;

    let e = c
        .error("system.config_set", json!({"key": "server.port", "value": 9999}))
        .await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["field"], "server.port");
    assert!(
        e["message"].as_str().unwrap().contains("server.port needs a restart"),
        "{e}"
    );

    let e = c
        .error("system.config_set", json!({"key": "llm.api_key", "value": "sk-other"}))
        .await;
    assert!(e["message"].as_str().unwrap().contains("needs a restart"), "{e}");
    assert!(!e.to_string().contains("sk-other"));

    for (k, v) in [
        ("llm.temperature", json!(7.5)),
        ("chat.max_context_messages", json!("many")),
        ("memory.decay_mode", json!("sideways")),
        ("logging.level", json!("loud[")),
    ] {
        let e = c.error("system.config_set", json!({"key": k, "value": v})).await;
        assert_eq!(e["code"], -32602, "{k}: {e}");
        assert_eq!(e["data"]["field"], k, "{e}");
    }
    // A value valid alone but not with the others (the summary threshold must stay above the window).
    let e = c
        .error(
            "system.config_set",
            json!({"key": "chat.context_summary_threshold", "value": 5}),
        )
        .await;
    assert_eq!(e["data"]["field"], "chat.context_summary_threshold", "{e}");
    let e = c
        .error("system.config_set", json!({"key": "server.nothing", "value": 1}))
        .await;
    assert_eq!(e["code"], -32602);
    let e = c.error("system.config_set", json!({"key": "llm.temperature"})).await;
    assert_eq!(e["code"], -32602);

    let after = c.result("system.config_get", json!({})).await;
    assert_eq!(before, after);
}

/// Writes the config file the process reads.
fn write_config(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

async fn config_key(c: &mut WsClient, name: &str) -> Value {
    key(&c.result("system.config_get", json!({})).await, name)["value"].clone()
}

#[tokio::test]
async fn sighup_rereads_the_files_and_a_bad_file_changes_nothing() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("A reply in a few chunks.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("persona-mcp.toml");
    write_config(&file, "[llm]\ntemperature = 0.5\n[memory]\nprompt_memories = 3\n");
    let mut options = ProcessOptions::new(dir.path(), &llm.url());
    options.config = Some(file.clone());
    options
        .env
        .push(("PERSONA_MCP__EMBEDDER__PROVIDER".into(), "none".into()));
    let mut server = ServerProcess::start(&options);
    let mut c = WsClient::connect(&server.ws_url).await;
    assert_eq!(config_key(&mut c, "llm.temperature").await, 0.5);
    let view = c.result("system.config_get", json!({})).await;
    assert!(view["config_file"].as_str().unwrap().ends_with("persona-mcp.toml"));

    write_config(
        &file,
        "[llm]\ntemperature = 0.25\n[memory]\nprompt_memories = 4\n[server]\nmax_batch = 7\n",
    );
    server.signal("HUP");
    server.wait_for_line("SIGHUP: settings re-read", Duration::from_secs(10));
    assert_eq!(config_key(&mut c, "llm.temperature").await, 0.25);
    assert_eq!(config_key(&mut c, "memory.prompt_memories").await, 4);
    assert_eq!(config_key(&mut c, "server.max_batch").await, 100);
    let line = server.wait_for_line("need a restart", Duration::from_secs(5));
    assert!(line.contains("server.max_batch"), "{line}");

    write_config(&file, "[llm]\ntemperature = 9.0\n[memory]\nprompt_memories = 5\n");
    server.signal("HUP");
    let line = server.wait_for_line("SIGHUP: settings not changed", Duration::from_secs(10));
    assert!(line.contains("llm.temperature"), "{line}");
    assert_eq!(config_key(&mut c, "llm.temperature").await, 0.25);
    assert_eq!(config_key(&mut c, "memory.prompt_memories").await, 4);

    // The log level is live too: a debug line appears only after the change.
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    c.result("persona.chat", json!({"message": "one"})).await;
    assert!(!server.lines().iter().any(|l| l.contains("DEBUG")));
    set(&mut c, "logging.level", json!("info,persona_mcp=debug")).await;
    let id = c.request("persona.chat_stream", json!({"message": "two"})).await;
    c.stream_frames(&id).await;
    server.wait_for_line("stream done", Duration::from_secs(10));
    server.kill9();
}
