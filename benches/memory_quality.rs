//! Memory quality benchmark: evidence retrieval on LoCoMo (Maharana et al., ACL 2024), through the real server.
//!
//! Each LoCoMo conversation (a JSON file of the folder given, by default `../shared/data/locomo-dev`; its README
//! holds the format and the license: evaluation only, never shipped) becomes a fresh persona whose memories are
//! its turns, one `memory.store` each, awaited one at a time over one WebSocket: `[session date] Speaker: text`,
//! a shared photo's caption appended. Then every question of categories 1–4 (multi-hop, temporal, open-domain,
//! single-hop; 5 has no answer in the talk) is asked with `memory.search {persona_id, query, n_results: 10}`, and
//! the turns labelled as its evidence are looked for among the hits:
//! - recall@k: the share of a question's evidence turns among the first k hits, averaged over questions;
//! - hit@10: the share of questions with at least one evidence turn among the 10 hits;
//! - recall@10 by category; `memory.search` latency p50/p99; stores per second.
//!
//! The results are printed as a table, then as one JSON line (`memory_quality: {...}`). Without the data folder
//! the benchmark says so and exits 0.
//!
//! ```text
//! cargo bench --bench memory_quality -- [--data DIR] [--conversations 26,30,41] [--env KEY=VALUE]...
//!                                       [--questions-out FILE] [--server-log FILE]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::stats::percentile_ms;
use common::ws::{call, connect, Ws};
use persona_test_support::process::ServerProcess;
use serde_json::{json, Value};

/// Where `make model` puts all-MiniLM-L6-v2.
const MODEL_DIR: &str = "data/models/all-MiniLM-L6-v2";
/// The LoCoMo conversations looked for by default, relative to the crate.
const DEFAULT_DATA: &str = "../shared/data/locomo-dev";
/// Hits asked for per question.
const N_RESULTS: usize = 10;
/// The question categories measured, with their names (LoCoMo's numbering).
const CATEGORIES: [(u64, &str); 4] = [(1, "multi-hop"), (2, "temporal"), (3, "open-domain"), (4, "single-hop")];

/// The memory quality benchmark's options.
#[derive(clap::Parser)]
#[command(about = "Memory quality: LoCoMo evidence recall through memory.store and memory.search")]
struct Args {
    /// The folder of LoCoMo conversations (one JSON file each).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Only these conversations (file names without `.json`, comma-separated); default: every file.
    #[arg(long, value_delimiter = ',')]
    conversations: Vec<String>,
    /// A server setting (`PERSONA_MCP__…=value`), to compare configurations; repeatable.
    #[arg(long = "env", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Writes one JSON line per question (its evidence, the ranks they were found at) to this file.
    #[arg(long)]
    questions_out: Option<PathBuf>,
    /// Copies the server's log here at the end (with `--env PERSONA_MCP__LOGGING__LEVEL=…` to see its timings).
    #[arg(long)]
    server_log: Option<PathBuf>,
    #[command(flatten)]
    cargo: common::CargoBench,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(&args)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// One LoCoMo conversation: its turns as memories, its questions.
struct Conversation {
    name: String,
    /// `(dia_id, content)` in the order spoken.
    turns: Vec<(String, String)>,
    questions: Vec<Question>,
}

/// A question of categories 1–4 with the turns that answer it.
struct Question {
    text: String,
    category: u64,
    /// `dia_id`s of the evidence turns the conversation holds.
    evidence: Vec<String>,
}

/// A question's outcome: the ranks (from 0) at which its evidence turns came back.
struct Outcome {
    category: u64,
    evidence: usize,
    ranks: Vec<usize>,
}

impl Outcome {
    fn recall(&self, k: usize) -> f64 {
        self.ranks.iter().filter(|r| **r < k).count() as f64 / self.evidence as f64
    }
}

/// Reads one conversation file: every turn (a photo's caption appended), every answerable question.
fn load(path: &Path) -> Result<Conversation, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let mut sessions: Vec<(u64, &Vec<Value>)> = doc
        .as_object()
        .ok_or_else(|| format!("{name}: not a JSON object"))?
        .iter()
        .filter_map(|(key, value)| {
            let n = key.strip_prefix("session_")?.parse().ok()?;
            Some((n, value.as_array()?))
        })
        .collect();
    sessions.sort_by_key(|(n, _)| *n);
    let mut turns = Vec::new();
    for (n, session) in sessions {
        let date = doc[format!("session_{n}_date_time")].as_str().unwrap_or_default();
        for turn in session {
            let (Some(id), Some(speaker), Some(said)) =
                (turn["dia_id"].as_str(), turn["speaker"].as_str(), turn["text"].as_str())
            else {
                continue;
            };
            let mut content = format!("[{date}] {speaker}: {said}");
            if let Some(caption) = turn["blip_caption"].as_str() {
                content.push_str(&format!(" [shares {caption}]"));
            }
            turns.push((id.to_string(), content));
        }
    }
    let known: std::collections::HashSet<&str> = turns.iter().map(|(id, _)| id.as_str()).collect();
    let questions = doc["qa"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|qa| {
            let category = qa["category"].as_u64().filter(|c| (1..=4).contains(c))?;
            // Some evidence entries hold several ids ("D8:6; D9:17").
            let mut evidence: Vec<String> = qa["evidence"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .flat_map(|e| e.split(';').map(str::trim))
                .filter(|id| known.contains(id))
                .map(str::to_string)
                .collect();
            evidence.sort();
            evidence.dedup();
            (!evidence.is_empty()).then(|| Question {
                text: qa["question"].as_str().unwrap_or_default().to_string(),
                category,
                evidence,
            })
        })
        .collect();
    Ok(Conversation { name, turns, questions })
}

/// The conversations asked for, sorted by name.
fn conversations(dir: &Path, only: &[String]) -> Result<Vec<Conversation>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            only.is_empty()
                || p.file_stem()
                    .is_some_and(|s| only.iter().any(|o| s.to_string_lossy() == *o))
        })
        .collect();
    paths.sort();
    if paths.len() < only.len().max(1) {
        return Err(format!(
            "{} holds {} of the conversations asked for",
            dir.display(),
            paths.len()
        ));
    }
    paths.iter().map(|p| load(p)).collect()
}

