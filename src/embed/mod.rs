//! Text embedders: the [`Embedder`] trait that memory search relies on, and [`build`], which picks the
//! configured one — the built-in offline all-MiniLM-L6-v2 ([`minilm`]), Ollama or an OpenAI-style
//! endpoint ([`http`]), or none at all (memory search then falls back to keywords).
//!
//! Every embedder returns L2-normalised vectors of a fixed dimension, so cosine similarity is a dot
//! product and vectors from one embedder can be compared across calls. Its [`Embedder::name`] and
//! dimension are recorded beside the vector index, which refuses to open under another embedder.

pub mod bert;
pub mod cache;
pub mod fused;
pub mod http;
pub mod int8;
pub mod minilm;

use std::future::Future;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{EmbedderPrecision, EmbedderProvider};

/// A boxed, `Send` future: the return type of [`Embedder::embed`], so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an embedder could not be built or could not embed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A file of the built-in model is missing: it is fetched by `make model`, never at run time.
    #[error(
        "embedding model file {file} is missing in {dir}: run `make model` to fetch all-MiniLM-L6-v2 \
         (or set embedder.model_dir, or choose embedder.provider ollama, openai or none)"
    )]
    ModelMissing {
        /// The model directory that was searched.
        dir: PathBuf,
        /// The missing file's name.
        file: &'static str,
    },
    /// The model files are there but could not be read or do not describe a usable model.
    #[error("cannot load the embedding model from {dir}: {reason}")]
    Load {
        /// The model directory.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The in-process model failed while tokenising or running.
    #[error("embedding inference failed: {0}")]
    Inference(String),
    /// The HTTP embedding backend did not answer (connection refused, DNS, timeout).
    #[error("embedding backend at {url} is unreachable: {reason}")]
    Unreachable {
        /// The endpoint that was called.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The HTTP embedding backend answered with an error status or a body we cannot use.
    #[error("embedding backend at {url} gave a bad response: {reason}")]
    BadResponse {
        /// The endpoint that was called.
        url: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// Vectors have another length than the configured dimension (a model change needs a reindex).
    #[error(
        "embedding dimension mismatch: configured {expected}, got {actual} \
         (fix embedder.dimension, then run `persona-mcp memory reindex`)"
    )]
    DimensionMismatch {
        /// The configured dimension.
        expected: usize,
        /// The dimension the model produced.
        actual: usize,
    },
    /// The settings name an unknown provider or leave out something the provider needs.
    #[error("invalid embedder settings: {0}")]
    Settings(String),
}

/// Turns texts into L2-normalised vectors of [`Embedder::dimension`] floats.
pub trait Embedder: Send + Sync {
    /// A stable identifier such as `minilm:all-MiniLM-L6-v2` or `ollama:nomic-embed-text`, recorded in
    /// the vector index metadata: a different name at start means the index must be rebuilt.
    fn name(&self) -> &str;

    /// The length of every vector this embedder returns.
    fn dimension(&self) -> usize;

    /// The arithmetic of a model run in process (`embedder.precision`); `None` for a remote one.
    fn precision(&self) -> Option<EmbedderPrecision> {
        None
    }

    /// Embeds a batch of texts, one vector per text in the same order; an empty batch gives no vectors.
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>>;

    /// Embeds memories nobody waits for (a chat turn's exchange): an embedder that computes locally runs them
    /// below queries, streaming and the memories somebody waits for; by default the same as [`Embedder::embed`].
    fn embed_background<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        self.embed(texts)
    }

    /// Whether a query for `text` asked now would come later than `within`, because the queries queued ahead of
    /// it take longer than that: then a caller with a deadline ([`cache::embed_query_by`]) does not start it.
    /// By default `false` (no queue is known).
    fn would_miss(&self, _text: &str, _within: Duration) -> bool {
        false
    }

    /// Embeds one search query. Somebody waits for it (a reply about to be generated, a search), so an embedder
    /// that computes locally runs it ahead of the memories queued for embedding in the background; by default
    /// it is a batch of one.
    fn embed_query<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Vec<f32>, EmbedError>> {
        Box::pin(async move {
            let texts = [text.to_string()];
            the_query_vector(self.embed(&texts).await?)
        })
    }
}

