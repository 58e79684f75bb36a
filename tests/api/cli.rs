//! The binary's command line: help, config errors, the simulation tool, reindexing.

use std::process::Command;

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};

pub(crate) fn binary(data_dir: &std::path::Path, llm_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_persona-mcp"));
    cmd.current_dir(data_dir)
        .env("PERSONA_MCP__STORAGE__DATA_DIR", data_dir)
        .env("PERSONA_MCP__LLM__URL", llm_url)
        .env("PERSONA_MCP__LOGGING__LEVEL", "warn")
        .env("PERSONA_MCP__ADMIN__PORT", "0")
        .env(
            "PERSONA_MCP__EMBEDDER__MODEL_DIR",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/all-MiniLM-L6-v2"),
        );
    cmd
}

#[test]
fn help_lists_the_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_persona-mcp"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["serve", "simulate", "memory", "check-config"] {
        assert!(text.contains(sub), "{sub} missing from --help: {text}");
    }
}

#[test]
fn a_bad_setting_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary(dir.path(), "http://127.0.0.1:9")
        .env("PERSONA_MCP__LLM__PROVIDER", "gpt")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("llm.provider = \"gpt\"") && err.contains("auto, ollama, openai or embedded"),
        "{err}"
    );
    let out = binary(dir.path(), "http://127.0.0.1:9")
        .env("SERVER_PORT", "99999")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn simulate_prints_transcript_scores_and_relationship() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("Let us compare notes on the old runes.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = binary(dir.path(), &llm.url())
        .args([
            "simulate",
            "--personas",
            "Aria,Kira",
            "--turns",
            "3",
            "--topic",
            "runes",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Relationship before: acquaintance"), "{text}");
    assert!(text.contains("Aria and Kira talk about runes"), "{text}");
    assert_eq!(
        text.matches("Let us compare notes on the old runes.").count(),
        3,
        "{text}"
    );
    assert!(
        text.contains("— Aria (continue score") && text.contains("— Kira (continue score"),
        "{text}"
    );
    assert!(text.contains("Ended: simulation_turn_limit after 3 turns"), "{text}");
    assert!(
        text.contains("Relationship after:") && text.contains("interactions 1)"),
        "{text}"
    );
}

#[test]
fn simulate_runs_a_chatroom_of_three_without_a_speaker_twice_in_a_row() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some("The runes remember us.".into()),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = persona_mcp::storage::Store::open(&dir.path().join("persona-mcp.db"), 2, 5_000).unwrap();
        persona_mcp::app::seed_defaults(&store).unwrap();
        let (mut bard, state) = persona_mcp::domain::seeds::defaults().remove(0);
        bard.id = uuid::Uuid::new_v4();
        bard.name = "Bard3".into();
        store.personas().insert(bard, state).await.unwrap();
    });
    let out = binary(dir.path(), &llm.url())
        .args([
            "simulate",
            "--personas",
            "Aria,Kira,Bard3",
            "--turns",
            "6",
            "--topic",
            "runes",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Aria, Kira and Bard3 talk about runes"), "{text}");
    assert_eq!(
        text.matches("Relationship before (").count(),
        3,
        "one line per pair: {text}"
    );
    let speakers: Vec<&str> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("— "))
        .filter_map(|rest| rest.split(" (continue score").next())
        .collect();
    assert!(speakers.len() >= 3, "{text}");
    assert!(
        speakers.windows(2).all(|w| w[0] != w[1]),
        "a speaker twice in a row: {speakers:?}"
    );
    for name in ["Aria", "Kira", "Bard3"] {
        assert!(speakers.contains(&name), "{name} never spoke: {speakers:?}");
    }
    assert!(text.contains(&format!("after {} turns", speakers.len())), "{text}");
    assert_eq!(text.matches("Relationship after (").count(), 3, "{text}");
}