/// What one conversation measured.
#[derive(Default)]
struct Measured {
    outcomes: Vec<Outcome>,
    search: Vec<Duration>,
    stored: usize,
    storing: Duration,
}

async fn run(args: &Args) -> Result<(), String> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = args.data.clone().unwrap_or_else(|| crate_dir.join(DEFAULT_DATA));
    if !data.is_dir() {
        println!(
            "memory_quality: skipped ({} is absent: see issue 29 for LoCoMo)",
            data.display()
        );
        return Ok(());
    }
    let conversations = conversations(&data, &args.conversations)?;
    let temp = common::temp_dir("memory-quality")?;
    let mut settings = vec![
        ("PERSONA_MCP__EMBEDDER__PROVIDER", "minilm".to_string()),
        (
            "PERSONA_MCP__EMBEDDER__MODEL_DIR",
            crate_dir.join(MODEL_DIR).display().to_string(),
        ),
    ];
    settings.extend(args.env.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let bin = Path::new(env!("CARGO_BIN_EXE_persona-mcp"));
    let mut server = ServerProcess::spawn(bin, temp.path(), &settings)?;
    server.wait_healthy().await?;
    let mut ws = connect(server.port).await?;
    let mut out = match &args.questions_out {
        Some(path) => Some(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let mut all = Measured::default();
    let mut next_id = 0u64;
    for conversation in &conversations {
        let measured = measure(&mut ws, &mut next_id, conversation, out.as_mut())
            .await
            .map_err(|e| {
                format!(
                    "conversation {}: {e}; server log:\n{}",
                    conversation.name,
                    server.log_tail(20)
                )
            })?;
        println!(
            "conversation {}: {} turns, {} questions, recall@10 {:.3}",
            conversation.name,
            measured.stored,
            measured.outcomes.len(),
            mean(&measured.outcomes, |o| o.recall(10))
        );
        all.outcomes.extend(measured.outcomes);
        all.search.extend(measured.search);
        all.stored += measured.stored;
        all.storing += measured.storing;
    }
    let names: Vec<&str> = conversations.iter().map(|c| c.name.as_str()).collect();
    report(&names, &mut all);
    if let Some(path) = &args.server_log {
        std::fs::copy(temp.path().join("server.log"), path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Stores one conversation as a fresh persona's memories and asks its questions.
async fn measure(
    ws: &mut Ws,
    next_id: &mut u64,
    conversation: &Conversation,
    mut out: Option<&mut std::fs::File>,
) -> Result<Measured, String> {
    let mut id = || {
        *next_id += 1;
        *next_id
    };
    let name = format!("locomo-{}-{}", conversation.name, uuid::Uuid::new_v4().simple());
    let created = call(ws, id(), "persona.create", json!({"name": name})).await?;
    let persona = created["persona_id"]
        .as_str()
        .ok_or("persona.create: no persona_id")?
        .to_string();
    let mut measured = Measured::default();
    let mut turn_of: HashMap<String, String> = HashMap::new();
    let started = Instant::now();
    for (dia_id, content) in &conversation.turns {
        let params = json!({"persona_id": persona, "content": content, "importance": 0.5});
        let stored = call(ws, id(), "memory.store", params).await?;
        let memory = stored["memory_id"].as_str().ok_or("memory.store: no memory_id")?;
        turn_of.insert(memory.to_string(), dia_id.clone());
    }
    measured.storing = started.elapsed();
    measured.stored = conversation.turns.len();
    for question in &conversation.questions {
        let params = json!({"persona_id": persona, "query": question.text, "n_results": N_RESULTS});
        let started = Instant::now();
        let found = call(ws, id(), "memory.search", params).await?;
        measured.search.push(started.elapsed());
        let hits: Vec<&str> = found["memories"]
            .as_array()
            .ok_or("memory.search: no memories")?
            .iter()
            .filter_map(|m| turn_of.get(m["id"].as_str()?).map(String::as_str))
            .collect();
        let ranks: Vec<usize> = hits
            .iter()
            .enumerate()
            .filter(|(_, hit)| question.evidence.iter().any(|e| e == *hit))
            .map(|(rank, _)| rank)
            .collect();
        if let Some(file) = out.as_deref_mut() {
            let line = json!({
                "conversation": conversation.name,
                "category": question.category,
                "question": question.text,
                "evidence": question.evidence,
                "hits": hits,
                "ranks": ranks,
            });
            writeln!(file, "{line}").map_err(|e| format!("questions-out: {e}"))?;
        }
        measured.outcomes.push(Outcome {
            category: question.category,
            evidence: question.evidence.len(),
            ranks,
        });
    }
    let _ = call(ws, id(), "persona.delete", json!({"persona_id": persona})).await;
    Ok(measured)
}

fn mean<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>, f: impl Fn(&Outcome) -> f64) -> f64 {
    let (sum, n) = outcomes.into_iter().fold((0.0, 0usize), |(s, n), o| (s + f(o), n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Prints the table and the JSON line.
fn report(conversations: &[&str], all: &mut Measured) {
    all.search.sort();
    let outcomes = &all.outcomes;
    let recall_5 = mean(outcomes, |o| o.recall(5));
    let recall_10 = mean(outcomes, |o| o.recall(10));
    let hit_10 = mean(outcomes, |o| f64::from(u8::from(o.ranks.iter().any(|r| *r < 10))));
    let by_category: BTreeMap<&str, (usize, f64)> = CATEGORIES
        .iter()
        .map(|(c, name)| {
            let of = outcomes.iter().filter(|o| o.category == *c);
            (*name, (of.clone().count(), mean(of, |o| o.recall(10))))
        })
        .collect();
    let p50 = percentile_ms(&all.search, 0.5).unwrap_or(0.0);
    let p99 = percentile_ms(&all.search, 0.99).unwrap_or(0.0);
    let per_second = all.stored as f64 / all.storing.as_secs_f64().max(1e-9);
    println!();
    println!(
        "| LoCoMo conversations {} ({} questions) | |",
        conversations.join(", "),
        outcomes.len()
    );
    println!("|---|---|");
    println!("| recall@5 / recall@10 | {recall_5:.3} / {recall_10:.3} |");
    println!("| hit@10 | {hit_10:.3} |");
    for (c, name) in CATEGORIES {
        let (n, recall) = by_category[name];
        println!("| recall@10, {c} {name} ({n} questions) | {recall:.3} |");
    }
    println!("| memory.search p50 / p99 | {p50:.1} / {p99:.1} ms |");
    println!(
        "| memory.store, awaited one at a time | {per_second:.0}/s ({} in {:.1} s) |",
        all.stored,
        all.storing.as_secs_f64()
    );
    let line = json!({
        "conversations": conversations,
        "questions": outcomes.len(),
        "recall_at_5": round(recall_5),
        "recall_at_10": round(recall_10),
        "hit_at_10": round(hit_10),
        "recall_at_10_by_category": by_category
            .iter()
            .map(|(name, (_, recall))| (name.to_string(), json!(round(*recall))))
            .collect::<serde_json::Map<_, _>>(),
        "search_ms_p50": round(p50),
        "search_ms_p99": round(p99),
        "stores_per_second": round(per_second),
        "stored": all.stored,
    });
    println!("memory_quality: {line}");
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
