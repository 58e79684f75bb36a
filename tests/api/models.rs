//! Model selection: rules per persona, task and condition pick the model each request names, persona options
//! reach the model server, a missing model falls back along the chain (logged and counted), `system.models`
//! shows the rules, and a bad rule stops the binary naming its key.

use std::time::{Duration, Instant};

use persona_mcp::domain::model_rules::{ModelOptions, ModelRule, ModelSettings, PersonaModel};
use persona_mcp::logbuf::LogFilter;
use serde_json::{json, Value};

use crate::cli::binary;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{install_log_buffer, test_settings, TestServer};

fn rule(model: &str) -> ModelRule {
    ModelRule {
        model: Some(model.into()),
        ..ModelRule::default()
    }
}

fn rules() -> ModelSettings {
    ModelSettings {
        rules: vec![
            ModelRule {
                task: Some("summary".into()),
                ..rule("summary-model")
            },
            ModelRule {
                task: Some("persona_to_persona".into()),
                ..rule("dialogue-model")
            },
            ModelRule {
                min_message_chars: Some(200),
                fallback: vec!["mid-model".into()],
                ..rule("big-model")
            },
            ModelRule {
                persona: Some("kira".into()),
                task: Some("chat".into()),
                options: ModelOptions {
                    temperature: Some(0.1),
                    num_ctx: Some(4096),
                    stop: Some(vec!["\nUser:".into()]),
                    ..ModelOptions::default()
                },
                ..rule("kira-model")
            },
        ],
        personas: vec![PersonaModel {
            persona: "Aria".into(),
            model: Some("aria-base".into()),
            options: ModelOptions {
                top_p: Some(0.5),
                fine_tuned: Some("aria-ft".into()),
                ..ModelOptions::default()
            },
        }],
        fallback: vec!["llama3.2".into()],
    }
}

/// The chat requests since `from`, as (model, options).
fn sent(llm: &FakeLlm, from: usize) -> Vec<(String, Value)> {
    llm.requests()[from..]
        .iter()
        .map(|r| (r["model"].as_str().unwrap_or("").to_string(), r["options"].clone()))
        .collect()
}

fn models(requests: &[(String, Value)]) -> Vec<&str> {
    requests.iter().map(|(m, _)| m.as_str()).collect()
}

