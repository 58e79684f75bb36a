//! Memory benchmark: embedding throughput, vector search latency and recall, and end-to-end store/search
//! throughput through the real server binary.
//!
//! 1. Embedding: all-MiniLM-L6-v2 in-process on 256 generated sentences, one call per sentence and in
//!    batches of 32 and 64 → memories/s; once per `embedder.precision` (int8, the default, then f32).
//! 2. Vector search: synthetic unit vectors (dim 384) in one persona's [`VectorStore`] at 10k and 100k;
//!    query latency p50/p99 and recall@10 against an exact brute-force cosine top-10 on the same vectors.
//! 3. End to end: `persona-mcp serve` on a free port with a fresh data dir, driven over WebSocket by
//!    concurrent pipelined `memory.store` calls (memories/s, errors), then sequential `memory.search` calls
//!    (p50/p99). Skipped, not failed, while the server lacks `memory.store`.
//! 4. Recall at scale ([`recall`]): a chat turn's recall over 10k memories of one persona, whole and by halves.
//!
//! Every result is one plain `name: value unit` line. Exits non-zero only when something really failed.
//!
//! ```text
//! cargo bench --bench memory -- [--quick] [--skip-server] [--recall-only --recall-memories 10000]
//! ```

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
mod common;
#[path = "memory/recall.rs"]
mod recall;

use common::stats::percentile;
use common::ws::{call_frame, connect_url, describe_error, next_json, FRAME_TIMEOUT};
use persona_mcp::config::EmbedderPrecision;
use persona_mcp::embed::minilm::MiniLmEmbedder;
use persona_mcp::embed::Embedder;
use persona_mcp::storage::vectors::VectorStore;
use persona_test_support::process::ServerProcess;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Where `make model` puts all-MiniLM-L6-v2.
const MODEL_DIR: &str = "data/models/all-MiniLM-L6-v2";
/// all-MiniLM-L6-v2's vector length, also used for the synthetic vectors.
const DIM: usize = 384;
/// Neighbours compared for recall.
const K: usize = 10;
/// Short queries embedded one at a time in section 1.
const QUERY_CALLS: usize = 200;
/// Sentences embedded in section 1.
const EMBED_SENTENCES: usize = 256;
/// Memories stored in section 3, over this many connections with this many requests in flight on each.
const STORE_TOTAL: usize = 1_000;
const STORE_CONNECTIONS: usize = 16;
const STORE_IN_FLIGHT: usize = 8;
/// `memory.search` calls in section 3.
const SEARCH_CALLS: usize = 200;
/// How long one response may take before the client gives up.
/// JSON-RPC "Method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// The memory benchmark's options.
#[derive(clap::Parser)]
#[command(about = "Memory benchmark: embedding, vector search, recall at scale, store/search end to end")]
struct Args {
    /// Vector search at 10k only, with fewer queries.
    #[arg(long)]
    quick: bool,
    /// Leave out the end-to-end section (no server is started).
    #[arg(long)]
    skip_server: bool,
    /// The embedding section alone.
    #[arg(long)]
    embed_only: bool,
    /// The recall section alone.
    #[arg(long)]
    recall_only: bool,
    /// Memories of the one persona the recall section recalls from.
    #[arg(long, default_value_t = 10_000)]
    recall_memories: usize,
    /// Recalls timed in the recall section.
    #[arg(long, default_value_t = 200)]
    recalls: usize,
    #[command(flatten)]
    cargo: common::CargoBench,
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: cannot raise the open-file limit: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let failures = runtime.block_on(run(&args));
    drop(runtime);
    if failures.is_empty() {
        return;
    }
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    std::process::exit(1);
}

