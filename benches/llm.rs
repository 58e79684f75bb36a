//! The embedded chat model (SmolLM2-135M-Instruct), measured on this machine:
//! - in-process: load time and the process's RSS growth, prompt tokens/s over Aria's real first-turn prompt,
//!   decode tokens/s for one stream;
//! - through the server binary (`persona-mcp serve`, `llm.provider = "embedded"`, default settings otherwise):
//!   time to the first chunk of a streamed chat with Aria on a first and a follow-up turn, decode rate seen by
//!   the client, aggregate tokens/s with 4 concurrent chats, and the server's RSS with the model loaded;
//! - identity: 20 questions about who the persona is ("Who are you?", "What's your name?"…), each asked of Aria
//!   and of Kira on a fresh connection of a server of their own, and the share of replies that name the persona
//!   and no other name (the rule is in `common/identity.rs`); the failing replies are printed.
//!
//! ```text
//! make bench-llm    (cargo bench --bench llm)
//! cargo bench --bench llm -- --identity-only --identity-rounds 5
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::identity;
use common::proc_status_kb;
use common::ws::{call, call_within, connect, next_json, send_json, Ws};
use persona_mcp::domain::prompt::{self, PromptInput};
use persona_mcp::domain::seeds;
use persona_mcp::domain::templates::PromptTemplates;
use persona_mcp::llm::embedded::model::{KvCache, Model};
use persona_mcp::llm::embedded::{chatml, tokenizer};
use persona_test_support::process::ServerProcess;
use serde_json::json;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
);
const GREETING: &str = "Hello Aria! How are you today?";
/// Tokens per streamed reply.
const BUDGET: u32 = 64;
/// Decode steps timed in-process.
const DECODE_STEPS: usize = 64;
/// The identity questions.
const IDENTITY_QUESTIONS: [&str; 20] = [
    "Who are you?",
    "What's your name?",
    "Introduce yourself.",
    "Tell me about yourself.",
    "What should I call you?",
    "Hi! Who am I talking to?",
    "What is your name, please?",
    "Could you introduce yourself?",
    "Who are you, exactly?",
    "Hello there, what's your name?",
    "May I ask your name?",
    "Tell me who you are.",
    "Describe yourself in a few words.",
    "Are you a person? Who are you?",
    "What do people call you?",
    "I don't think we've met. Who are you?",
    "Say your name and what you do.",
    "Hey, who is this?",
    "Nice to meet you! And you are...?",
    "What are you called?",
];
/// Tokens per identity reply: room for the two or three sentences the embedded model is asked for.
const IDENTITY_BUDGET: u32 = 128;
/// The share of identity replies the check asks for.
const IDENTITY_TARGET: f64 = 0.9;

/// The benchmark's options.
#[derive(clap::Parser)]
#[command(about = "The embedded chat model: speed, memory and whether personas keep their names")]
struct Args {
    /// Run the identity check only.
    #[arg(long)]
    identity_only: bool,
    /// Times each identity question is asked of each persona.
    #[arg(long, default_value_t = 1)]
    identity_rounds: usize,
    /// The server binary (default: the one cargo built), e.g. an older build to compare with.
    #[arg(long, default_value = env!("CARGO_BIN_EXE_persona-mcp"))]
    server_bin: PathBuf,
    #[command(flatten)]
    cargo: common::CargoBench,
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = match runtime.block_on(run(&args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench-llm failed: {e}");
            1
        }
    };
    drop(runtime);
    std::process::exit(code);
}

async fn run(args: &Args) -> Result<(), String> {
    if !Path::new(MODEL).exists() {
        return Err(format!("{MODEL} is missing: run `make model`"));
    }
    if !args.identity_only {
        in_process()?;
        through_the_server(&args.server_bin).await?;
    }
    identity_check(&args.server_bin, args.identity_rounds).await
}

/// Aria's first-turn messages, as the server builds them (no memories yet).
fn aria_prompt() -> Result<String, String> {
    let (persona, state) = seeds::defaults()
        .into_iter()
        .find(|(p, _)| p.name == "Aria")
        .ok_or("no seeded Aria")?;
    let messages = prompt::build(&PromptInput {
        persona: &persona,
        state: &state,
        emotions: None,
        sections: &[],
        summary: None,
        history: &[],
        user_message: GREETING,
        thread: None,
        templates: &PromptTemplates::builtin(),
    });
    Ok(chatml(&messages))
}

