//! The built binary as a real process (`persona-mcp serve`), for what only a process can show: signals (SIGHUP,
//! SIGTERM, kill -9) and restarts. Its stderr lines are kept for the test to read; it is killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `persona-mcp serve`.
pub struct ServerProcess {
    child: Child,
    /// `ws://…/mcp`.
    pub ws_url: String,
    /// `http://…` of the admin listener.
    pub admin_base: String,
    /// The data dir.
    pub data_dir: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
}

/// How to start one.
pub struct ProcessOptions {
    /// The data dir (also the working directory).
    pub data_dir: PathBuf,
    /// The (fake) model server.
    pub llm_url: String,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// More `PERSONA_MCP__…` variables.
    pub env: Vec<(String, String)>,
}

impl ProcessOptions {
    /// Defaults for a test: loopback, port 0, the MiniLM model of the checkout, decay off.
    pub fn new(data_dir: &Path, llm_url: &str) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            llm_url: llm_url.to_string(),
            config: None,
            env: Vec::new(),
        }
    }
}

impl ServerProcess {
    /// Starts the binary and waits (up to 60 s) until it listens.
    pub fn start(o: &ProcessOptions) -> Self {
        let mut cmd = Command::new(crate::binary());
        if let Some(file) = &o.config {
            cmd.arg("--config").arg(file);
        }
        cmd.arg("serve")
            .current_dir(&o.data_dir)
            .env("PERSONA_MCP__STORAGE__DATA_DIR", &o.data_dir)
            .env("PERSONA_MCP__LLM__URL", &o.llm_url)
            .env("PERSONA_MCP__LLM__PROVIDER", "ollama")
            .env("PERSONA_MCP__SERVER__PORT", "0")
            .env("PERSONA_MCP__ADMIN__PORT", "0")
            .env("PERSONA_MCP__SERVER__RATE_LIMIT_PER_SECOND", "10000")
            .env("PERSONA_MCP__SERVER__RATE_LIMIT_BURST", "10000")
            .env("PERSONA_MCP__MEMORY__DECAY_ENABLED", "false")
            .env(
                "PERSONA_MCP__EMBEDDER__MODEL_DIR",
                crate::repo_root().join("data/models/all-MiniLM-L6-v2"),
            )
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &o.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let mut process = Self {
            child,
            ws_url: String::new(),
            admin_base: String::new(),
            data_dir: o.data_dir.clone(),
            lines,
        };
        let line = process.wait_for_line("persona-mcp listening: ", Duration::from_secs(60));
        let url = line
            .split("listening: ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next());
        process.ws_url = url.expect("listening line names the URL").to_string();
        let line = process.wait_for_line("admin listening: ", Duration::from_secs(5));
        let url = line
            .split("admin listening: ")
            .nth(1)
            .and_then(|r| r.split("/admin/").next());
        process.admin_base = url.expect("admin line names the URL").to_string();
        process
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`libc`-free: through `kill`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// kill -9 and wait for the process to be gone.
    pub fn kill9(mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// Waits for the process to exit by itself (after SIGTERM); kills it after `limit`.
    pub fn wait_exit(mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill().ok();
        self.child.wait().ok();
        false
    }

    /// `GET {admin}/admin/api/v1{path}` with the admin token; the JSON answer.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        let token = std::fs::read_to_string(self.data_dir.join("admin.token")).expect("admin.token");
        let resp = reqwest::Client::new()
            .get(format!("{}/admin/api/v1{path}", self.admin_base))
            .bearer_auth(token.trim())
            .send()
            .await
            .expect("admin answers");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("JSON")
    }

    /// The stderr lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a stderr line contains `needle` (counting lines already read) and answers it.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(needle)) {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the server exited ({status}) before logging {needle:?}: {:#?}",
                    self.lines()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?} in {:#?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