/// Runs every section; returns what really failed (skips are not failures).
async fn run(args: &Args) -> Vec<String> {
    let mut failures = Vec::new();
    println!("load_average_at_start: {}", load_average());
    let model_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(MODEL_DIR);
    println!(
        "persona-mcp memory benchmark: quick={} skip_server={} cores={}",
        args.quick,
        args.skip_server,
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    if args.recall_only {
        if let Err(e) = recall::recall(&model_dir, args.recall_memories, args.recalls).await {
            failures.push(format!("recall: {e}"));
        }
        return failures;
    }
    if let Err(e) = embedding(&model_dir).await {
        failures.push(format!("embedding: {e}"));
    }
    if args.embed_only {
        return failures;
    }
    let (sizes, queries): (&[usize], usize) = if args.quick {
        (&[10_000], 300)
    } else {
        (&[10_000, 100_000], 1_000)
    };
    if let Err(e) = vector_search(sizes, queries) {
        failures.push(format!("vector search: {e}"));
    }
    if args.skip_server {
        println!("end_to_end: skipped (--skip-server)");
    } else if let Err(e) = end_to_end(&model_dir).await {
        failures.push(format!("end to end: {e}"));
    }
    if let Err(e) = recall::recall(&model_dir, args.recall_memories, args.recalls).await {
        failures.push(format!("recall: {e}"));
    }
    println!("load_average_at_end: {}", load_average());
    failures
}

/// The 1-minute load average: on a 2-core machine, much above the benchmark's own load means the
/// numbers were shared with other work.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "n/a".to_string())
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

/// Distinct, varied sentences (8 to 40-odd words), the same on every run.
fn sentences(n: usize) -> Vec<String> {
    const SUBJECTS: [&str; 16] = [
        "Aria",
        "The old lighthouse keeper",
        "My younger sister",
        "A tired engineer from the night shift",
        "The planning committee",
        "Our neighbour's ginger cat",
        "Bram",
        "The nurse on the third floor",
        "A street musician near the station",
        "Grandfather",
        "The new intern",
        "Someone in the book club",
        "The baker on Elm Street",
        "My oldest friend from school",
        "A stranger on the ferry",
        "The team lead",
    ];
    const VERBS: [&str; 16] = [
        "remembered a song about",
        "argued for an hour about",
        "quietly admitted being afraid of",
        "wrote a long letter describing",
        "laughed at",
        "could not stop talking about",
        "asked me for advice on",
        "made a small painting of",
        "kept a notebook full of ideas about",
        "was surprisingly upset by",
        "told a funny story about",
        "spent the whole weekend reading about",
        "promised to teach me about",
        "changed their mind about",
        "dreamt vividly of",
        "complained to everyone about",
    ];
    const OBJECTS: [&str; 16] = [
        "the storm that flooded the harbour",
        "compiler errors in a borrowed laptop",
        "a recipe for lemon cake with too much sugar",
        "the price of train tickets",
        "whales migrating past the northern islands",
        "an unfinished novel",
        "the quiet garden behind the library",
        "chess openings",
        "a broken bicycle chain",
        "the history of the old mill",
        "learning Japanese at forty",
        "the smell of rain on hot asphalt",
        "a missing set of keys",
        "the stars visible from the mountain hut",
        "their first job interview",
        "a jazz concert in a tiny basement club",
    ];
    const TAILS: [&str; 8] = [
        ".",
        " last Tuesday.",
        " while waiting for the train to Lyon, which was late again because of the snow.",
        " and then went back to work as if nothing had happened.",
        " during dinner.",
        ", which nobody expected, least of all the people who had known them for years and thought they \
         understood them well.",
        " this morning.",
        " over a cup of tea that had long gone cold.",
    ];
    (0..n)
        .map(|i| {
            // 2897 is odd, so `i * 2897 mod 4096` visits every (subject, verb, object) triple once.
            let j = (i * 2897) % 4096;
            let round = i / 4096;
            let suffix = if round == 0 {
                String::new()
            } else {
                format!(" (take {round})")
            };
            format!(
                "{} {} {}{}{suffix}",
                SUBJECTS[j % 16],
                VERBS[(j / 16) % 16],
                OBJECTS[j / 256],
                TAILS[i % 8]
            )
        })
        .collect()
}

/// splitmix64: small, fast, deterministic; enough for synthetic vectors.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Standard normal (Box–Muller).
    fn gaussian(&mut self) -> f32 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// Uniform on the unit sphere.
    fn unit_vector(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM).map(|_| self.gaussian()).collect();
        normalize(&mut v);
        v
    }
}

fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
}

