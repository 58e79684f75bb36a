//! The built-in offline embedder: sentence-transformers' all-MiniLM-L6-v2 run in-process with candle.
//!
//! The three files (`config.json`, `tokenizer.json`, `model.safetensors`) are put in place by
//! `make model` and never downloaded at run time. The pipeline is the sentence-transformers one:
//! tokenise (truncated to the model's 256-token `max_seq_length`), BERT, mean over the tokens the
//! attention mask keeps, L2 normalisation — 384 floats per text.
//!
//! Inference is CPU-bound, so it never runs on the async worker that asked. Three kinds of work, three pools:
//! - a search query (somebody waits for it) runs on one thread of its own at normal priority, the whole
//!   forward pass on that thread: a ~10-token query is a few milliseconds of arithmetic, and every hand-off
//!   between threads inside it (candle splits its small products and norms over the current pool) costs as
//!   much again whenever the other core is busy;
//! - memories somebody waits for (`memory.store`) run on a pool with one thread per core at normal priority;
//! - memories nobody waits for (a chat turn's exchange, [`Embedder::embed_background`]) run on a pool with one
//!   thread per core at the lowest CPU priority (nice 19), so they take the cores only when queries, streaming
//!   and waiting stores leave them idle.
//!
//! A call with many texts is cut into batches of similar length that run on every core at once.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::Config;
use rayon::prelude::*;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};
use tokio::sync::oneshot;

use super::bert::Bert;
use super::{normalize, the_query_vector, BoxFuture, EmbedError, Embedder};
use crate::config::EmbedderPrecision;

/// The name recorded in the vector index metadata for vectors of this embedder.
pub const NAME: &str = "minilm:all-MiniLM-L6-v2";

/// Tokens per text (special tokens included): the model's sentence-transformers `max_seq_length`.
const MAX_TOKENS: usize = 256;

/// Most texts per forward pass: large enough to amortise the call, small enough to bound padding and
/// memory, and to leave work for every core when a few dozen texts arrive together.
const BATCH: usize = 16;

/// The files a model directory must hold.
const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// all-MiniLM-L6-v2 loaded in memory; cheap to share (the weights sit behind an `Arc`).
pub struct MiniLmEmbedder {
    model: Arc<Model>,
    dimension: usize,
    precision: EmbedderPrecision,
    /// One thread per core runs the batches somebody waits for, so a burst of requests queues here instead of
    /// multiplying the activation memory (≈75 MB for a full batch of 256-token texts).
    pool: Arc<rayon::ThreadPool>,
    /// One thread per core at the lowest CPU priority runs the batches nobody waits for.
    background_pool: Arc<rayon::ThreadPool>,
    /// A thread of its own at normal priority for search queries, so that a reply waiting for its memories
    /// never queues behind the memories being embedded in the background, nor waits for a second thread.
    query_pool: Arc<rayon::ThreadPool>,
}

/// The tokenizer and network, shared with the blocking tasks that run them.
struct Model {
    bert: Bert,
    tokenizer: Tokenizer,
}

impl MiniLmEmbedder {
    /// Loads the model from `dir`, its dense products in `precision` (int8 weights are quantized here, from the
    /// f32 checkpoint); a missing file is reported with the `make model` hint.
    pub fn load(dir: &Path, precision: EmbedderPrecision) -> Result<Self, EmbedError> {
        if let Some(file) = FILES.into_iter().find(|file| !dir.join(file).is_file()) {
            return Err(EmbedError::ModelMissing {
                dir: dir.to_path_buf(),
                file,
            });
        }
        let failed = |what: &str, reason: String| EmbedError::Load {
            dir: dir.to_path_buf(),
            reason: format!("{what}: {reason}"),
        };

        let config_text =
            std::fs::read_to_string(dir.join("config.json")).map_err(|e| failed("config.json", e.to_string()))?;
        let config: Config = serde_json::from_str(&config_text)
            .map_err(|e| failed("config.json is not a BERT config", e.to_string()))?;

        let mut tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| failed("tokenizer.json", e.to_string()))?;
        // The file ships with fixed 128-token padding; pad each batch to its longest text instead.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| failed("tokenizer truncation", e.to_string()))?;