#[test]
fn reindex_re_embeds_every_memory() {
    let dir = tempfile::tempdir().unwrap();
    let out = binary(dir.path(), "http://127.0.0.1:9")
        .args(["memory", "reindex"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-embedded 0 memories"));
}

#[tokio::test]
async fn a_changed_embedder_stops_the_server_until_reindexed() {
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let settings = crate::support::test_settings(&llm.url(), dir.path());
    let server = crate::support::TestServer::start_with(settings.clone());
    let mut c = server.client().await;
    let stored = c
        .result(
            "memory.store",
            serde_json::json!({"persona_id": "Kira", "content": "The observatory key is under the mat"}),
        )
        .await;
    let _ = server.stop().await;

    let ollama = |cmd: &mut Command| {
        cmd.env("PERSONA_MCP__EMBEDDER__PROVIDER", "ollama")
            .env("PERSONA_MCP__EMBEDDER__MODEL", "fake-embed")
            .env("PERSONA_MCP__EMBEDDER__DIMENSION", "384");
    };
    let mut serve = binary(dir.path(), &llm.url());
    ollama(&mut serve);
    let out = serve
        .args(["serve"])
        .env("PERSONA_MCP__SERVER__PORT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("persona-mcp memory reindex"), "{err}");

    let mut reindex = binary(dir.path(), &llm.url());
    ollama(&mut reindex);
    let out = reindex.args(["memory", "reindex"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-embedded 1 memories"));

    let mut settings = settings;
    settings.embedder.provider = persona_mcp::config::EmbedderProvider::Ollama;
    settings.embedder.model = "fake-embed".into();
    settings.embedder.dimension = 384;
    let server = crate::support::TestServer::start_with(settings);
    let mut c = server.client().await;
    c.result("persona.switch", serde_json::json!({"persona_id": "Kira"}))
        .await;
    let r = c
        .result(
            "memory.search",
            serde_json::json!({"persona_id": "Kira", "query": "where is the observatory key"}),
        )
        .await;
    assert_eq!(r["memories"][0]["id"], stored["memory_id"]);
    assert!(
        r["memories"][0]["similarity"].as_f64().unwrap() > 0.0,
        "vectors from the new embedder"
    );
}

/// Starts the server on a fresh data dir and answers what it logged up to listening. Panics when it does not
/// come up within a minute.
fn first_start_log(pool_size: u32) -> String {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let mut child = binary(dir.path(), "http://127.0.0.1:9")
        .env("PERSONA_MCP__LOGGING__LEVEL", "info")
        .env("PERSONA_MCP__SERVER__PORT", "0")
        .env("PERSONA_MCP__STORAGE__POOL_SIZE", pool_size.to_string())
        .env("PERSONA_MCP__EMBEDDER__PROVIDER", "none")
        .env("NO_COLOR", "1")
        .arg("serve")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.push_str(&line);
            log.push('\n');
            if line.contains("listening") {
                break;
            }
        }
        tx.send(log).ok();
    });
    let log = rx.recv_timeout(std::time::Duration::from_secs(60));
    child.kill().ok();
    child.wait().ok();
    let log = log.expect("the server did not start within a minute");
    assert!(log.contains("listening"), "the server did not start:\n{log}");
    log
}

#[test]
fn a_fresh_data_dir_starts_without_errors() {
    for _ in 0..10 {
        let log = first_start_log(16);
        assert!(
            !log.contains("ERROR"),
            "an error was logged on a fresh data dir:\n{log}"
        );
        assert!(!log.contains("database is locked"), "{log}");
    }
}

/// Runs `serve` with `setting` (an env key such as `ADMIN__PORT`) set to a port this test holds; answers the exit
/// code, stderr and the taken address. Panics when the server does not give up within a minute.
fn serve_on_a_taken_port(setting: &str, role: &str) -> (Option<i32>, String, String) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary(dir.path(), "http://127.0.0.1:9")
        .env("PERSONA_MCP__SERVER__PORT", "0")
        .env("PERSONA_MCP__EMBEDDER__PROVIDER", "none")
        .env(
            format!("PERSONA_MCP__{setting}"),
            taken.local_addr().unwrap().port().to_string(),
        )
        .env("RUST_BACKTRACE", "1")
        .args(["serve", "--role", role])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().ok();
            panic!("the server ran on a taken port ({setting} = {addr})");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        addr,
    )
}

#[test]
fn a_taken_port_is_one_line_naming_the_setting_and_exit_2() {
    for (env, setting, role) in [
        ("ADMIN__PORT", "admin.port", "all"),
        ("SERVER__PORT", "server.port", "all"),
        ("ADMIN__PORT", "admin.port", "admin"),
        ("SERVER__PORT", "server.port", "mcp"),
    ] {
        let (code, err, addr) = serve_on_a_taken_port(env, role);
        assert_eq!(code, Some(2), "--role {role}, {setting} taken: {err}");
        let expected = format!("persona-mcp: cannot listen on {addr} ({setting}): ");
        assert!(
            err.contains(&expected),
            "--role {role}: {expected:?} missing from:\n{err}"
        );
        assert!(!err.contains("panicked"), "--role {role}, {setting} taken:\n{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line:\n{err}");
    }
}
