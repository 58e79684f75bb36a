//! The admin web page in a real browser: `node tests/browser/admin.mjs` drives Debian's chromium through
//! playwright-core against a real server (admin listener + MCP listener, fake LLM streaming slowly enough that
//! tokens visibly arrive one by one). Screenshots land in `target/browser/`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{install_log_buffer, test_settings, TestServer};

const TOKEN: &str = "browser-test-admin-token-0123456789";
const REPLY: &str = "The northern ships pass the lighthouse at dusk, and every keeper writes their names down.";

#[tokio::test(flavor = "multi_thread")]
async fn admin_page_works_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/browser/admin.mjs");
    assert!(
        root.join("tests/browser/node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `make browser-deps` (npm ci in tests/browser)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "chromium is not installed: run `apt-get install chromium` (.ci/run does)"
    );
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some(REPLY.to_string()),
        token_delay: Duration::from_millis(60),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.admin.port = 0;
    // The page reaches the chat WebSocket at the configured `server.port`, so the test gives it a real one.
    settings.server.port = free_port();
    settings.admin.token = Some(TOKEN.to_string());
    settings.bots.executable = Some(env!("CARGO_BIN_EXE_persona-mcp").into());
    let server = TestServer::start_with(settings);
    install_log_buffer();
    let admin = server.admin_addr.expect("the admin listener runs");
    let out = root.join("target/browser");

    let node = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("ADMIN_URL", format!("http://{admin}"))
            .env("ADMIN_TOKEN", TOKEN)
            .env("EXPECTED_REPLY", REPLY)
            .env("OUT_DIR", &out)
            .output()
            .expect("node runs")
    })
    .await
    .expect("node finished");
    let stdout = String::from_utf8_lossy(&node.stdout);
    let stderr = String::from_utf8_lossy(&node.stderr);
    assert!(
        node.status.success(),
        "the browser test failed ({}); screenshots in target/browser/\n{stdout}\n{stderr}",
        node.status
    );
    assert!(stdout.contains("browser test passed"), "{stdout}");
    server.stop().await;
}

/// A port nothing listens on now (the OS's pick for an ephemeral bind, released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