        let weights = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu)
            .map_err(|e| failed("model.safetensors", e.to_string()))?;
        let bert = Bert::load(weights, &config, precision)
            .map_err(|e| failed("model.safetensors does not fit config.json", e.to_string()))?;

        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = |count: usize, name: &'static str, nice: i32| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(count)
                .thread_name(move |i| format!("{name}-{i}"))
                .start_handler(move |_| lower_priority(nice))
                // Without a handler a panic in a job aborts the process; with it, the caller sees an error.
                .panic_handler(|_| tracing::error!("an embedding job panicked"))
                .build()
                .map(Arc::new)
                .map_err(|e| failed("embedding threads", e.to_string()))
        };
        tracing::info!(
            precision = %precision,
            int8_kernel = quant_kernels::int8::Kernel::best().name(),
            "MiniLM embedder loaded"
        );
        Ok(Self {
            model: Arc::new(Model { bert, tokenizer }),
            dimension: config.hidden_size,
            precision,
            pool: threads(cores, "embed", 0)?,
            background_pool: threads(cores, "embed-bg", BACKGROUND_NICE)?,
            query_pool: threads(1, "embed-query", 0)?,
        })
    }
}

/// Raises the calling thread's nice value to `nice` (Linux keeps it per thread); 0 leaves it as it is. Failing
/// only costs priority, so it is logged, not fatal.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    if let Err(e) = rustix::process::setpriority_process(None, nice) {
        tracing::warn!(error = %e, "cannot lower the priority of a background embedding thread");
    }
}

impl Model {
    /// Embeds one text as a single forward pass on the calling thread.
    fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Inference(format!("tokenizer: {e}")))?;
        let shape = (1, encoding.len());
        let vectors = self
            .pooled(
                encoding.get_ids().to_vec(),
                encoding.get_attention_mask().to_vec(),
                shape,
            )
            .map_err(|e| EmbedError::Inference(e.to_string()))?;
        the_query_vector(vectors)
    }

    /// Embeds any number of texts in batches of similar length (less padding), spread over the pool's
    /// threads; run it inside the pool.
    fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let per_batch = texts.len().div_ceil(rayon::current_num_threads()).clamp(1, BATCH);
        let batches: Vec<Vec<Vec<f32>>> = order
            .par_chunks(per_batch)
            .map(|chunk| self.embed_batch(chunk.iter().map(|&i| texts[i].as_str()).collect()))
            .collect::<Result<_, _>>()?;
        let mut vectors = vec![Vec::new(); texts.len()];
        for (&i, vector) in order.iter().zip(batches.into_iter().flatten()) {
            vectors[i] = vector;
        }
        Ok(vectors)
    }

    /// One forward pass: token ids → BERT → mean over unmasked tokens → unit vectors.
    fn embed_batch(&self, batch: Vec<&str>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(batch, true)
            .map_err(|e| EmbedError::Inference(format!("tokenizer: {e}")))?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |encoding| encoding.len());
        let mut ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        for encoding in &encodings {
            ids.extend_from_slice(encoding.get_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
        }
        self.pooled(ids, mask, (rows, width))
            .map_err(|e| EmbedError::Inference(e.to_string()))
    }

    /// Runs BERT on a padded `shape` = (texts, tokens) batch and mean-pools with the attention mask.
    fn pooled(&self, ids: Vec<u32>, mask: Vec<u32>, shape: (usize, usize)) -> candle_core::Result<Vec<Vec<f32>>> {
        let device = self.bert.device();
        let ids = Tensor::from_vec(ids, shape, device)?;
        let mask = Tensor::from_vec(mask, shape, device)?;
        let hidden = self.bert.forward(&ids, &mask)?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        // [CLS] and [SEP] are always kept, so the count is at least 2; the clamp only guards the division.
        let counts = mask.sum(1)?.clamp(1f32, f32::MAX)?;
        let mut vectors = summed.broadcast_div(&counts)?.to_vec2::<f32>()?;
        vectors.iter_mut().for_each(|vector| normalize(vector));
        Ok(vectors)
    }
}

impl Embedder for MiniLmEmbedder {
    fn name(&self) -> &str {
        NAME
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn precision(&self) -> Option<EmbedderPrecision> {
        Some(self.precision)
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        if texts.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        let texts = texts.to_vec();
        self.run_on(&self.pool, move |model| model.embed_all(&texts))
    }

    fn embed_background<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        if texts.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        let texts = texts.to_vec();
        self.run_on(&self.background_pool, move |model| model.embed_all(&texts))
    }

    fn embed_query<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Vec<f32>, EmbedError>> {
        let text = text.to_string();
        self.run_on(&self.query_pool, move |model| model.embed_one(&text))
    }
}

/// The lowest CPU priority: the background threads get a core only when nothing else wants it.
const BACKGROUND_NICE: i32 = 19;

