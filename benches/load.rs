//! Load benchmark: many concurrent WebSocket clients streaming chats through the real server binary.
//!
//! It starts the fake LLM in-process, spawns `persona-mcp serve` on a free port with a fresh data dir, measures the
//! server's idle memory, then drives N clients that each switch to a persona and run streamed chats, and prints
//! latency (time to first chunk, gaps between chunks, both raw and minus the fake LLM's own delays), throughput and
//! memory. Exits non-zero if anything failed. With `--instances N --database-url postgres://…` it starts N servers
//! on one PostgreSQL database and spreads the clients over them round-robin (server figures are then per
//! instance, memory and CPU summed).
//!
//! ```text
//! cargo bench --bench load -- --clients 1000 --chats 2 --tokens 20 --first-token-ms 20 --token-ms 5
//! ```

mod common;
use persona_test_support::fake_llm;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proc_status_kb;
use common::stats::percentile_ms;
use common::ws::{call, connect_url, describe_error, next_json, send_json};
use fake_llm::{FakeLlm, FakeLlmConfig};
use persona_test_support::process::ServerProcess;
use serde_json::{json, Value};

/// The load benchmark's options.
#[derive(clap::Parser)]
#[command(about = "Many WebSocket clients streaming chats through the server against the fake LLM")]
struct Args {
    /// Concurrent WebSocket clients.
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    clients: usize,
    /// Streamed chats per client.
    #[arg(long, default_value_t = 2)]
    chats: usize,
    /// Tokens per fake LLM reply.
    #[arg(long, default_value_t = 20)]
    tokens: usize,
    /// The fake LLM's delay before the first token, in ms.
    #[arg(long, default_value_t = 20)]
    first_token_ms: u64,
    /// The fake LLM's delay between tokens, in ms.
    #[arg(long, default_value_t = 5)]
    token_ms: u64,
    /// Clients connect spread over this time, in ms.
    #[arg(long, default_value_t = 1000)]
    ramp_ms: u64,
    /// Idle time before the idle RSS is read, in seconds.
    #[arg(long, default_value_t = 3)]
    idle_secs: u64,
    /// The persona every client switches to.
    #[arg(long, default_value = "Aria")]
    persona: String,
    /// The server's embedder: minilm (as a new user gets it: each reply first recalls memories by the message's
    /// embedding and each exchange is embedded after it) or none (the chat path alone).
    #[arg(long, default_value = "minilm")]
    embedder: String,
    /// Each client creates a persona of its own and switches to it, so the personas' social energy and
    /// cooldowns do not limit the run.
    #[arg(long)]
    own_persona: bool,
    /// The servers' database (`storage.database_url`), e.g. an empty PostgreSQL database; default: a SQLite file
    /// in each server's data dir.
    #[arg(long)]
    database_url: Option<String>,
    /// Servers sharing `--database-url`, the clients spread over them round-robin.
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    instances: usize,
    /// The server binary (default: the one cargo built).
    #[arg(long, default_value = env!("CARGO_BIN_EXE_persona-mcp"))]
    server_bin: PathBuf,
    #[command(flatten)]
    cargo: common::CargoBench,
}

/// A count of one or more.
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(args));
    drop(runtime);
    // Every guard (server process, fake LLM, temp dir) has been dropped by now.
    std::process::exit(code);
}

/// The server's `/metrics` text.
async fn server_metrics(port: u16) -> Option<String> {
    let url = format!("http://127.0.0.1:{port}/metrics");
    reqwest::get(&url).await.ok()?.text().await.ok()
}

