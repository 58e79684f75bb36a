//! State file benchmark: `state.save` and `state.load` time and file size with many memories (100k by default),
//! and the chat time to first chunk while a save runs, against the real server binary.
//!
//! It fills a fresh database through the storage layer (memories with 384-dimension vectors under the MiniLM
//! embedder's name, so the server uses them as they are), starts `persona-mcp serve` against the in-process fake
//! LLM, measures streamed chats' time to first chunk alone and then during a `state.save`, and times the save and a
//! `state.load` of it (which rebuilds the vector indexes from the stored vectors).
//!
//! ```text
//! cargo bench --bench state -- --memories 100000 --clients 4
//! ```

mod common;
use persona_test_support::fake_llm;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::proc_status_kb;
use common::stats::percentile_ms;
use common::ws::{call, call_within, connect, next_json, send_json, Ws};
use fake_llm::{FakeLlm, FakeLlmConfig};
use persona_test_support::process::ServerProcess;
use serde_json::{json, Value};

/// The state benchmark's options.
#[derive(clap::Parser)]
#[command(about = "state.save and state.load with many memories, and chats during a save")]
struct Args {
    /// Memories in the database.
    #[arg(long, default_value_t = 100_000)]
    memories: usize,
    /// Clients chatting during the save.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Chats per client before the save, for the baseline.
    #[arg(long, default_value_t = 25)]
    baseline: usize,
    /// The server binary (default: the one cargo built).
    #[arg(long, default_value = env!("CARGO_BIN_EXE_persona-mcp"))]
    server_bin: PathBuf,
    #[command(flatten)]
    cargo: common::CargoBench,
}

/// How long a `state.save` or `state.load` of 100k memories may take on a busy machine.
const STATE_CALL_TIMEOUT: Duration = Duration::from_secs(900);

/// One streamed chat: (when it was sent, time to its first chunk).
async fn streamed_chat(ws: &mut Ws, id: u64) -> Result<(Instant, Duration), String> {
    let frame = json!({"jsonrpc": "2.0", "id": id, "method": "persona.chat_stream",
                       "params": {"message": format!("How was your day? ({id})")}});
    send_json(ws, frame).await?;
    let sent = Instant::now();
    let mut first = None;
    loop {
        let frame = next_json(ws).await?;
        if frame["id"] != json!(id) {
            continue;
        }
        match frame.pointer("/result/event_type").and_then(Value::as_str) {
            Some("stream_chunk") => {
                first.get_or_insert_with(|| sent.elapsed());
            }
            Some("stream_complete") => return first.map(|f| (sent, f)).ok_or_else(|| "no chunk".to_string()),
            Some("stream_start") => {}
            _ => return Err(format!("chat failed: {frame}")),
        }
    }
}

/// Chats until `stop`, recording (sent, time to first chunk) of every chat.
async fn chatter(
    port: u16,
    index: usize,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Vec<(Instant, Duration)>>>,
) -> Result<(), String> {
    let mut ws = connect(port).await?;
    let name = format!("Bench {index}");
    call(&mut ws, 1, "persona.create", json!({"name": name})).await?;
    call(&mut ws, 2, "persona.switch", json!({"persona_id": name})).await?;
    let mut id = 3;
    while !stop.load(Ordering::SeqCst) {
        let trace = streamed_chat(&mut ws, id).await?;
        out.lock().map_err(|e| e.to_string())?.push(trace);
        id += 1;
    }
    Ok(())
}

fn p50_p99(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |q| percentile_ms(&v, q).unwrap_or(f64::NAN);
    format!(
        "p50 {:.1} ms / p99 {:.1} ms / max {:.1} ms ({} chats)",
        ms(0.50),
        ms(0.99),
        ms(1.0),
        v.len()
    )
}

async fn run(args: Args) -> Result<(), String> {
    let temp = common::temp_dir("state")?;
    let data = temp.path().join("data");
    let filled = Instant::now();
    common::fill::fill(&data, args.memories, None).await?;
    println!(
        "filled {} memories in {:.1} s",
        args.memories,
        filled.elapsed().as_secs_f64()
    );

    let llm = FakeLlm::start(FakeLlmConfig {
        tokens: 20,
        first_token_delay: Duration::from_millis(20),
        token_delay: Duration::from_millis(5),
        ..FakeLlmConfig::default()
    });
    let model_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/all-MiniLM-L6-v2");
    let settings = [
        ("PERSONA_MCP__LLM__URL", llm.url()),
        ("PERSONA_MCP__LLM__PROVIDER", "ollama".to_string()),
        ("PERSONA_MCP__EMBEDDER__MODEL_DIR", model_dir.display().to_string()),
        ("PERSONA_MCP__MEMORY__DECAY_ENABLED", "false".to_string()),
        ("PERSONA_MCP__MEMORY__PRUNING_THRESHOLD", "1000000".to_string()),
        ("PERSONA_MCP__MEMORY__AUTO_PRUNE_THRESHOLD", "1000000".to_string()),
    ];
    let mut server = ServerProcess::spawn(&args.server_bin, temp.path(), &settings)?;
    let up = server.wait_healthy().await?;
    println!(
        "server healthy after {:.1} s (vector indexes built from the stored vectors)",
        up.as_secs_f64()
    );
    let port = server.port;

    // Baseline: the same chats with no save running.
    let traces = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..args.clients {
        tasks.push(tokio::spawn(chatter(port, i, stop.clone(), traces.clone())));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while traces.lock().map_err(|e| e.to_string())?.len() < args.baseline * args.clients && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let baseline: Vec<Duration> = traces.lock().map_err(|e| e.to_string())?.iter().map(|t| t.1).collect();

    // The save, while the same clients keep chatting.
    let mut admin = connect(port).await?;
    let started = Instant::now();
    let saved = call_within(&mut admin, 1, "state.save", json!({}), STATE_CALL_TIMEOUT).await?;
    let save_time = started.elapsed();
    let ended = Instant::now();
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let during: Vec<Duration> = traces
        .lock()
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|(sent, _)| *sent >= started && *sent <= ended)
        .map(|t| t.1)
        .collect();

    let started = Instant::now();
    let loaded = call_within(
        &mut admin,
        2,
        "state.load",
        json!({"path": saved["path"], "confirm": true}),
        STATE_CALL_TIMEOUT,
    )
    .await?;
    let load_time = started.elapsed();

    let bytes = saved["bytes"].as_u64().unwrap_or(0);
    println!("memories: {}", args.memories);
    println!(
        "state.save: {:.2} s, file {:.1} MB ({:.0} bytes per memory)",
        save_time.as_secs_f64(),
        bytes as f64 / 1e6,
        bytes as f64 / args.memories.max(1) as f64
    );
    println!(
        "state.load: {:.2} s (verify, replace in one transaction, rebuild the vector indexes); result {}",
        load_time.as_secs_f64(),
        loaded
    );
    println!("chat time to first chunk, no save running: {}", p50_p99(baseline));
    println!("chat time to first chunk, started during the save: {}", p50_p99(during));
    println!(
        "(the fake LLM waits 20 ms before its first token; {} clients chatting)",
        args.clients
    );
    if let Some(peak) = proc_status_kb(server.pid(), "VmHWM") {
        println!("server peak RSS: {:.0} MB", peak as f64 / 1024.0);
    }
    drop(server);
    Ok(())
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("bench-state failed: {e}");
        std::process::exit(1);
    }
}