/// The one vector of an [`Embedder::embed_query`] batch.
fn the_query_vector(mut vectors: Vec<Vec<f32>>) -> Result<Vec<f32>, EmbedError> {
    vectors
        .pop()
        .ok_or_else(|| EmbedError::Inference("no vector for the query".to_string()))
}

/// What [`build`] needs; the `embedder` section of the configuration maps onto it.
#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    /// `minilm` (built-in, offline), `ollama`, `openai` or `none`.
    pub provider: EmbedderProvider,
    /// Directory holding the built-in model's `config.json`, `tokenizer.json` and `model.safetensors`.
    pub model_dir: PathBuf,
    /// The arithmetic of the built-in model's dense products.
    pub precision: EmbedderPrecision,
    /// Base URL of the HTTP backend, e.g. `http://localhost:11434` (without `/api/embed`).
    pub url: String,
    /// Model name sent to the HTTP backend, e.g. `nomic-embed-text`.
    pub model: String,
    /// Bearer token for the OpenAI-style backend, if it needs one.
    pub api_key: Option<String>,
    /// Vector length: required (> 0) for the HTTP backends; for `minilm` 0 means "the model's own".
    pub dimension: usize,
    /// Deadline for one HTTP embedding request.
    pub timeout: Duration,
}

/// Distinct recent queries whose vectors are kept (384 floats each for MiniLM: 1.5 kB).
const RECENT_QUERIES: NonZeroUsize = NonZeroUsize::new(512).expect("not zero");

/// Builds the configured embedder, remembering the vectors of its recent queries ([`cache`]); `none` gives
/// `Ok(None)`.
///
/// Loading the built-in model reads about 90 MB and takes a moment: call this once at start, not
/// per request. `http` is the shared client of the application (connection pooling).
pub fn build(settings: &EmbedderOptions, http: reqwest::Client) -> Result<Option<Arc<dyn Embedder>>, EmbedError> {
    let embedder: Arc<dyn Embedder> = match settings.provider {
        EmbedderProvider::None => return Ok(None),
        EmbedderProvider::Minilm => {
            let model = minilm::MiniLmEmbedder::load(&settings.model_dir, settings.precision)?;
            if settings.dimension != 0 && settings.dimension != model.dimension() {
                return Err(EmbedError::DimensionMismatch {
                    expected: settings.dimension,
                    actual: model.dimension(),
                });
            }
            Arc::new(model)
        }
        EmbedderProvider::Ollama => Arc::new(http::OllamaEmbedder::new(settings, http)?),
        EmbedderProvider::Openai => Arc::new(http::OpenAiEmbedder::new(settings, http)?),
    };
    Ok(Some(Arc::new(cache::CachedEmbedder::new(embedder, RECENT_QUERIES))))
}

/// Scales `vector` to unit length in place; an all-zero vector is left as it is.
pub(crate) fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > f32::EPSILON {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: EmbedderProvider) -> EmbedderOptions {
        EmbedderOptions {
            provider,
            model_dir: PathBuf::from("/nonexistent/model"),
            precision: EmbedderPrecision::Int8,
            url: "http://127.0.0.1:9".to_string(),
            model: "nomic-embed-text".to_string(),
            api_key: None,
            dimension: 768,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn none_builds_no_embedder() {
        let built = build(&settings(EmbedderProvider::None), reqwest::Client::new());
        assert!(matches!(built, Ok(None)));
    }

    #[test]
    fn missing_model_names_make_model() {
        let err = build(&settings(EmbedderProvider::Minilm), reqwest::Client::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("make model"), "{err}");
        assert!(err.contains("/nonexistent/model"), "{err}");
    }

    #[test]
    fn http_providers_are_named_after_their_model() {
        for (provider, name) in [
            (EmbedderProvider::Ollama, "ollama:nomic-embed-text"),
            (EmbedderProvider::Openai, "openai:nomic-embed-text"),
        ] {
            let built = build(&settings(provider), reqwest::Client::new());
            let embedder = built.ok().flatten().expect("an http embedder");
            assert_eq!(embedder.name(), name);
            assert_eq!(embedder.dimension(), 768);
        }
    }

    #[test]
    fn normalize_gives_unit_length_and_keeps_zero() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }
}
