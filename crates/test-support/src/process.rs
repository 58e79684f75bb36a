//! The built binary as a real process (`persona-mcp serve`), for what only a process can show: signals (SIGHUP,
//! SIGTERM, kill -9), restarts, and the benches' measurements of a server on its own. Its stderr lines are kept
//! for the test or bench to read; it is killed when dropped (panics included).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
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
    /// The port of `ws_url`.
    pub port: u16,
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
            .env("NO_COLOR", "1");
        for (k, v) in &o.env {
            cmd.env(k, v);
        }
        let mut process = Self::launch(&mut cmd, o.data_dir.clone()).expect("the binary starts");
        let line = process.wait_for_line("persona-mcp listening: ", Duration::from_secs(60));
        let url = line
            .split("listening: ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next());
        process.ws_url = url.expect("listening line names the URL").to_string();
        process.port = url::Url::parse(&process.ws_url)
            .ok()
            .and_then(|u| u.port())
            .expect("the URL names its port");
        let line = process.wait_for_line("admin listening: ", Duration::from_secs(5));
        let url = line
            .split("admin listening: ")
            .nth(1)
            .and_then(|r| r.split("/admin/").next());
        process.admin_base = url.expect("admin line names the URL").to_string();
        process
    }

    /// Starts `bin serve --role mcp` for a benchmark: in `work_dir` (so no `.env` or config file of the checkout
    /// leaks into the measurement) on a free loopback port, data in `work_dir/data`, logging warnings, rate limits
    /// out of the way, with extra `settings` (`PERSONA_MCP__…` variables). [`Self::wait_healthy`] waits for it.
    pub fn spawn(bin: &Path, work_dir: &Path, settings: &[(&str, String)]) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("pick a free port: {e}"))?
            .port();
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--role", "mcp"])
            .current_dir(work_dir)
            .env("PERSONA_MCP__SERVER__HOST", "127.0.0.1")
            .env("PERSONA_MCP__SERVER__PORT", port.to_string())
            .env("PERSONA_MCP__STORAGE__DATA_DIR", work_dir.join("data"))
            .env("PERSONA_MCP__SERVER__RATE_LIMIT_PER_SECOND", "100000")
            .env("PERSONA_MCP__SERVER__RATE_LIMIT_BURST", "100000")
            .env("PERSONA_MCP__LOGGING__LEVEL", "warn");
        for (key, value) in settings {
            cmd.env(key, value);
        }
        let mut process = Self::launch(&mut cmd, work_dir.join("data"))?;
        process.port = port;
        process.ws_url = format!("ws://127.0.0.1:{port}/mcp");
        Ok(process)
    }

    /// Spawns `cmd` with its stderr kept line by line; the URLs are not known yet.
    fn launch(cmd: &mut Command, data_dir: PathBuf) -> Result<Self, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Ok(Self {
            child,
            ws_url: String::new(),
            admin_base: String::new(),
            data_dir,
            port: 0,
            lines,
        })
    }

    /// Waits until `GET /healthz` answers 200 (at most 120 s); answers how long that took, or the server's last
    /// output when it exited or never got healthy.
    pub async fn wait_healthy(&mut self) -> Result<Duration, String> {
        let started = Instant::now();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "server exited before it was healthy ({status}); its last output:\n{}",
                    self.log_tail(30)
                ));
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status().as_u16() == 200 {
                    return Ok(started.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "server not healthy after 120 s; its last output:\n{}",
            self.log_tail(30)
        ))
    }

    /// True once the process has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
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

    /// The last `count` stderr lines, one string.
    pub fn log_tail(&self, count: usize) -> String {
        let lines = self.lines();
        lines[lines.len().saturating_sub(count)..].join("\n")
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