// ---------------------------------------------------------------------------------------------------------
// Timing helpers

/// Prints `<name>_p50` and `<name>_p99` in µs (`micros`) or ms.
fn print_latency(name: &str, samples: &mut [Duration], micros: bool) {
    samples.sort();
    for (label, q) in [("p50", 0.50), ("p99", 0.99)] {
        let Some(value) = percentile(samples, q) else {
            println!("{name}: n/a (no samples)");
            return;
        };
        if micros {
            println!("{name}_{label}: {:.1} µs", value.as_secs_f64() * 1e6);
        } else {
            println!("{name}_{label}: {:.2} ms", value.as_secs_f64() * 1e3);
        }
    }
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

// ---------------------------------------------------------------------------------------------------------
// 1. Embedding

async fn embedding(model_dir: &Path) -> Result<(), String> {
    for precision in [EmbedderPrecision::Int8, EmbedderPrecision::F32] {
        println!("embed_precision: {precision}");
        if precision == EmbedderPrecision::Int8 {
            println!("embed_int8_kernel: {}", quant_kernels::int8::Kernel::best().name());
        }
        embedding_in(model_dir, precision).await?;
    }
    Ok(())
}

async fn embedding_in(model_dir: &Path, precision: EmbedderPrecision) -> Result<(), String> {
    let started = Instant::now();
    let model = MiniLmEmbedder::load(model_dir, precision).map_err(|e| e.to_string())?;
    println!("embed_model_load: {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
    if model.dimension() != DIM {
        return Err(format!(
            "the model gives {} dimensions, expected {DIM}",
            model.dimension()
        ));
    }
    let texts = sentences(EMBED_SENTENCES);
    let tokens = count_tokens(model_dir, &texts)?;
    println!(
        "embed_input: {} sentences, {:.1} tokens each on average",
        texts.len(),
        tokens as f64 / texts.len() as f64
    );
    // Warm-up: the first passes allocate and fault in the weights.
    model.embed(&texts[..8]).await.map_err(|e| e.to_string())?;

    let started = Instant::now();
    for text in &texts {
        let vectors = model
            .embed(std::slice::from_ref(text))
            .await
            .map_err(|e| e.to_string())?;
        check_vectors(&vectors, 1)?;
    }
    let elapsed = started.elapsed();
    println!(
        "embed_single: {:.1} memories/s ({:.0} tokens/s)",
        per_second(texts.len(), elapsed),
        per_second(tokens, elapsed)
    );

    // One short search query at a time, as a chat turn's recall asks for it (distinct texts: no cache helps).
    let mut query_times = Vec::with_capacity(QUERY_CALLS);
    for i in 0..QUERY_CALLS {
        let query = format!("what did we say about the harvest festival, {i}?");
        let started = Instant::now();
        let vector = model.embed_query(&query).await.map_err(|e| e.to_string())?;
        query_times.push(started.elapsed());
        check_vectors(std::slice::from_ref(&vector), 1)?;
    }
    print_latency("embed_query_10_tokens", &mut query_times, true);

    for batch in [32, 64] {
        let started = Instant::now();
        for chunk in texts.chunks(batch) {
            let vectors = model.embed(chunk).await.map_err(|e| e.to_string())?;
            check_vectors(&vectors, chunk.len())?;
        }
        let elapsed = started.elapsed();
        println!(
            "embed_batch{batch}: {:.1} memories/s ({:.0} tokens/s)",
            per_second(texts.len(), elapsed),
            per_second(tokens, elapsed)
        );
    }
    Ok(())
}

/// Tokens the model sees for `texts`, [CLS] and [SEP] included.
fn count_tokens(model_dir: &Path, texts: &[String]) -> Result<usize, String> {
    let tokenizer = tokenizers::Tokenizer::from_file(model_dir.join("tokenizer.json")).map_err(|e| e.to_string())?;
    texts.iter().try_fold(0, |sum, text| {
        let encoding = tokenizer.encode(text.as_str(), true).map_err(|e| e.to_string())?;
        Ok(sum + encoding.get_attention_mask().iter().filter(|&&m| m == 1).count())
    })
}

fn check_vectors(vectors: &[Vec<f32>], expected: usize) -> Result<(), String> {
    if vectors.len() != expected || vectors.iter().any(|v| v.len() != DIM) {
        return Err(format!(
            "expected {expected} vectors of {DIM}, got {} (lengths {:?})",
            vectors.len(),
            vectors.iter().map(Vec::len).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// 2. Vector search

/// The benchmark's vectors, row after row (`DIM` floats each); row `i` is stored under key `i`.
struct Corpus {
    rows: Vec<f32>,
}

impl Corpus {
    fn len(&self) -> usize {
        self.rows.len() / DIM
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * DIM..(i + 1) * DIM]
    }
}

/// Latent dimensions of the embedding-like synthetic vectors.
const LATENT: usize = 32;

/// How the synthetic vectors are drawn.
#[derive(Clone, Copy)]
enum Dataset {
    /// Uniform on the unit sphere: no structure at all, the hardest case for a graph index (every
    /// vector is almost equally far from every other one).
    Uniform,
    /// Shaped like sentence embeddings, whose intrinsic dimension is far below 384: a fixed random
    /// linear map of a `LATENT`-dimensional Gaussian with a decaying spectrum, plus 10 % isotropic noise.
    EmbeddingLike,
}

impl Dataset {
    fn name(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::EmbeddingLike => "embedding_like",
        }
    }
}

/// Draws unit vectors of one [`Dataset`], deterministically.
struct Generator {
    dataset: Dataset,
    rng: Rng,
    /// `DIM` × `LATENT`, row-major; only for [`Dataset::EmbeddingLike`].
    basis: Vec<f32>,
}

impl Generator {
    fn new(dataset: Dataset, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let basis = match dataset {
            Dataset::Uniform => Vec::new(),
            Dataset::EmbeddingLike => (0..DIM * LATENT).map(|_| rng.gaussian()).collect(),
        };
        Self { dataset, rng, basis }
    }

    fn vector(&mut self) -> Vec<f32> {
        match self.dataset {
            Dataset::Uniform => self.rng.unit_vector(),
            Dataset::EmbeddingLike => {
                let latent: Vec<f32> = (0..LATENT)
                    .map(|i| self.rng.gaussian() / (1.0 + i as f32 / 8.0).sqrt())
                    .collect();
                let mut v: Vec<f32> = self
                    .basis
                    .chunks_exact(LATENT)
                    .map(|row| row.iter().zip(&latent).map(|(a, z)| a * z).sum())
                    .collect();
                normalize(&mut v);
                let noise = 0.1 / (DIM as f32).sqrt();
                v.iter_mut().for_each(|x| *x += noise * self.rng.gaussian());
                normalize(&mut v);
                v
            }
        }
    }

    /// `DIM` standard normal numbers.
    fn gaussian_vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.rng.gaussian()).collect()
    }
}

/// A query and whether it is a perturbed copy of a stored vector (else a fresh one of the same dataset).
struct Query {
    vector: Vec<f32>,
    near: bool,
}

fn vector_search(sizes: &[usize], queries_per_size: usize) -> Result<(), String> {
    // The same options as the store's indexes: which SIMD kernel computes their cosine distances.
    let options = usearch::IndexOptions {
        dimensions: DIM,
        metric: usearch::MetricKind::Cos,
        quantization: usearch::ScalarKind::F32,
        ..usearch::IndexOptions::default()
    };
    let probe = usearch::Index::new(&options).map_err(|e| format!("usearch: {e}"))?;
    println!(
        "usearch_kernel: {} (available: {})",
        probe.hardware_acceleration(),
        usearch::hardware_acceleration_available()
    );
    drop(probe);
    for (dataset, seed) in [(Dataset::Uniform, 0x5EED_0001), (Dataset::EmbeddingLike, 0x5EED_0002)] {
        let temp = common::temp_dir("vectors")?;
        let store = VectorStore::open(temp.path(), "bench:synthetic", DIM).map_err(|e| e.to_string())?;
        let persona = Uuid::new_v4();
        let mut generator = Generator::new(dataset, seed);
        let mut corpus = Corpus { rows: Vec::new() };
        for &size in sizes {
            let label = format!("{}_{}k", dataset.name(), size / 1000);
            grow(&store, persona, &mut generator, &mut corpus, size, &label)?;
            measure(&store, persona, &mut generator, &corpus, queries_per_size, &label)?;
        }
    }
    Ok(())
}

/// Adds vectors to `corpus` and to the persona's index until both hold `size`.
fn grow(
    store: &VectorStore,
    persona: Uuid,
    generator: &mut Generator,
    corpus: &mut Corpus,
    size: usize,
    label: &str,
) -> Result<(), String> {
    let from = corpus.len();
    corpus.rows.reserve(size.saturating_sub(from) * DIM);
    for _ in from..size {
        corpus.rows.extend(generator.vector());
    }
    let started = Instant::now();
    for chunk_start in (from..size).step_by(10_000) {
        let chunk_end = (chunk_start + 10_000).min(size);
        let items: Vec<(u64, Vec<f32>)> = (chunk_start..chunk_end)
            .map(|i| (i as u64, corpus.row(i).to_vec()))
            .collect();
        store.add_batch(persona, &items).map_err(|e| e.to_string())?;
    }
    println!(
        "vector_insert_{label}: {:.0} vectors/s",
        per_second(size.saturating_sub(from), started.elapsed())
    );
    if store.len(persona) != size {
        return Err(format!(
            "{label}: the index holds {} vectors, expected {size}",
            store.len(persona)
        ));
    }
    Ok(())
}

/// Search latency over `count` queries, and recall@10 against exact search.
fn measure(
    store: &VectorStore,
    persona: Uuid,
    generator: &mut Generator,
    corpus: &Corpus,
    count: usize,
    label: &str,
) -> Result<(), String> {
    // Perturbed copies sit at cosine ≈ 0.9 from their source vector.
    let noise = 0.45 / (DIM as f32).sqrt();
    let queries: Vec<Query> = (0..count)
        .map(|q| {
            if q % 2 == 0 {
                let source = corpus.row(generator.rng.below(corpus.len()));
                let offset = generator.gaussian_vector();
                let mut vector: Vec<f32> = source.iter().zip(offset).map(|(x, g)| x + noise * g).collect();
                normalize(&mut vector);
                Query { vector, near: true }
            } else {
                Query {
                    vector: generator.vector(),
                    near: false,
                }
            }
        })
        .collect();

    for query in queries.iter().take(20) {
        store.search(persona, &query.vector, K).map_err(|e| e.to_string())?;
    }
    let mut latencies = Vec::with_capacity(queries.len());
    let mut found = Vec::with_capacity(queries.len());
    for query in &queries {
        let started = Instant::now();
        let hits = store.search(persona, &query.vector, K).map_err(|e| e.to_string())?;
        latencies.push(started.elapsed());
        found.push(hits.into_iter().map(|(key, _)| key).collect::<Vec<u64>>());
    }
    print_latency(&format!("search_{label}"), &mut latencies, true);

    let started = Instant::now();
    let exact = exact_top_k(corpus, &queries);
    let exact_ms = started.elapsed().as_secs_f64() * 1e3 / queries.len() as f64;
    let recall = |near: Option<bool>| -> f64 {
        let mut total = 0.0;
        let mut count = 0usize;
        for ((query, approx), truth) in queries.iter().zip(&found).zip(&exact) {
            if near.is_some_and(|near| near != query.near) {
                continue;
            }
            let truth: HashSet<u64> = truth.iter().copied().collect();
            total += approx.iter().filter(|key| truth.contains(key)).count() as f64 / K as f64;
            count += 1;
        }
        total / count.max(1) as f64
    };
    println!("recall@10_{label}: {:.4}", recall(None));
    println!("recall@10_{label}_near_queries: {:.4}", recall(Some(true)));
    println!("recall@10_{label}_fresh_queries: {:.4}", recall(Some(false)));
    println!("exact_search_{label}: {exact_ms:.2} ms/query (brute force over both cores, for reference)");
    Ok(())
}

/// The exact cosine top-`K` keys of every query (vectors are unit length, so a dot product), spread
/// over the cores.
fn exact_top_k(corpus: &Corpus, queries: &[Query]) -> Vec<Vec<u64>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = queries.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = queries
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|q| exact_one(corpus, &q.vector)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("exact search thread"))
            .collect()
    })
}

