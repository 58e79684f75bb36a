//! Interop: the official Python MCP SDK drives persona-mcp against the fake LLM. SDK 2.x (`pip install mcp`,
//! default auto mode and legacy mode) over stdio and Streamable HTTP, SDK 1.x (`mcp<2`, which still has
//! `mcp.client.websocket`) over the WebSocket. The scripts are in `tests/interop/`; the virtual environments are
//! made by `make interop-sdk` (part of `make test`) under `target/interop-venv2` and `target/interop-venv1`, or
//! named by `PERSONA_MCP_INTEROP_PYTHON2` / `PERSONA_MCP_INTEROP_PYTHON1`.

use persona_test_support as support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::fake_llm::{FakeLlm, FakeLlmConfig};
use support::TestServer;

const REPLY: &str = "Well met, traveller! Shall I sing of dragons?";
/// The longest one script may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The python of an SDK's virtual environment; panics with what to run when there is none.
fn python(major: u8) -> PathBuf {
    let path = std::env::var_os(format!("PERSONA_MCP_INTEROP_PYTHON{major}"))
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(format!("target/interop-venv{major}/bin/python")));
    assert!(
        path.exists(),
        "no Python with the MCP SDK {major}.x at {}: run `make interop-sdk` (part of `make test`) to create it",
        path.display()
    );
    path
}

fn fake_llm() -> FakeLlm {
    FakeLlm::start(FakeLlmConfig {
        reply: Some(REPLY.to_string()),
        ..FakeLlmConfig::default()
    })
}

/// Runs one script with the SDK's python; fails the test with its output when it fails.
async fn run_script(major: u8, script: &str, env: &[(&str, String)]) {
    let mut cmd = tokio::process::Command::new(python(major));
    cmd.arg(root().join("tests/interop").join(script))
        .current_dir(root().join("tests/interop"))
        .env("PERSONA_MCP_REPLY", REPLY)
        .env("PYTHONUNBUFFERED", "1")
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} took longer than {SCRIPT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{script} could not start: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk2_over_stdio() {
    let llm = fake_llm();
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [
        ("PERSONA_MCP_BIN", env!("CARGO_BIN_EXE_persona-mcp").to_string()),
        ("PERSONA_MCP__STORAGE__DATA_DIR", dir.path().display().to_string()),
        ("PERSONA_MCP__LLM__URL", llm.url()),
        ("PERSONA_MCP__LLM__RETRIES", "0".to_string()),
        (
            "PERSONA_MCP__EMBEDDER__MODEL_DIR",
            root().join("data/models/all-MiniLM-L6-v2").display().to_string(),
        ),
        ("PERSONA_MCP__MEMORY__DECAY_ENABLED", "false".to_string()),
        ("PERSONA_MCP__LOGGING__LEVEL", "warn".to_string()),
    ];
    run_script(2, "sdk2_stdio.py", &env).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk2_over_streamable_http() {
    let llm = fake_llm();
    let server = TestServer::start(&llm.url());
    run_script(2, "sdk2_http.py", &[("MCP_URL", server.http_url("/mcp"))]).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk1_over_websocket() {
    let llm = fake_llm();
    let server = TestServer::start(&llm.url());
    run_script(1, "sdk1_ws.py", &[("MCP_URL", server.ws_url())]).await;
    server.stop().await;
}