/// The value of the unlabelled metric `persona_mcp_{name}`.
async fn server_value(port: u16, name: &str) -> Option<f64> {
    let text = server_metrics(port).await?;
    let prefix = format!("persona_mcp_{name} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str())?.trim().parse().ok())
}

/// A latency the server measures itself, read from its Prometheus histogram `name` (summed over its labels): the
/// upper bucket bounds that hold 50 % and 99 % of the samples, and the share within `within_ms`.
async fn server_histogram(port: u16, name: &str, within_ms: f64) -> Option<String> {
    let text = server_metrics(port).await?;
    // `name` may carry a label that comes before `le`: `turn_stage_seconds{stage="route"`.
    let prefix = match name.split_once('{') {
        Some((metric, labels)) => format!("persona_mcp_{metric}_bucket{{{labels},"),
        None => format!("persona_mcp_{name}_bucket{{"),
    };
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(prefix.as_str()) else {
            continue;
        };
        let Some((labels, count)) = rest.split_once("} ") else {
            continue;
        };
        let Some(le) = labels.split("le=\"").nth(1).and_then(|v| v.strip_suffix('"')) else {
            continue;
        };
        let (Ok(le), Ok(count)) = (le.parse::<f64>(), count.trim().parse::<f64>()) else {
            continue;
        };
        match buckets.iter_mut().find(|(bound, _)| *bound == le) {
            Some(bucket) => bucket.1 += count,
            None => buckets.push((le, count)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total == 0.0 {
        return None;
    }
    let bound = |q: f64| {
        buckets
            .iter()
            .find(|(_, cumulative)| *cumulative >= q * total)
            .map_or("> 50 ms".to_string(), |(le, _)| format!("≤ {} ms", le * 1000.0))
    };
    let within = buckets
        .iter()
        .find(|(le, _)| (*le * 1000.0 - within_ms).abs() < 1e-9)?
        .1
        / total;
    Some(format!(
        "p50 {}, p99 {}; {:.2} % within {within_ms} ms ({total} samples)",
        bound(0.5),
        bound(0.99),
        within * 100.0
    ))
}

/// What one server's `/metrics` says about the run.
struct ServerFigures {
    forwarding: Option<String>,
    setup: Option<String>,
    first_chunk: Option<String>,
    recall: Option<String>,
    late: Option<f64>,
    shed: Option<f64>,
    threading: Option<String>,
    threading_own: Option<String>,
    stages: Vec<(&'static str, Option<String>)>,
}

impl ServerFigures {
    async fn of(port: u16) -> Self {
        Self {
            forwarding: server_histogram(port, "stream_chunk_forward_seconds", 1.0).await,
            setup: server_histogram(port, "stream_setup_seconds", 5.0).await,
            first_chunk: server_histogram(port, "stream_first_chunk_seconds", 25.0).await,
            recall: server_histogram(port, "memory_recall_seconds", 5.0).await,
            late: server_value(port, "memory_recall_vector_late_total").await,
            shed: server_value(port, "memory_recall_vector_shed_total").await,
            threading: server_histogram(port, "thread_step_seconds", 2.0).await,
            threading_own: server_histogram(port, "thread_step_own_seconds", 2.0).await,
            stages: vec![
                (
                    "route (request in → turn starts)",
                    server_histogram(port, "turn_stage_seconds{stage=\"route\"", 1.0).await,
                ),
                (
                    "prompt sections (recall, scene)",
                    server_histogram(port, "turn_stage_seconds{stage=\"sections\"", 5.0).await,
                ),
                (
                    "prompt building (after threading)",
                    server_histogram(port, "turn_stage_seconds{stage=\"prompt\"", 1.0).await,
                ),
            ],
        }
    }

    fn print(&self, server: &str) {
        if let Some(f) = &self.forwarding {
            println!("{server} per-chunk forwarding (token in → frame on socket): {f}");
        }
        if let Some(s) = &self.setup {
            println!("{server} time to first chunk, before the model (request in → request to the model): {s}");
        }
        if let Some(f) = &self.first_chunk {
            println!("{server} time to first chunk (request in → first token in, the model's wait included): {f}");
        }
        if let Some(r) = &self.recall {
            let count = |n: Option<f64>| n.map_or_else(|| "n/a".to_string(), |n| format!("{n}"));
            println!(
                "{server} memory recall per turn: {r}; answered by keywords: {} (vector late), {} (vector not \
                 started: the queries queued ahead would have been late)",
                count(self.late),
                count(self.shed)
            );
        }
        if let Some(t) = &self.threading {
            println!("{server} topic-threading step per turn: {t}");
        }
        if let Some(o) = &self.threading_own {
            println!("{server}   of it, its own work (without waiting for the message's vector): {o}");
        }
        for (stage, figures) in &self.stages {
            if let Some(f) = figures {
                println!("{server} turn stage, {stage}: {f}");
            }
        }
    }
}

/// How long after the load the servers had embedded and indexed one memory per chat (the exchange), their
/// backlogs empty: polled for at most [`EMBEDDED_WITHIN`].
async fn wait_embedded(ports: &[u16], chats: usize) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let (mut embedded, mut backlog) = (0.0, 0.0);
        for &port in ports {
            embedded += server_value(port, "memory_embedded_total").await.unwrap_or(0.0);
            backlog += server_value(port, "memory_embed_backlog").await.unwrap_or(f64::MAX);
        }
        if embedded >= chats as f64 && backlog == 0.0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > EMBEDDED_WITHIN {
            return Err(format!(
                "only {embedded} of {chats} embedded, {backlog} waiting, {} s after the load",
                EMBEDDED_WITHIN.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long every exchange may take to become vector-searchable after the load (the issue's bound).
const EMBEDDED_WITHIN: Duration = Duration::from_secs(30);

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".to_string(), |kb| format!("{:.1}", kb as f64 / 1024.0))
}

/// One streamed chat as its client saw it.
struct ChatTrace {
    /// The user message, which also keys the fake LLM's own timing of the reply.
    message: String,
    sent: Instant,
    /// When each `stream_chunk` arrived.
    chunks: Vec<Instant>,
}

/// What one client saw.
#[derive(Default)]
struct ClientStats {
    session_ok: bool,
    chats_ok: usize,
    traces: Vec<ChatTrace>,
    errors: Vec<String>,
}

/// Latency samples of a whole run.
#[derive(Default)]
struct Latencies {
    /// Request sent → first chunk received.
    ttfc: Vec<Duration>,
    /// Between two chunks of one reply.
    gaps: Vec<Duration>,
    /// `ttfc` minus the time the fake LLM really held the request before its first token left: the server's part.
    added_ttfc: Vec<Duration>,
    /// Fake LLM sends token i → client receives chunk i: the whole trip through the server.
    transit: Vec<Duration>,
    /// Chats the fake LLM has no matching timing for (their `added_ttfc` and `transit` are missing).
    unmatched: usize,
}

impl Latencies {
    /// Splits the traces into samples, matching each with the fake LLM's own timing of its reply.
    fn of(traces: &[ChatTrace], llm: &FakeLlm) -> Self {
        let mut all = Latencies::default();
        for trace in traces {
            let Some(&first) = trace.chunks.first() else {
                continue;
            };
            all.ttfc.push(first - trace.sent);
            all.gaps.extend(trace.chunks.windows(2).map(|pair| pair[1] - pair[0]));
            match llm.stream_timing(&trace.message) {
                Some(timing) if timing.tokens_sent.len() == trace.chunks.len() => {
                    let held = timing.tokens_sent[0] - timing.received;
                    all.added_ttfc.push((first - trace.sent).saturating_sub(held));
                    all.transit.extend(
                        trace
                            .chunks
                            .iter()
                            .zip(&timing.tokens_sent)
                            .map(|(received, sent)| received.saturating_duration_since(*sent)),
                    );
                }
                _ => all.unmatched += 1,
            }
        }
        for samples in [&mut all.ttfc, &mut all.gaps, &mut all.added_ttfc, &mut all.transit] {
            samples.sort_unstable();
        }
        all
    }
}

/// What a client does: which persona it talks to.
#[derive(Clone)]
struct Plan {
    /// The servers' WebSocket URLs; client `i` uses the `i % len`-th.
    urls: Arc<Vec<String>>,
    chats: usize,
    persona: String,
    own_persona: bool,
}

async fn client_session(index: usize, plan: &Plan, stats: &mut ClientStats) -> Result<(), String> {
    let mut ws = connect_url(&plan.urls[index % plan.urls.len()]).await?;

    let persona = if plan.own_persona {
        let name = format!("Bench {index}");
        let params = json!({"name": name, "description": "a load-test persona"});
        call(&mut ws, 1, "persona.create", params).await?;
        name
    } else {
        plan.persona.clone()
    };
    call(&mut ws, 2, "persona.switch", json!({"persona_id": persona})).await?;
    stats.session_ok = true;

    for chat in 0..plan.chats {
        let id = json!(3 + chat);
        let message = format!("Hello, client {index} here, chat {chat}. How are you?");
        send_json(
            &mut ws,
            json!({"jsonrpc": "2.0", "id": id, "method": "persona.chat_stream",
                   "params": {"message": message, "token_budget": 500}}),
        )
        .await?;
        let sent = Instant::now();
        let mut chunks = Vec::new();
        loop {
            let frame = next_json(&mut ws).await?;
            if frame.get("id") != Some(&id) {
                continue;
            }
            let event = frame.pointer("/result/event_type").and_then(Value::as_str);
            match event {
                Some("stream_chunk") => chunks.push(Instant::now()),
                Some("stream_complete") => {
                    stats.chats_ok += 1;
                    stats.traces.push(ChatTrace { message, sent, chunks });
                    break;
                }
                Some(terminal @ ("stream_error" | "stream_cancelled")) => {
                    return Err(format!("chat {chat}: {terminal}: {}", describe_error(&frame)));
                }
                Some(_) => {}
                None => return Err(format!("chat {chat}: {}", describe_error(&frame))),
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

async fn run_client(index: usize, plan: Plan, start_after: Duration) -> ClientStats {
    tokio::time::sleep(start_after).await;
    let mut stats = ClientStats::default();
    if let Err(e) = client_session(index, &plan, &mut stats).await {
        stats.errors.push(format!("client {index}: {e}"));
    }
    stats
}

/// Nearest-rank percentile of sorted samples, in milliseconds.
fn p50_p99(sorted: &[Duration], offset_ms: f64) -> String {
    match (percentile_ms(sorted, 0.50), percentile_ms(sorted, 0.99)) {
        (Some(p50), Some(p99)) => format!("{:.2} / {:.2} ms", p50 - offset_ms, p99 - offset_ms),
        _ => "n/a (no samples)".to_string(),
    }
}

async fn run(args: Args) -> i32 {
    if args.instances > 1 && args.database_url.is_none() {
        eprintln!("--instances above 1 needs --database-url (instances share a PostgreSQL database)");
        return 2;
    }
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            let needed = args.clients as u64 * 2 + 64;
            if limit < needed {
                eprintln!(
                    "warning: open-file limit {limit} may be too low for {} clients",
                    args.clients
                );
            }
        }
        Err(e) => eprintln!("warning: cannot raise the open-file limit: {e}"),
    }

    let llm = FakeLlm::start(FakeLlmConfig {
        tokens: args.tokens,
        first_token_delay: Duration::from_millis(args.first_token_ms),
        token_delay: Duration::from_millis(args.token_ms),
        ..FakeLlmConfig::default()
    });
    let temp = match common::temp_dir("load") {
        Ok(temp) => temp,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut settings = vec![
        ("PERSONA_MCP__LLM__URL", llm.url()),
        ("PERSONA_MCP__LLM__PROVIDER", "ollama".to_string()),
        ("PERSONA_MCP__SERVER__MAX_CONNECTIONS", "20000".to_string()),
        ("PERSONA_MCP__EMBEDDER__PROVIDER", args.embedder.clone()),
        (
            "PERSONA_MCP__EMBEDDER__MODEL_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/models/all-MiniLM-L6-v2").to_string(),
        ),
    ];
    if let Some(url) = &args.database_url {
        settings.push(("PERSONA_MCP__STORAGE__DATABASE_URL", url.clone()));
    }
    // Declared after `temp` and `llm`, so dropped (killed) before them. One after the other: the first creates
    // the shared database's tables.
    let mut servers = Vec::new();
    for n in 0..args.instances {
        let dir = temp.path().join(format!("instance-{n}"));
        let spawned = std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|()| ServerProcess::spawn(&args.server_bin, &dir, &settings));
        let mut server = match spawned {
            Ok(server) => server,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        };
        match server.wait_healthy().await {
            Ok(elapsed) => println!(
                "server {n}: pid {}, port {}, healthy after {} ms",
                server.pid(),
                server.port,
                elapsed.as_millis()
            ),
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        }
        servers.push(server);
    }
    let pids: Vec<u32> = servers.iter().map(ServerProcess::pid).collect();
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let persona = if args.own_persona { "own" } else { args.persona.as_str() };
    let database = if args.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "persona-mcp load: clients={} chats/client={} tokens={} first-token={}ms token={}ms persona={persona} \
         embedder={} database={database} instances={}",
        args.clients, args.chats, args.tokens, args.first_token_ms, args.token_ms, args.embedder, args.instances
    );
    // Summed over the servers.
    let rss = |key: &str| -> Option<u64> { pids.iter().map(|&pid| proc_status_kb(pid, key)).sum() };
    let summed = if servers.len() > 1 { " (servers summed)" } else { "" };

    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let idle_rss = rss("VmRSS");

    let peak_rss = Arc::new(AtomicU64::new(idle_rss.unwrap_or(0)));
    let sampler = {
        let (peak_rss, pids) = (Arc::clone(&peak_rss), pids.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let summed: Option<u64> = pids.iter().map(|&pid| proc_status_kb(pid, "VmRSS")).sum();
                if let Some(kb) = summed {
                    peak_rss.fetch_max(kb, Ordering::Relaxed);
                }
            }
        })
    };

    let plan = Plan {
        urls: Arc::new(ports.iter().map(|port| format!("ws://127.0.0.1:{port}/mcp")).collect()),
        chats: args.chats,
        persona: args.persona.clone(),
        own_persona: args.own_persona,
    };
    let ramp = Duration::from_millis(args.ramp_ms);
    let started = Instant::now();
    let handles: Vec<_> = (0..args.clients)
        .map(|i| {
            let start_after = ramp.mul_f64(i as f64 / args.clients as f64);
            tokio::spawn(run_client(i, plan.clone(), start_after))
        })
        .collect();
    let mut total = ClientStats::default();
    let mut sessions_ok = 0;
    for handle in handles {
        match handle.await {
            Ok(stats) => {
                sessions_ok += usize::from(stats.session_ok);
                total.chats_ok += stats.chats_ok;
                total.traces.extend(stats.traces);
                total.errors.extend(stats.errors);
            }
            Err(e) => total.errors.push(format!("client task failed: {e}")),
        }
    }
    let wall = started.elapsed();
    sampler.abort();
    if let Some(kb) = rss("VmRSS") {
        peak_rss.fetch_max(kb, Ordering::Relaxed);
    }
    let hwm = rss("VmHWM");
    let server_cpu: Option<f64> = pids.iter().map(|&pid| cpu_seconds(pid)).sum();
    let mut figures = Vec::new();
    for &port in &ports {
        figures.push(ServerFigures::of(port).await);
    }
    let embedded = if args.embedder == "none" {
        None
    } else {
        Some(wait_embedded(&ports, total.chats_ok).await)
    };
    let dead: Vec<usize> = (0..servers.len()).filter(|&n| servers[n].exited()).collect();

    let latencies = Latencies::of(&total.traces, &llm);
    let chunks: usize = total.traces.iter().map(|trace| trace.chunks.len()).sum();
    let first_ms = args.first_token_ms as f64;
    let token_ms = args.token_ms as f64;
    println!("sessions: {sessions_ok} / {}", args.clients);
    println!("chats: {} / {}", total.chats_ok, args.clients * args.chats);
    println!("chunks: {chunks}");
    println!("errors: {}", total.errors.len());
    println!(
        "ttfc server-added p50/p99: {} (minus the fake LLM's measured wait before its first token; {} chats \
         unmatched)",
        p50_p99(&latencies.added_ttfc, 0.0),
        latencies.unmatched
    );
    println!(
        "ttfc minus the nominal first-token delay p50/p99: {}",
        p50_p99(&latencies.ttfc, first_ms)
    );
    println!("ttfc raw p50/p99: {}", p50_p99(&latencies.ttfc, 0.0));
    println!(
        "per-chunk overhead p50/p99: {} (fake LLM sends a token → the client has its chunk)",
        p50_p99(&latencies.transit, 0.0)
    );
    println!("inter-chunk gap raw p50/p99: {}", p50_p99(&latencies.gaps, 0.0));
    println!(
        "inter-chunk gap minus the nominal token delay p50/p99: {}",
        p50_p99(&latencies.gaps, token_ms)
    );
    for (n, f) in figures.iter().enumerate() {
        let server = if figures.len() == 1 {
            "server".to_string()
        } else {
            format!("server {n}")
        };
        f.print(&server);
    }
    match &embedded {
        Some(Ok(after)) => println!(
            "every exchange vector-searchable {:.1} s after the load ended",
            after.as_secs_f64()
        ),
        Some(Err(e)) => println!("exchanges vector-searchable: {e}"),
        None => {}
    }
    if !latencies.transit.is_empty() {
        let mean_ms =
            latencies.transit.iter().sum::<Duration>().as_secs_f64() * 1000.0 / latencies.transit.len() as f64;
        println!("per-chunk overhead mean: {mean_ms:.3} ms");
    }
    println!("chunks/s: {:.0}", chunks as f64 / wall.as_secs_f64());
    println!("idle RSS MB{summed}: {}", mb(idle_rss));
    println!(
        "peak RSS MB{summed}: {} (sampled every 100 ms)",
        mb(Some(peak_rss.load(Ordering::Relaxed)))
    );
    println!("peak RSS MB (VmHWM){summed}: {}", mb(hwm));
    println!("wall time s: {:.2}", wall.as_secs_f64());
    if let Some(cpu) = server_cpu {
        let per_chunk_us = cpu * 1e6 / chunks.max(1) as f64;
        println!("server CPU s{summed}: {cpu:.2} (whole run incl. start; {per_chunk_us:.0} µs per chunk)");
    }
    // Give streams the server should have closed a moment to go away before counting them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!(
        "fake LLM: {} chat requests, {} still open",
        llm.requests().len(),
        llm.chat_requests_in_flight()
    );

    let mut failed = !total.errors.is_empty() || matches!(embedded, Some(Err(_)));
    for n in dead {
        failed = true;
        eprintln!(
            "server {n} died during the run; its last output:\n{}",
            servers[n].log_tail(30)
        );
    }
    if !total.errors.is_empty() {
        eprintln!("first errors:");
        for error in total.errors.iter().take(10) {
            eprintln!("  {error}");
        }
    }
    drop(servers);
    drop(temp);
    drop(llm);
    i32::from(failed)
}