async fn metrics(server: &TestServer) -> String {
    reqwest::get(server.http_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn rules_pick_the_model_per_persona_task_and_message_and_missing_models_fall_back() {
    install_log_buffer();
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Fine.".into()),
        missing_models: vec!["aria-ft".into(), "big-model".into()],
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.models = rules();
    settings.chat.max_context_messages = 2;
    settings.chat.context_summary_threshold = 3;
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;

    // Aria: her entry's fine-tuned model first; the server lacks it, so her base model answers, with her top_p.
    let reply = c
        .result("persona.chat", json!({"persona_id": "Aria", "message": "Hello there"}))
        .await;
    assert_eq!(reply["response"], "Fine.");
    let first = sent(&llm, 0);
    assert_eq!(models(&first), ["aria-ft", "aria-base"]);
    assert_eq!(first[1].1["top_p"], 0.5);
    assert_eq!(
        first[1].1["temperature"].as_f64().map(|t| (t * 10.0).round()),
        Some(8.0)
    );
    assert!(first[1].1.get("num_ctx").is_none(), "{:?}", first[1].1);

    // Kira, short message: her rule, with its options.
    let from = llm.requests().len();
    c.result("persona.chat", json!({"persona_id": "Kira", "message": "How are you?"}))
        .await;
    let kira = sent(&llm, from);
    assert_eq!(models(&kira), ["kira-model"]);
    let options = &kira[0].1;
    assert_eq!(options["num_ctx"], 4096);
    assert_eq!(options["stop"], json!(["\nUser:"]));
    assert!(
        (options["temperature"].as_f64().unwrap() - 0.1).abs() < 1e-6,
        "{options}"
    );

    // A long message: the earlier rule for long messages wins; its model is missing, its own fallback answers.
    let from = llm.requests().len();
    let long = format!(
        "Let me tell you a long story. {}",
        "Once upon a time there was a castle. ".repeat(6)
    );
    c.result("persona.chat", json!({"persona_id": "Kira", "message": long}))
        .await;
    assert_eq!(models(&sent(&llm, from)), ["big-model", "mid-model"]);

    // The thread passed its summary threshold: the summary goes to the summary rule's model.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !llm.requests().iter().any(|r| r["model"] == "summary-model") {
        assert!(
            Instant::now() < deadline,
            "no summary request: {:?}",
            models(&sent(&llm, 0))
        );
        c.result("persona.chat", json!({"persona_id": "Kira", "message": "How are you?"}))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A persona-to-persona turn goes to its task's model; Aria's fine-tuned model is still asked first.
    let from = llm.requests().len();
    let started = c
        .result(
            "conversation.start",
            json!({"persona1_id": "Aria", "persona2_id": "Kira", "topic": "magic", "token_budget": 50}),
        )
        .await;
    c.result(
        "conversation.turn",
        json!({"conversation_id": started["conversation_id"]}),
    )
    .await;
    assert_eq!(models(&sent(&llm, from)), ["aria-ft", "dialogue-model"]);

    // Each fallback is counted by the missing model, and logged as a warning.
    let text = metrics(&server).await;
    for (model, times) in [("aria-ft", 2), ("big-model", 1)] {
        let line = format!("persona_mcp_llm_model_fallbacks_total{{model=\"{model}\"}} {times}");
        assert!(text.contains(&line), "{line} missing from:\n{text}");
    }
    let warnings = LogFilter {
        level: Some("warn".into()),
        target: Some("persona_mcp::llm".into()),
    };
    let logs = persona_mcp::logbuf::global(5000).tail(5000, &warnings);
    assert!(
        logs.iter().any(|l| l.message.contains("does not have model")
            && l.message.contains("does not have model \"big-model\"")
            && l.message.contains("\"mid-model\"")),
        "no fallback warning"
    );

    // system.models shows the rules and which of their models the server has.
    let shown = c.result("system.models", json!({})).await;
    assert_eq!(shown["rules"].as_array().unwrap().len(), 4);
    assert_eq!(shown["rules"][2]["min_message_chars"], 200);
    assert_eq!(shown["persona_models"][0]["options"]["fine_tuned"], "aria-ft");
    assert_eq!(shown["fallback"], json!(["llama3.2"]));
    let configured: Vec<(String, bool)> = shown["configured_models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["model"].as_str().unwrap().to_string(),
                m["available"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(configured.contains(&("big-model".into(), false)), "{configured:?}");
    assert!(configured.contains(&("llama3.2".into(), true)), "{configured:?}");
    assert_eq!(shown["current_model"], "llama3.2");
}

#[tokio::test]
async fn a_chain_without_an_available_model_fails_with_the_model_error() {
    let llm = FakeLlm::start(FakeLlmConfig {
        missing_models: vec!["gone".into(), "also-gone".into()],
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.models.rules = vec![ModelRule {
        fallback: vec!["also-gone".into()],
        ..rule("gone")
    }];
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    let e = c
        .error("persona.chat", json!({"persona_id": "Aria", "message": "Hello"}))
        .await;
    assert_eq!(e["code"], -32003, "{e}");
    assert_eq!(models(&sent(&llm, 0)), ["gone", "also-gone"]);
}

#[test]
fn a_bad_rule_exits_2_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("persona-mcp.toml"),
        "[[models.rules]]\nmodel = \"a\"\n\n[[models.rules]]\ntask = \"poetry\"\nmodel = \"b\"\n",
    )
    .unwrap();
    let out = binary(dir.path(), "http://127.0.0.1:9")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("models.rules[1].task"), "{err}");
    assert!(err.contains("chat, persona_to_persona, summary or title"), "{err}");

    std::fs::write(
        dir.path().join("persona-mcp.toml"),
        "[[models.rules]]\npersona = \"Aria\"\nmin_token_budget = 100\nmodel = \"big\"\n\
         options = { temperature = 0.4, stop = [\"###\"] }\n",
    )
    .unwrap();
    let out = binary(dir.path(), "http://127.0.0.1:9")
        .arg("check-config")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["models"]["rules"][0]["persona"], "Aria");
    assert_eq!(shown["models"]["rules"][0]["options"]["stop"], json!(["###"]));
}

/// The threads of `session`, by label.
async fn labels(c: &mut crate::support::WsClient, session: &Value, persona: &str) -> Vec<String> {
    let list = c
        .result(
            "conversation.threads",
            json!({"session_id": session, "persona_id": persona}),
        )
        .await;
    list["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_title_model_names_threads_and_the_name_survives_a_restart() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("\"The Dragon Ember.\"".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.models.rules = vec![ModelRule {
        persona: Some("Aria".into()),
        task: Some("title".into()),
        ..rule("title-model")
    }];
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    let session = c.result("system.status", json!({})).await["session_id"].clone();
    c.result(
        "persona.chat",
        json!({"persona_id": "Aria", "message": "Tell me about the dragon Ember and its fire"}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while labels(&mut c, &session, "Aria").await != ["The Dragon Ember"] {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            labels(&mut c, &session, "Aria").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let titles: Vec<Value> = llm
        .requests()
        .into_iter()
        .filter(|r| r["model"] == "title-model")
        .collect();
    assert_eq!(titles.len(), 1);
    let asked = titles[0]["messages"][1]["content"].as_str().unwrap();
    assert!(asked.contains("User: Tell me about the dragon Ember"), "{asked}");
    assert!(asked.contains("Aria: \"The Dragon Ember.\""), "{asked}");

    // Kira has no title rule: her thread keeps its keywords; Aria's next message keeps the title.
    c.result(
        "persona.chat",
        json!({"persona_id": "Kira", "message": "The stars over the observatory tonight"}),
    )
    .await;
    c.result(
        "persona.chat",
        json!({"persona_id": "Aria", "message": "Does the dragon Ember sleep in a cave?"}),
    )
    .await;
    assert_eq!(labels(&mut c, &session, "Kira").await, ["observatory stars tonight"]);
    assert_eq!(labels(&mut c, &session, "Aria").await, ["The Dragon Ember"]);
    let title_requests = llm.requests().iter().filter(|r| r["model"] == "title-model").count();
    assert_eq!(title_requests, 1, "a titled thread is not asked again");

    c.close().await;
    let server = server.restart().await;
    let mut c = server.client().await;
    assert_eq!(labels(&mut c, &session, "Aria").await, ["The Dragon Ember"]);
}
