//! The embedded chat model (the real SmolLM2-135M, not the fake): a streamed chat with Aria, a cancel, `auto`
//! switching between it and a model server that goes away and comes back, and Aria and Kira saying who they are.
//!
//! A test binary of its own: the model keeps both cores busy and adds ~150 MB per server, which would disturb the
//! timing and memory measurements of the tests in `api` if they ran side by side.

use persona_test_support as support;

#[path = "../benches/common/identity.rs"]
mod identity;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

fn chat_model() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// A URL where nothing listens (a port just freed).
fn closed_url() -> (String, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (format!("http://127.0.0.1:{port}"), port)
}

/// A server chatting through `provider` with the embedded model at hand, greedy sampling (repeatable).
fn boot(provider: &str, url: &str, dir: &Path) -> TestServer {
    let mut settings = test_settings(url, dir);
    settings.llm.provider = provider.parse().expect("a provider name");
    settings.llm.embedded_model = Some(chat_model());
    settings.llm.temperature = 0.0;
    settings.llm.embedded_max_concurrent = 1;
    settings.llm.embedded_queue_timeout_secs = 5;
    settings.llm.probe_interval_secs = 1;
    TestServer::start_with(settings)
}

fn kinds(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["result"]["event_type"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_streamed_chat_with_aria_ends_by_itself_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let server = boot("embedded", &closed_url().0, dir.path());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let budget = 200;
    let id = c
        .request(
            "persona.chat_stream",
            json!({"message": "Hello Aria! How are you today?", "token_budget": budget}),
        )
        .await;
    let frames = c.stream_frames(&id).await;
    let kinds = kinds(&frames);
    assert_eq!(kinds[0], "stream_start");
    assert_eq!(kinds.last().unwrap(), "stream_complete", "{frames:?}");
    let chunks = &frames[1..frames.len() - 1];
    assert!(!chunks.is_empty());
    assert!(
        kinds[1..kinds.len() - 1].iter().all(|k| k == "stream_chunk"),
        "{kinds:?}"
    );
    let mut text = String::new();
    for (i, f) in chunks.iter().enumerate() {
        assert_eq!(f["result"]["data"]["chunk_number"], i + 1);
        text.push_str(f["result"]["chunk"].as_str().unwrap());
    }
    let done = &frames.last().unwrap()["result"];
    assert_eq!(done["full_response"], text.as_str());
    assert!(!text.trim().is_empty());
    assert!(!text.contains("<|im_end|>") && !text.contains("<|im_start|>"), "{text}");
    let tokens = done["tokens_used"].as_u64().unwrap();
    assert!(
        tokens > 0 && tokens < budget,
        "stopped by itself: {tokens} tokens: {text}"
    );

    let models = c.result("system.models", json!({})).await;
    assert_eq!(models["provider"], "embedded");
    assert_eq!(models["available_models"], json!(["SmolLM2-135M-Instruct"]));
}

#[tokio::test]
async fn a_cancel_stops_the_generation_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = boot("embedded", &closed_url().0, dir.path());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let id = c
        .request(
            "persona.chat_stream",
            json!({"message": "Tell me a very long story about the sea, with many chapters.", "token_budget": 2000}),
        )
        .await;
    let mut stream_id = None;
    let mut chunks = 0;
    while chunks < 2 {
        let f = c.frame_for(&id).await;
        stream_id = f["result"]["stream_id"].as_str().map(str::to_string);
        if f["result"]["event_type"] == "stream_chunk" {
            chunks += 1;
        }
    }
    let cancelled = c
        .result("persona.chat_cancel", json!({"stream_id": stream_id.unwrap()}))
        .await;
    assert_eq!(cancelled["cancelled"], true);
    let frames = c.stream_frames(&id).await;
    assert_eq!(kinds(&frames).last().unwrap(), "stream_cancelled");
    // One generation slot: the next chat gets it within the 5 s queue timeout only if the cancelled
    // generation let go of it (left running, it would hold it for its 2000 tokens).
    let started = Instant::now();
    let r = c
        .result("persona.chat", json!({"message": "Hi", "token_budget": 8}))
        .await;
    assert!(!r["response"].as_str().unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn auto_falls_back_to_the_embedded_model_and_returns_to_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (url, port) = closed_url();
    let server = boot("auto", &url, dir.path());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    let r = c
        .result("persona.chat", json!({"message": "Hello!", "token_budget": 16}))
        .await;
    assert!(!r["response"].as_str().unwrap().is_empty());
    let models = c.result("system.models", json!({})).await;
    assert_eq!(models["provider"], "embedded", "{models}");
    assert!(models["hint"].as_str().unwrap().contains("llm.url"), "{models}");
    assert!(models["hint"].as_str().unwrap().contains(&url), "{models}");
    let status = c.result("system.status", json!({})).await;
    assert_eq!(status["llm_provider"], "embedded");
    assert_eq!(status["llm_available"], true);
    let ready: Value = reqwest::get(server.http_url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["llm_provider"], "embedded", "{ready}");

    // The model server comes up on the configured port: the probe (every second) switches chats to it.
    let llm = FakeLlm::start_on(
        FakeLlmConfig {
            reply: Some("The real server speaks.".into()),
            ..FakeLlmConfig::default()
        },
        port,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let models = c.result("system.models", json!({})).await;
        if models["provider"] == "ollama" {
            assert!(models.get("hint").is_none(), "{models}");
            break;
        }
        assert!(Instant::now() < deadline, "never switched back: {models}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = c.result("persona.chat", json!({"message": "Again?"})).await;
    assert_eq!(r["response"], "The real server speaks.");
    assert_eq!(llm.requests().len(), 1);

    // And when it goes away again, the next chat falls back at once (it succeeds with the server gone: only the
    // embedded model can have answered; it may well echo the server's words, which are in its history).
    drop(llm);
    let r = c
        .result("persona.chat", json!({"message": "Still there?", "token_budget": 16}))
        .await;
    assert!(!r["response"].as_str().unwrap().is_empty());
    assert_eq!(c.result("system.models", json!({})).await["provider"], "embedded");
}

#[test]
fn the_identity_rule_on_examples() {
    let allowed = identity::allowed(&["A vibrant elven bard", "music"], &["Aria", "Kira"]);
    let keeps = |reply| identity::keeps_identity(reply, "Aria", &allowed);
    assert!(keeps(
        "Hello! I'm Aria, an elven bard. Music is my life, and Kira is my friend."
    ));
    assert!(!keeps("I am Elara, a member of the Eridorian Council."));
    assert!(!keeps("I'm Aria, daughter of Elion."));
    assert!(!keeps("I sing an aria."));
    assert_eq!(
        identity::name_like("I'm Aria, from Eldrador!", &allowed),
        vec!["Eldrador"]
    );
}

/// A few of `make bench-llm`'s identity questions, greedy sampling (the same reply every run): every reply names
/// the persona, and at least 6 of the 8 name no one else (greedy, two of Aria's replies add an invented clan:
/// "I'm Aria, a bard of the Silverfist Clan"). The bench measures the rate with the default sampling.
#[tokio::test]
async fn aria_and_kira_say_their_own_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&closed_url().0, dir.path());
    settings.llm.provider = "embedded".parse().unwrap();
    settings.llm.embedded_model = Some(chat_model());
    settings.llm.temperature = 0.0;
    // Every question is a first meeting: no earlier reply recalled into the prompt.
    settings.memory.prompt_memories = 0;
    let server = TestServer::start_with(settings);
    let (mut unnamed, mut misses) = (Vec::new(), Vec::new());
    let seeds = persona_mcp::domain::seeds::defaults();
    let known: Vec<&str> = seeds.iter().map(|(p, _)| p.name.as_str()).collect();
    for (persona, _) in &seeds {
        let (name, allowed) = (&persona.name, identity::persona_allowed(persona, &known));
        for question in [
            "Who are you?",
            "What's your name?",
            "Introduce yourself.",
            "What should I call you?",
        ] {
            let mut c = server.client().await;
            c.result("persona.switch", json!({"persona_id": name})).await;
            let r = c
                .result("persona.chat", json!({"message": question, "token_budget": 96}))
                .await;
            let reply = r["response"].as_str().unwrap().to_string();
            println!("{name}, {question:?}: {reply:?}");
            if !identity::words(&reply).any(|w| w == name.as_str()) {
                unnamed.push(format!("{name}, {question:?}: {reply:?}"));
            }
            if !identity::keeps_identity(&reply, name, &allowed) {
                misses.push(format!("{name}, {question:?}: {reply:?}"));
            }
        }
    }
    assert!(unnamed.is_empty(), "replies without the persona's name: {unnamed:#?}");
    assert!(misses.len() <= 2, "replies with another name or none: {misses:#?}");
}