fn in_process() -> Result<(), String> {
    let rss_before = proc_status_kb(std::process::id(), "VmRSS").unwrap_or(0);
    let started = Instant::now();
    let model = Model::load(Path::new(MODEL)).map_err(|e| e.to_string())?;
    let mut file = std::fs::File::open(MODEL).map_err(|e| e.to_string())?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file).map_err(|e| e.to_string())?;
    let tokenizer = tokenizer::from_gguf(&content)?;
    let load = started.elapsed();
    let rss_after = proc_status_kb(std::process::id(), "VmRSS").unwrap_or(0);
    println!("load time: {} ms", load.as_millis());
    println!(
        "RSS growth with the model loaded: {} MB",
        (rss_after.saturating_sub(rss_before)) / 1024
    );

    let prompt = tokenizer
        .encode(aria_prompt()?, false)
        .map_err(|e| e.to_string())?
        .get_ids()
        .to_vec();
    let mut cache = KvCache::default();
    let started = Instant::now();
    let mut logits = model.forward(&prompt, &mut cache).map_err(|e| e.to_string())?;
    let prefill = started.elapsed();
    println!(
        "prompt: {} tokens in {} ms = {:.0} tokens/s",
        prompt.len(),
        prefill.as_millis(),
        prompt.len() as f64 / prefill.as_secs_f64()
    );
    let started = Instant::now();
    for _ in 0..DECODE_STEPS {
        let next = logits
            .argmax(0)
            .and_then(|t| t.to_scalar::<u32>())
            .map_err(|e| e.to_string())?;
        logits = model.forward(&[next], &mut cache).map_err(|e| e.to_string())?;
    }
    println!(
        "decode, one stream: {:.1} tokens/s ({DECODE_STEPS} tokens)",
        DECODE_STEPS as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One streamed chat: time to the first chunk, time from it to the end, tokens used.
struct Streamed {
    first_chunk: Duration,
    rest: Duration,
    tokens: u64,
}

async fn stream(ws: &mut Ws, id: u64, message: &str) -> Result<Streamed, String> {
    let frame = json!({"jsonrpc": "2.0", "id": id, "method": "persona.chat_stream",
        "params": {"message": message, "token_budget": BUDGET}});
    let sent = Instant::now();
    send_json(ws, frame).await?;
    let mut first = None;
    loop {
        let f = next_json(ws).await?;
        if f["id"] != id {
            continue;
        }
        match f["result"]["event_type"].as_str() {
            Some("stream_chunk") if first.is_none() => first = Some(sent.elapsed()),
            Some("stream_complete") => {
                let first_chunk = first.ok_or("no chunk")?;
                return Ok(Streamed {
                    first_chunk,
                    rest: sent.elapsed() - first_chunk,
                    tokens: f["result"]["tokens_used"].as_u64().unwrap_or(0),
                });
            }
            Some("stream_error" | "stream_cancelled") => return Err(format!("stream ended: {f}")),
            _ => {}
        }
    }
}

/// The settings of a server chatting with the embedded model (defaults otherwise).
fn embedded_settings() -> Vec<(&'static str, String)> {
    vec![
        ("PERSONA_MCP__LLM__PROVIDER", "embedded".to_string()),
        ("PERSONA_MCP__LLM__EMBEDDED_MODEL", MODEL.to_string()),
        (
            "PERSONA_MCP__EMBEDDER__MODEL_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/models/all-MiniLM-L6-v2").to_string(),
        ),
    ]
}

