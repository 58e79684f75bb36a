//! `persona-mcp scenario run`: the example scenarios under `scenarios/` pass against the scripted model, and the
//! one meant to fail fails, naming its expectations.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};

/// Runs `file` against the scripted model, or against the LLM server at `llm_url` as the configured model.
fn run_with(file: &str, llm_url: Option<&str>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_persona-mcp"));
    cmd.current_dir(dir.path())
        .env("PERSONA_MCP__STORAGE__DATA_DIR", dir.path())
        .env("PERSONA_MCP__LOGGING__LEVEL", "warn")
        .env(
            "PERSONA_MCP__EMBEDDER__MODEL_DIR",
            root.join("data/models/all-MiniLM-L6-v2"),
        )
        .args(["scenario", "run"])
        .arg(root.join(file));
    match llm_url {
        Some(url) => cmd.env("PERSONA_MCP__LLM__URL", url).args(["--llm", "configured"]),
        None => cmd.args(["--llm", "fake"]),
    };
    cmd.output().unwrap()
}

fn run(file: &str) -> Output {
    run_with(file, None)
}

#[test]
fn the_example_scenarios_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    for file in files {
        let out = run(file.to_str().unwrap());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}:\n{text}\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(" 0 failed"), "{text}");
        assert!(!text.contains("FAIL "), "{text}");
    }
}

#[test]
fn a_scenario_meant_to_fail_fails_naming_the_expectations() {
    let out = run("scenarios/failing/kira_not_a_close_friend.toml");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // One failure of every kind of expectation, each named with what was found.
    for line in [
        "FAIL  step 1: Kira's reply contains \"dragon\" — reply: \"We are acquainted. Aria is kind, if loud.\"",
        "FAIL  step 1: Kira's reply does not contain \"aria\" — reply: \"We are acquainted. Aria is kind, if loud.\"",
        "FAIL  step 2: the conversation ends by itself within 2 turns — still going after 3 turns",
        "FAIL  expect 1: Aria and Kira are close_friend — type acquaintance",
        "FAIL  expect 1: the relationship strength of Aria and Kira goes down — strength 0.300000 → 0.30000",
        "FAIL  expect 2: Kira remembers [\"harvest\", \"festival\"] — none of its",
        "FAIL  expect 3: Aria remembers [\"harvest\", \"festival\"] (shared) — only with another visibility: \"The harvest festival is next week in the village square.\" (private)",
        "FAIL  expect 4: Kira's mood goes down — mood 0.500 → 0.5",
    ] {
        assert!(text.contains(line), "{line}\nnot in:\n{text}");
    }
    assert!(text.contains("8 expectations, 0 passed, 8 failed"), "{text}");
}

#[test]
fn a_broken_scenario_file_is_refused_with_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "name = \"x\"\n[[step]]\nchat = \"Aria\"\n").unwrap();
    let out = run(file.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.toml: step 1: give either chat + message"), "{err}");
}

#[test]
fn with_the_configured_model_the_replies_come_from_the_llm_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lantern.toml");
    std::fs::write(
        &file,
        "name = \"the lantern\"\n[[step]]\nchat = \"Aria\"\nmessage = \"Where is the lantern?\"\n\
         replies = [\"scripted, never used\"]\nexpect_reply_contains = [\"harbour\"]\n",
    )
    .unwrap();
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("I left it by the harbour.".into()),
        ..FakeLlmConfig::default()
    });
    let out = run_with(file.to_str().unwrap(), Some(&llm.url()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("1 expectations, 1 passed, 0 failed"), "{text}");
    assert!(!text.contains("scripted, never used"), "{text}");
    let asked = llm.requests();
    assert!(
        asked.iter().any(|r| r.to_string().contains("Where is the lantern?")),
        "the LLM server was not asked: {asked:?}"
    );

    llm.set_config(|c| c.reply = Some("It is lost.".into()));
    let out = run_with(file.to_str().unwrap(), Some(&llm.url()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  step 1: Aria's reply contains \"harbour\" — reply: \"It is lost.\""),
        "{text}"
    );
}

#[test]
fn a_scenario_conversation_recalls_only_what_the_speaker_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lantern_talk.toml");
    std::fs::write(
        &file,
        "name = \"the lantern talk\"\n\
         [[setup.memory]]\npersona = \"Aria\"\ncontent = \"Aria hides a lantern of secrets under the stage\"\n\
         [[setup.memory]]\npersona = \"Aria\"\ncontent = \"Aria lent Kira a lantern for the night road\"\n\
         visibility = \"shared\"\n\
         [[step]]\nconversation = [\"Kira\", \"Aria\"]\ntopic = \"the lantern\"\nturns = 2\n\
         [[expect]]\nmemory = \"Aria\"\ncontains = [\"hides a lantern\"]\nvisibility = \"private\"\n",
    )
    .unwrap();
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Have you seen the lantern?".into()),
        ..FakeLlmConfig::default()
    });
    let out = run_with(file.to_str().unwrap(), Some(&llm.url()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let systems: Vec<String> = llm
        .requests()
        .iter()
        .filter_map(|r| r["messages"][0]["content"].as_str().map(str::to_string))
        .collect();
    let kira = systems
        .iter()
        .find(|s| s.starts_with("You are Kira."))
        .expect("Kira spoke");
    assert!(
        kira.contains("Aria lent Kira a lantern"),
        "Aria shares it with Kira: {kira}"
    );
    assert!(!kira.contains("hides a lantern"), "never Aria's private memory: {kira}");
    let aria = systems
        .iter()
        .find(|s| s.starts_with("You are Aria."))
        .expect("Aria spoke");
    assert!(aria.contains("hides a lantern"), "Aria recalls her own: {aria}");
}