/// A dot product in eight independent lanes, which the compiler turns into SIMD.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = a
        .chunks_exact(8)
        .remainder()
        .iter()
        .zip(b.chunks_exact(8).remainder())
        .map(|(x, y)| x * y)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

fn exact_one(corpus: &Corpus, query: &[f32]) -> Vec<u64> {
    // Best first; at most K entries.
    let mut top: Vec<(f32, u64)> = Vec::with_capacity(K + 1);
    for i in 0..corpus.len() {
        let score = dot(corpus.row(i), query);
        if top.len() == K && score <= top[K - 1].0 {
            continue;
        }
        let at = top.partition_point(|&(s, _)| s >= score);
        top.insert(at, (score, i as u64));
        top.truncate(K);
    }
    top.into_iter().map(|(_, key)| key).collect()
}

// ---------------------------------------------------------------------------------------------------------
// 3. End to end through the server

fn store_params(content: &str) -> Value {
    json!({"persona_id": "Aria", "content": content, "importance": 0.5})
}

/// What one storing connection saw.
#[derive(Default)]
struct StoreStats {
    ok: usize,
    errors: Vec<String>,
    latencies: Vec<Duration>,
}

/// Stores `contents` over one connection, up to `STORE_IN_FLIGHT` requests outstanding at once.
async fn store_connection(url: String, contents: Vec<(u64, String)>) -> StoreStats {
    let mut stats = StoreStats::default();
    let ws = match connect_url(&url).await {
        Ok(ws) => ws,
        Err(e) => {
            stats.errors.push(e);
            return stats;
        }
    };
    let (mut sink, mut stream) = ws.split();
    let window = Semaphore::new(STORE_IN_FLIGHT);
    let sent: Mutex<HashMap<u64, Instant>> = Mutex::new(HashMap::new());
    let expected = contents.len();

    let send = async {
        for (id, content) in &contents {
            // Closed only when the receiver gave up; its error is the one reported.
            let Ok(permit) = window.acquire().await else {
                return Ok(());
            };
            permit.forget();
            let request =
                json!({"jsonrpc": "2.0", "id": id, "method": "memory.store", "params": store_params(content)});
            sent.lock().expect("sent map").insert(*id, Instant::now());
            sink.send(Message::text(request.to_string()))
                .await
                .map_err(|e| format!("send: {e}"))?;
        }
        Ok::<(), String>(())
    };
    let receive = async {
        let mut done = 0;
        while done < expected {
            let frame = match next_json(&mut stream).await {
                Ok(frame) => frame,
                Err(e) => {
                    // Unblocks the sender, which may be waiting for a slot that will never free.
                    window.close();
                    return Err(e);
                }
            };
            let Some(id) = frame.get("id").and_then(Value::as_u64) else {
                continue;
            };
            let Some(started) = sent.lock().expect("sent map").remove(&id) else {
                continue;
            };
            done += 1;
            window.add_permits(1);
            let latency = started.elapsed();
            stats.latencies.push(latency);
            if frame.pointer("/result/stored") == Some(&json!(true)) {
                stats.ok += 1;
            } else {
                stats.errors.push(format!(
                    "memory.store {id} after {} ms: {}",
                    latency.as_millis(),
                    describe_error(&frame)
                ));
            }
        }
        Ok::<(), String>(())
    };
    let (sent_result, received) = tokio::join!(send, receive);
    if let Err(e) = sent_result.and(received) {
        stats.errors.push(e);
    }
    stats
}