async fn through_the_server(bin: &Path) -> Result<(), String> {
    let temp = common::temp_dir("llm")?;
    let mut server = ServerProcess::spawn(bin, temp.path(), &embedded_settings())?;
    server.wait_healthy().await?;
    let mut ws = connect(server.port).await?;
    let started = Instant::now();
    call(&mut ws, 1, "system.models", json!({})).await?;
    println!("server: model ready {} ms after healthy", started.elapsed().as_millis());
    call(&mut ws, 2, "persona.switch", json!({"persona_id": "Aria"})).await?;
    let first = stream(&mut ws, 3, GREETING).await?;
    let follow = stream(&mut ws, 4, "That sounds lovely. What song would you sing for me?").await?;
    for (name, s) in [("first turn", &first), ("follow-up turn", &follow)] {
        println!(
            "{name}: time to first chunk {} ms, then {} tokens at {:.1} tokens/s",
            s.first_chunk.as_millis(),
            s.tokens,
            s.tokens.saturating_sub(1) as f64 / s.rest.as_secs_f64().max(1e-9)
        );
    }

    let started = Instant::now();
    let chats = (0..4u64).map(|i| {
        let port = server.port;
        async move {
            let mut ws = connect(port).await?;
            call(&mut ws, 1, "persona.switch", json!({"persona_id": "Aria"})).await?;
            stream(&mut ws, 2, &format!("Tell me about place number {i} you have visited.")).await
        }
    });
    let results = futures_util::future::join_all(chats).await;
    let wall = started.elapsed();
    let mut tokens = 0;
    for r in results {
        tokens += r?.tokens;
    }
    println!(
        "4 concurrent chats: {tokens} tokens in {} ms = {:.1} tokens/s aggregate",
        wall.as_millis(),
        tokens as f64 / wall.as_secs_f64()
    );
    let pid = server.pid();
    println!(
        "server RSS with the model loaded: {} MB (peak {} MB)",
        proc_status_kb(pid, "VmRSS").unwrap_or(0) / 1024,
        proc_status_kb(pid, "VmHWM").unwrap_or(0) / 1024
    );
    Ok(())
}

/// Each identity question asked `rounds` times of Aria and of Kira, each on a fresh connection (so no earlier
/// reply is in the history) of a server that recalls no memories into the prompt and gives the personas their
/// energy back every second (so no earlier reply is recalled and no one gets tired: every question is a first
/// meeting). Prints the share of replies that keep their persona's identity and the ones that do not.
async fn identity_check(bin: &Path, rounds: usize) -> Result<(), String> {
    let temp = common::temp_dir("llm-identity")?;
    let mut settings = embedded_settings();
    settings.extend([
        ("PERSONA_MCP__MEMORY__PROMPT_MEMORIES", "0".to_string()),
        ("PERSONA_MCP__PERSONA__REGEN_TICK_SECS", "1".to_string()),
        ("PERSONA_MCP__PERSONA__ENERGY_PER_TICK", "1000".to_string()),
    ]);
    let mut server = ServerProcess::spawn(bin, temp.path(), &settings)?;
    server.wait_healthy().await?;
    let seeds = seeds::defaults();
    let known: Vec<&str> = seeds.iter().map(|(p, _)| p.name.as_str()).collect();
    let (mut kept, mut asked) = (0usize, 0usize);
    let started = Instant::now();
    for (persona, _) in &seeds {
        let allowed = identity::persona_allowed(persona, &known);
        let mut persona_kept = 0;
        for round in 0..rounds {
            for question in IDENTITY_QUESTIONS {
                let mut ws = connect(server.port).await?;
                call(&mut ws, 1, "persona.switch", json!({"persona_id": persona.name})).await?;
                let params = json!({"message": question, "token_budget": IDENTITY_BUDGET});
                let reply = call_within(&mut ws, 2, "persona.chat", params, Duration::from_secs(120)).await?;
                let text = reply["response"].as_str().ok_or("a reply without text")?;
                asked += 1;
                if identity::keeps_identity(text, &persona.name, &allowed) {
                    kept += 1;
                    persona_kept += 1;
                } else {
                    let names = identity::name_like(text, &allowed);
                    println!(
                        "identity miss ({}, round {}): {question:?} -> {text:?} (name-like: {names:?})",
                        persona.name,
                        round + 1
                    );
                }
            }
        }
        println!(
            "identity, {}: {persona_kept} of {} replies name {} and no other name",
            persona.name,
            rounds * IDENTITY_QUESTIONS.len(),
            persona.name
        );
    }
    let rate = kept as f64 / asked.max(1) as f64;
    println!(
        "identity: {kept} of {asked} replies ({:.0} %) keep the persona's name (target >= {:.0} %, {}), {} s",
        rate * 100.0,
        IDENTITY_TARGET * 100.0,
        if rate >= IDENTITY_TARGET { "met" } else { "MISSED" },
        started.elapsed().as_secs()
    );
    Ok(())
}
