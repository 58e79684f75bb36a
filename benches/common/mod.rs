//! What the benchmarks share besides test-support's server process (`persona_test_support::process::
//! ServerProcess::spawn`): a temporary directory ([`temp_dir`]); a client of the server's WebSocket ([`ws`]);
//! percentiles ([`stats`]); a database filled with many memories ([`fill`]); whether a reply keeps its persona's
//! name ([`identity`]); a process's memory ([`proc_status_kb`]).

// Each benchmark uses a part of these helpers.
#![allow(dead_code)]

pub mod fill;
pub mod identity;
pub mod stats;
pub mod ws;

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
