//! The embedded chat model: SmolLM2-135M-Instruct (Q4_1 GGUF, fetched by `make model`) run in-process with
//! candle, behind the same [`LlmBackend`] trait as the model servers. The model is loaded once, on first use, on
//! a blocking thread; each generation runs on a thread of its own (never on the async runtime), at most
//! `llm.embedded_max_concurrent` at once while the others wait in line up to `llm.embedded_queue_timeout_secs`.

mod generate;
pub mod model;
mod names;
mod prefix;
pub mod tokenizer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{mpsc, OnceCell, Semaphore};

pub use generate::chatml;
use generate::{Engine, Sampler};

use super::{ChatRequest, EventStream, LlmBackend, LlmError, LlmErrorKind};
use crate::config::Settings;

/// The model's name, as `system.models` lists it.
pub const MODEL_NAME: &str = "SmolLM2-135M-Instruct";

/// Pieces of a reply buffered between the generating thread and the turn.
const CHANNEL: usize = 64;

/// The embedded backend.
pub struct Embedded {
    path: PathBuf,
    engine: Arc<OnceCell<Arc<Engine>>>,
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    queue_timeout: Duration,
    top_p: f32,
    repeat_penalty: f32,
    max_temperature: f32,
}

impl Embedded {
    /// The backend for the model file in the settings (not loaded yet).
    pub fn new(settings: &Settings) -> Self {
        let l = &settings.llm;
        Embedded {
            path: settings.chat_model_path(),
            engine: Arc::new(OnceCell::new()),
            slots: Arc::new(Semaphore::new(l.embedded_max_concurrent)),
            max_concurrent: l.embedded_max_concurrent,
            queue_timeout: Duration::from_secs(l.embedded_queue_timeout_secs),
            top_p: l.top_p,
            repeat_penalty: l.repeat_penalty,
            max_temperature: l.embedded_max_temperature,
        }
    }

    fn error(&self, kind: LlmErrorKind, detail: impl Into<String>) -> LlmError {
        LlmError {
            backend: "embedded",
            url: self.path.display().to_string(),
            model: MODEL_NAME.to_string(),
            kind,
            detail: detail.into(),
        }
    }

    /// The loaded model, loading it on a blocking thread the first time.
    pub fn engine(&self) -> BoxFuture<'static, Result<Arc<Engine>, LlmError>> {
        let cell = self.engine.clone();
        let path = self.path.clone();
        let unavailable = self.error(LlmErrorKind::Unreachable, "");
        async move {
            cell.get_or_try_init(|| async {
                let loading = path.clone();
                let loaded = tokio::task::spawn_blocking(move || load(&loading))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                loaded
                    .map(Arc::new)
                    .map_err(|detail| LlmError { detail, ..unavailable })
            })
            .await
            .cloned()
        }
        .boxed()
    }
}

/// Reads the GGUF file: weights and tokenizer.
fn load(path: &std::path::Path) -> Result<Engine, String> {
    let started = Instant::now();
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file)
        .map_err(|e| format!("{} is not a GGUF file: {e}", path.display()))?;
    let tokenizer = tokenizer::from_gguf(&content)?;
    let model = model::Model::load(path).map_err(|e| format!("loading {}: {e}", path.display()))?;
    let stops = ["<|im_end|>", "<|endoftext|>"]
        .iter()
        .filter_map(|t| tokenizer.token_to_id(t))
        .collect();
    tracing::info!(
        path = %path.display(),
        load_ms = started.elapsed().as_millis() as u64,
        "embedded chat model {MODEL_NAME} loaded"
    );
    Ok(Engine {
        model,
        vocabulary: names::Vocabulary::of(&tokenizer),
        tokenizer,
        prefixes: Mutex::new(prefix::PrefixCache::default()),
        stops,
    })
}

impl LlmBackend for Embedded {
    fn provider(&self) -> &'static str {
        "embedded"
    }

    fn url(&self) -> &str {
        self.path.to_str().unwrap_or("embedded")
    }

    fn default_model(&self) -> &str {
        MODEL_NAME
    }

    fn chat_stream(&self, request: ChatRequest) -> BoxFuture<'static, Result<EventStream, LlmError>> {
        let engine = self.engine();
        let slots = self.slots.clone();
        let queue_timeout = self.queue_timeout;
        let busy = self.error(
            LlmErrorKind::Busy,
            format!(
                "all {} generation slots stayed busy for {} s",
                self.max_concurrent,
                queue_timeout.as_secs()
            ),
        );
        let failed = self.error(LlmErrorKind::Protocol, "");
        let sampler = Sampler {
            temperature: request.temperature.min(self.max_temperature),
            top_p: request.top_p.unwrap_or(self.top_p),
            repeat_penalty: self.repeat_penalty,
            max_tokens: request.max_tokens.max(1),
            grounded: true,
        };
        async move {
            let engine = engine.await?;
            let permit = tokio::time::timeout(queue_timeout, slots.acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or(busy)?;
            let (tx, rx) = mpsc::channel(CHANNEL);
            std::thread::Builder::new()
                .name("chat-generate".into())
                .spawn(move || {
                    generate::run(&engine, &request.messages, sampler, &tx);
                    drop(permit);
                })
                .map_err(|e| LlmError {
                    detail: format!("cannot start a generation thread: {e}"),
                    ..failed.clone()
                })?;
            let events =
                futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|event| (event, rx)) }).map(
                    move |event| {
                        event.map_err(|detail| LlmError {
                            detail,
                            ..failed.clone()
                        })
                    },
                );
            Ok(events.boxed())
        }
        .boxed()
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, LlmError>> {
        let engine = self.engine();
        async move {
            engine.await?;
            Ok(vec![MODEL_NAME.to_string()])
        }
        .boxed()
    }
}
