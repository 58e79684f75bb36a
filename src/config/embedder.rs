//! `[embedder]`: the embedding model for memories.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::check::check_min;
use super::choice::named_choice;
use super::ConfigError;

/// Which model embeds memories (`embedder.provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum EmbedderProvider {
    /// all-MiniLM-L6-v2, in process and offline.
    Minilm,
    /// Ollama's `/api/embed`.
    Ollama,
    /// An OpenAI-compatible `/v1/embeddings`.
    Openai,
    /// No vectors: keyword search only.
    None,
}

impl EmbedderProvider {
    const ALL: [Self; 4] = [Self::Minilm, Self::Ollama, Self::Openai, Self::None];

    /// The name used in the settings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Minilm => "minilm",
            Self::Ollama => "ollama",
            Self::Openai => "openai",
            Self::None => "none",
        }
    }
}

named_choice!(EmbedderProvider);

/// The arithmetic of the built-in MiniLM's dense products (`embedder.precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum EmbedderPrecision {
    /// 8-bit weights and activations: the same vectors within a cosine of 0.99, for less CPU.
    Int8,
    /// The checkpoint's own 32-bit floats.
    F32,
}

impl EmbedderPrecision {
    const ALL: [Self; 2] = [Self::Int8, Self::F32];

    /// The name used in the settings and in answers (`system.status`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Int8 => "int8",
            Self::F32 => "f32",
        }
    }
}

named_choice!(EmbedderPrecision);

/// `[embedder]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmbedderSettings {
    /// `minilm` (built in, offline), `ollama`, `openai`, or `none` (keyword search only).
    pub provider: EmbedderProvider,
    /// Directory with the MiniLM files; default `<data_dir>/models/all-MiniLM-L6-v2`.
    pub model_dir: Option<PathBuf>,
    /// MiniLM's dense products in `int8` (default: faster, cosine ≥ 0.99 to f32) or `f32`.
    pub precision: EmbedderPrecision,
    /// Base URL for `ollama`/`openai`; default: `llm.url`.
    pub url: Option<String>,
    /// Embedding model for `ollama`/`openai`.
    pub model: String,
    /// Bearer key for `openai`; default: `llm.api_key`.
    pub api_key: Option<String>,
    /// Vector dimension (0: the model's own, for `minilm`).
    pub dimension: usize,
    /// Seconds an embedding call may take.
    pub timeout_secs: u64,
    /// Most texts embedded in one batch.
    pub batch_size: usize,
}

impl Default for EmbedderSettings {
    fn default() -> Self {
        Self {
            provider: EmbedderProvider::Minilm,
            model_dir: None,
            precision: EmbedderPrecision::Int8,
            url: None,
            model: "nomic-embed-text".into(),
            api_key: None,
            dimension: 0,
            timeout_secs: 60,
            batch_size: 64,
        }
    }
}

impl EmbedderSettings {
    /// Checks that a remote embedder names its vector size and that batches and timeouts are positive.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if matches!(self.provider, EmbedderProvider::Ollama | EmbedderProvider::Openai) && self.dimension == 0 {
            return Err(ConfigError::new(
                "embedder.dimension",
                self.dimension,
                "the model's vector size (e.g. 768 for nomic-embed-text)",
            ));
        }
        check_min("embedder.batch_size", self.batch_size, 1)?;
        check_min("embedder.timeout_secs", self.timeout_secs as usize, 1)
    }
}