impl MiniLmEmbedder {
    /// Runs `job` with the model on a thread of `pool` and answers its result.
    fn run_on<T: Send + 'static>(
        &self,
        pool: &rayon::ThreadPool,
        job: impl FnOnce(&Model) -> Result<T, EmbedError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, EmbedError>> {
        let model = Arc::clone(&self.model);
        let (done, result) = oneshot::channel();
        pool.spawn(move || {
            // The caller may have gone; its vectors are then simply dropped.
            let _ = done.send(job(&model));
        });
        Box::pin(async move {
            result
                .await
                .map_err(|_| EmbedError::Inference("the embedding thread stopped".to_string()))?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Instant;

    fn model_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/all-MiniLM-L6-v2")
    }

    fn load() -> MiniLmEmbedder {
        load_in(EmbedderPrecision::F32)
    }

    fn load_in(precision: EmbedderPrecision) -> MiniLmEmbedder {
        match MiniLmEmbedder::load(&model_dir(), precision) {
            Ok(model) => model,
            Err(e) => panic!("{e} (run `make model` before the tests)"),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    async fn embed(model: &MiniLmEmbedder, texts: &[String]) -> Vec<Vec<f32>> {
        match model.embed(texts).await {
            Ok(vectors) => vectors,
            Err(e) => panic!("embedding failed: {e}"),
        }
    }

    #[tokio::test]
    async fn vectors_are_384_normalised_and_meaningful() {
        let model = load();
        assert_eq!(model.dimension(), 384);
        assert_eq!(model.precision(), Some(EmbedderPrecision::F32));
        assert_eq!(model.name(), "minilm:all-MiniLM-L6-v2");
        let texts = strings(&[
            "Aria performed her new ballad at the harvest festival",
            "song she sang at the autumn fair",
            "The blacksmith sharpened the old iron sword",
            "Quarterly tax filings are due at the end of the month",
            "The spaceship docked at the orbital station",
            "Boil the pasta for nine minutes in salted water",
            "The database index was rebuilt overnight",
        ]);
        let vectors = embed(&model, &texts).await;
        assert_eq!(vectors.len(), texts.len());
        for vector in &vectors {
            assert_eq!(vector.len(), 384);
            let norm = dot(vector, vector).sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        }
        let related = dot(&vectors[0], &vectors[1]);
        for (text, unrelated) in texts[2..].iter().zip(&vectors[2..]) {
            let similarity = dot(&vectors[0], unrelated);
            assert!(related > similarity, "{related} should beat {similarity} ({text})");
        }
    }

    /// Reference values from an independent float64 numpy implementation (BERT from the safetensors,
    /// HF `tokenizers`, mean pooling, L2); "hello world" also matches the commonly published
    /// sentence-transformers output. The long text pins truncation at 256 tokens (128 gives 0.0626…).
    #[tokio::test]
    async fn matches_reference_values() {
        let model = load();
        let expected: [(String, [f32; 8]); 3] = [
            (
                "hello world".to_string(),
                [
                    -0.034477, 0.031023, 0.006735, 0.026109, -0.039362, -0.160302, 0.066924, -0.006441,
                ],
            ),
            (
                "Aria performed her new ballad at the harvest festival".to_string(),
                [
                    -0.001425, -0.07383, 0.054559, 0.032146, -0.013272, 0.003863, 0.054117, -0.148984,
                ],
            ),
            (
                "the persona remembers every word of the long story ".repeat(200),
                [
                    0.026865, -0.000243, 0.009768, 0.092447, -0.046745, 0.13174, 0.029353, 0.007049,
                ],
            ),
        ];
        let texts: Vec<String> = expected.iter().map(|(text, _)| text.clone()).collect();
        let vectors = embed(&model, &texts).await;
        for ((text, reference), vector) in expected.iter().zip(&vectors) {
            for (i, (want, got)) in reference.iter().zip(vector).enumerate() {
                assert!(
                    (want - got).abs() < 1e-4,
                    "{}…[{i}]: expected {want}, got {got}",
                    &text[..text.len().min(20)]
                );
            }
        }
    }

    #[tokio::test]
    async fn padding_does_not_change_a_vector() {
        let model = load();
        let short = strings(&["hello world"]);
        let alone = embed(&model, &short).await;
        let padded = embed(
            &model,
            &strings(&[
                "hello world",
                "a much longer sentence that forces the short one to be padded in its batch",
            ]),
        )
        .await;
        let difference = alone[0]
            .iter()
            .zip(&padded[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(difference < 1e-4, "max difference {difference}");
    }

    #[tokio::test]
    async fn a_query_does_not_wait_for_the_background_threads() {
        let model = load();
        let text = "song she sang at the autumn fair".to_string();
        let batch = embed(&model, std::slice::from_ref(&text)).await;
        // Every background thread is held until the query is answered.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(std::sync::Mutex::new(held));
        for _ in 0..model.pool.current_num_threads() {
            let held = Arc::clone(&held);
            model.pool.spawn(move || {
                let _ = held.lock().map(|rx| rx.recv());
            });
        }
        let waiting = model.embed(std::slice::from_ref(&text));
        let query = tokio::time::timeout(std::time::Duration::from_secs(30), model.embed_query(&text))
            .await
            .expect("the query is answered while the background threads are busy")
            .expect("embedded");
        for _ in 0..model.pool.current_num_threads() {
            release.send(()).expect("a held thread");
        }
        let queued = waiting.await.expect("embedded after the release");
        for vector in [&query, &queued[0]] {
            let difference = vector
                .iter()
                .zip(&batch[0])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(difference < 1e-6, "max difference {difference}");
        }
    }

    #[test]
    fn background_threads_yield_and_the_query_thread_does_not() {
        let model = load();
        let nice = |pool: &rayon::ThreadPool| {
            pool.install(|| rustix::process::getpriority_process(None).expect("the thread's priority"))
        };
        assert_eq!(nice(&model.background_pool), BACKGROUND_NICE);
        let own = rustix::process::getpriority_process(None).expect("this thread's priority");
        assert_eq!(nice(&model.query_pool), own);
        assert_eq!(nice(&model.pool), own);
        assert_eq!(model.query_pool.current_num_threads(), 1);
    }

    #[tokio::test]
    async fn a_query_and_a_background_batch_give_the_vectors_of_a_batch() {
        let model = load();
        let texts = strings(&["hello world", "song she sang at the autumn fair", ""]);
        let batch = embed(&model, &texts).await;
        let background = model.embed_background(&texts).await.expect("embedded");
        assert_eq!(background, batch);
        for (text, expected) in texts.iter().zip(&batch) {
            let query = model.embed_query(text).await.expect("embedded");
            let difference = query
                .iter()
                .zip(expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(difference < 1e-5, "{text:?}: max difference {difference}");
        }
    }

    #[tokio::test]
    async fn empty_text_and_empty_batch() {
        let model = load();
        let vectors = embed(&model, &[String::new()]).await;
        assert_eq!(vectors.len(), 1);
        assert_eq!(vectors[0].len(), 384);
        assert!(embed(&model, &[]).await.is_empty());
    }

    /// int8 products keep the vectors: cosine ≥ 0.99 with the f32 model's vector for every sentence of a varied
    /// set (short queries, long paragraphs, other languages and scripts, emoji, code), as a batch and as queries;
    /// and the paraphrase still ranks first.
    #[tokio::test]
    async fn int8_vectors_are_the_f32_vectors() {
        let texts: Vec<String> = include_str!("testdata/sentences.txt")
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_string)
            .collect();
        assert!(texts.len() >= 50, "{} sentences", texts.len());
        let (f32_model, int8_model) = (load_in(EmbedderPrecision::F32), load_in(EmbedderPrecision::Int8));
        let reference = embed(&f32_model, &texts).await;
        let batch = embed(&int8_model, &texts).await;
        let mut worst = (f32::MAX, "");
        for ((text, want), got) in texts.iter().zip(&reference).zip(&batch) {
            let query = int8_model.embed_query(text).await.expect("embedded");
            for vector in [got, &query] {
                let cosine = dot(want, vector);
                if cosine < worst.0 {
                    worst = (cosine, text);
                }
            }
        }
        eprintln!("lowest cosine int8 / f32: {:.5} ({})", worst.0, worst.1);
        assert!(worst.0 >= 0.99, "cosine {} for {:?}", worst.0, worst.1);
        let ranked = embed(
            &int8_model,
            &strings(&[
                "song she sang at the autumn fair",
                "Aria performed her new ballad at the harvest festival",
                "The blacksmith sharpened the old iron sword",
                "Quarterly tax filings are due at the end of the month",
            ]),
        )
        .await;
        let related = dot(&ranked[0], &ranked[1]);
        assert!(ranked[2..].iter().all(|other| dot(&ranked[0], other) < related));
    }

    /// Throughput, for the record: `cargo test --release -- --ignored --nocapture throughput`.
    #[tokio::test]
    #[ignore]
    async fn throughput() {
        let model = load();
        let texts: Vec<String> = (0..64)
            .map(|i| format!("Memory number {i}: the persona talked about dragons, trade and the harvest festival."))
            .collect();
        let start = Instant::now();
        for text in &texts {
            embed(&model, std::slice::from_ref(text)).await;
        }
        let single = start.elapsed();
        let start = Instant::now();
        embed(&model, &texts).await;
        let batched = start.elapsed();
        eprintln!("64 sentences: one by one {single:?}, batched {batched:?}");
    }
}
