//! What the benchmarks share: the server as a child process (killed on drop, panics included), started in a
//! temporary directory on a free port, the wait until it is healthy ([`ServerProcess`]); a client of its
//! WebSocket ([`ws`]); percentiles ([`stats`]); a database filled with many memories ([`fill`]); whether a reply
//! keeps its persona's name ([`identity`]).

// Each benchmark uses a part of these helpers.
#![allow(dead_code)]

pub mod fill;
pub mod identity;
pub mod stats;
pub mod ws;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh temporary directory `persona-mcp-bench-<what>-…`, removed on drop.
pub fn temp_dir(what: &str) -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix(&format!("persona-mcp-bench-{what}-"))
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir: {e}"))
}

/// The flag `cargo bench` adds to a harness-less benchmark's arguments: accepted and ignored.
#[derive(clap::Args)]
pub struct CargoBench {
    #[arg(long = "bench", hide = true)]
    _bench: bool,
}

/// The server child process.
pub struct ServerProcess {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub port: u16,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `bin serve` in `work_dir` (so no `.env` or config file of the checkout leaks into the measurement)
    /// on a free loopback port, data in `work_dir/data`, logs in `work_dir/server.log`, with extra settings.
    pub fn spawn(bin: &Path, work_dir: &Path, settings: &[(&str, String)]) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("pick a free port: {e}"))?
            .port();
        let log = work_dir.join("server.log");
        let out = File::create(&log).map_err(|e| format!("server log: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("server log: {e}"))?;
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--role", "mcp"])
            .current_dir(work_dir)
            .env("PERSONA_MCP__SERVER__HOST", "127.0.0.1")
            .env("PERSONA_MCP__SERVER__PORT", port.to_string())
            .env("PERSONA_MCP__STORAGE__DATA_DIR", work_dir.join("data"))
            .env("PERSONA_MCP__SERVER__RATE_LIMIT_PER_SECOND", "100000")
            .env("PERSONA_MCP__SERVER__RATE_LIMIT_BURST", "100000")
            .env("PERSONA_MCP__LOGGING__LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (key, value) in settings {
            cmd.env(key, value);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        Ok(Self { child, port, log })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the server wrote to stdout/stderr.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Waits until `GET /healthz` answers 200 (at most 120 s); answers how long that took.
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
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `/proc/PID/status` field in kB (`VmRSS`, `VmHWM`).
pub fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        line.strip_prefix(key)?
            .strip_prefix(':')?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}