async fn end_to_end(model_dir: &Path) -> Result<(), String> {
    let temp = common::temp_dir("memory")?;
    // Declared after `temp`, so killed before the directory is removed.
    let settings = [
        ("PERSONA_MCP__EMBEDDER__PROVIDER", "minilm".to_string()),
        ("PERSONA_MCP__EMBEDDER__MODEL_DIR", model_dir.display().to_string()),
    ];
    let bin = Path::new(env!("CARGO_BIN_EXE_persona-mcp"));
    let mut server = ServerProcess::spawn(bin, temp.path(), &settings)?;
    let (port, pid) = (server.port, server.pid());
    let ready_in = server.wait_healthy().await?;
    println!("server: pid {pid}, port {port}");
    println!("server_ready: {:.0} ms", ready_in.as_secs_f64() * 1e3);
    let url = format!("ws://127.0.0.1:{port}/mcp");

    // One store first: it tells whether the method exists, and warms the model up.
    let mut probe = connect_url(&url).await?;
    let frame = call_frame(
        &mut probe,
        1,
        "memory.store",
        store_params("The benchmark starts now."),
        FRAME_TIMEOUT,
    )
    .await?;
    if frame.pointer("/error/code").and_then(Value::as_i64) == Some(METHOD_NOT_FOUND) {
        println!(
            "end_to_end: skipped (memory.store answers Method not found: {})",
            describe_error(&frame)
        );
        return Ok(());
    }
    if frame.pointer("/result/stored") != Some(&json!(true)) {
        return Err(format!("the first memory.store failed: {}", describe_error(&frame)));
    }

    let contents = sentences(STORE_TOTAL);
    let mut per_connection: Vec<Vec<(u64, String)>> = vec![Vec::new(); STORE_CONNECTIONS];
    for (i, content) in contents.into_iter().enumerate() {
        per_connection[i % STORE_CONNECTIONS].push((i as u64 + 100, content));
    }
    let started = Instant::now();
    let tasks: Vec<_> = per_connection
        .into_iter()
        .map(|contents| tokio::spawn(store_connection(url.clone(), contents)))
        .collect();
    let mut stored = 0;
    let mut errors = Vec::new();
    let mut latencies = Vec::new();
    for task in tasks {
        let stats = task.await.map_err(|e| format!("store task: {e}"))?;
        stored += stats.ok;
        errors.extend(stats.errors);
        latencies.extend(stats.latencies);
    }
    let elapsed = started.elapsed();
    println!(
        "store_throughput: {:.1} memories/s ({stored} stored in {:.2} s over {STORE_CONNECTIONS} connections, \
         {STORE_IN_FLIGHT} in flight each)",
        per_second(stored, elapsed),
        elapsed.as_secs_f64()
    );
    println!("store_errors: {} errors", errors.len());
    for error in errors.iter().take(5) {
        eprintln!("  {error}");
    }
    print_latency("store_latency", &mut latencies, false);

    let queries = [
        "what happened with the storm in the harbour",
        "who is afraid of something",
        "cake recipes",
        "train tickets and travel",
        "music concerts",
        "learning a new language",
        "stories about a cat",
        "a lost set of keys",
    ];
    // The searches name Aria and so read as her, who sees all of her memories (the switch makes her current too).
    let frame = call_frame(
        &mut probe,
        9_999,
        "persona.switch",
        json!({"persona_id": "Aria"}),
        FRAME_TIMEOUT,
    )
    .await?;
    if frame.get("error").is_some() {
        return Err(format!("persona.switch: {}", describe_error(&frame)));
    }
    let mut latencies = Vec::with_capacity(SEARCH_CALLS);
    let mut search_errors = 0usize;
    for i in 0..SEARCH_CALLS {
        let params = json!({"persona_id": "Aria", "query": queries[i % queries.len()], "n_results": 10});
        let started = Instant::now();
        let frame = call_frame(&mut probe, 10_000 + i as u64, "memory.search", params, FRAME_TIMEOUT).await?;
        latencies.push(started.elapsed());
        if frame.pointer("/result/memories").and_then(Value::as_array).is_none() {
            search_errors += 1;
            if search_errors <= 5 {
                eprintln!("  memory.search: {}", describe_error(&frame));
            }
        }
    }
    print_latency("search_e2e", &mut latencies, false);
    println!("search_e2e_errors: {search_errors} errors");
    let _ = probe.close(None).await;

    if !errors.is_empty() || search_errors > 0 {
        return Err(format!(
            "{} store and {search_errors} search requests failed; server log tail:\n{}",
            errors.len(),
            server.log_tail(20)
        ));
    }
    Ok(())
}
