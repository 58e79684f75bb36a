//! Prompt templates: overrides from `<data_dir>/templates/` reach the model, a broken one stops the server with
//! its file and line, and `persona-mcp prompt show` prints the prompt a chat then sends.

use std::path::Path;

use serde_json::{json, Value};

use crate::cli::binary;
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{test_settings, TestServer};

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join("templates").join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn system_of(request: &Value) -> String {
    request["messages"][0]["content"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn template_files_replace_the_built_in_prompts_per_persona() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Hm.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "system.j2", "Everyone: {{ persona.name }} ({{ thread }})\n");
    write(
        dir.path(),
        "personas/aria/system.j2",
        "{{ identity }}\nAria's own template, topic {{ thread }}.",
    );
    let server = TestServer::start_with(test_settings(&llm.url(), dir.path()));
    let mut c = server.client().await;
    c.result(
        "persona.chat",
        json!({"persona_id": "Kira", "message": "Tell me about the stars"}),
    )
    .await;
    assert_eq!(system_of(&llm.requests()[0]), "Everyone: Kira (stars)");
    c.result(
        "persona.chat",
        json!({"persona_id": "aria", "message": "Sing about the harvest"}),
    )
    .await;
    let aria = system_of(llm.requests().last().unwrap());
    assert!(aria.starts_with("You are Aria."), "{aria}");
    assert!(aria.ends_with("\nAria's own template, topic harvest sing."), "{aria}");
}

#[test]
fn a_broken_template_stops_the_server_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "summary.j2",
        "Keep {{ persona.name }}'s memory.\n{% for x in %}\n",
    );
    let out = binary(dir.path(), "http://127.0.0.1:9")
        .env("PERSONA_MCP__SERVER__PORT", "0")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = dir.path().join("templates/summary.j2");
    assert!(
        err.contains(&format!("prompt template {}, line 2: syntax error", file.display())),
        "{err}"
    );

    write(dir.path(), "summary.j2", "fine");
    write(dir.path(), "personas/kira/system.j2", "{{ persona.nickname }}");
    let out = binary(dir.path(), "http://127.0.0.1:9").arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("personas/kira/system.j2, line 1") && err.contains("undefined"),
        "{err}"
    );
}

#[tokio::test]
async fn prompt_show_prints_the_prompt_the_next_chat_sends() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Ember is a fine name.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(&llm.url(), dir.path());
    let server = TestServer::start_with(settings.clone());
    let mut c = server.client().await;
    c.result("persona.switch", json!({"persona_id": "Aria"})).await;
    c.result("persona.chat", json!({"message": "My dragon is named Ember."}))
        .await;
    let session = c.result("conversation.threads", json!({})).await["session_id"].clone();
    let _ = server.stop().await;

    let question = "What was my dragon called?";
    let out = binary(dir.path(), &llm.url())
        .args(["prompt", "show", "--persona", "aria", "--message", question])
        .args(["--session", session.as_str().unwrap()])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{shown}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(llm.requests().len(), 1, "prompt show calls no model");

    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    c.result(
        "persona.chat",
        json!({"persona_id": "Aria", "message": question, "session_id": session}),
    )
    .await;
    let sent = llm.requests().last().unwrap().clone();
    let mut expected = format!(
        "model: {}\nthread: dragon called ember\n",
        sent["model"].as_str().unwrap()
    );
    for m in sent["messages"].as_array().unwrap() {
        expected.push_str(&format!(
            "\n=== {} ===\n{}\n",
            m["role"].as_str().unwrap(),
            m["content"].as_str().unwrap()
        ));
    }
    assert_eq!(shown, expected);
    assert!(shown.contains("=== user ===\nMy dragon is named Ember.\n"), "{shown}");
    assert!(
        shown.contains("Things you remember:"),
        "recalled memories are shown: {shown}"
    );
}
