//! `[llm]`: the chat model backend.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::check::{check_min, check_within};
use super::choice::named_choice;
use super::ConfigError;

/// Which backend answers chats (`llm.provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LlmProvider {
    /// The Ollama server at `llm.url` when it answers, the embedded model when it does not.
    Auto,
    /// The Ollama server at `llm.url`.
    Ollama,
    /// Any OpenAI-compatible server at `llm.url`.
    Openai,
    /// Always the small model inside the server.
    Embedded,
}

impl LlmProvider {
    const ALL: [Self; 4] = [Self::Auto, Self::Ollama, Self::Openai, Self::Embedded];

    /// The name used in the settings and in answers (`system.status`'s `llm_provider`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Ollama => "ollama",
            Self::Openai => "openai",
            Self::Embedded => "embedded",
        }
    }
}

named_choice!(LlmProvider);

/// `[llm]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmSettings {
    /// `auto` (the Ollama server at `url` when it answers, the embedded model when not), `ollama`, `openai` (any
    /// OpenAI-compatible server) or `embedded` (always the small model inside the server).
    pub provider: LlmProvider,
    /// Base URL of the model server.
    pub url: String,
    /// Default chat model; a persona's `model` overrides it.
    pub model: String,
    /// Bearer key for OpenAI-compatible servers.
    pub api_key: Option<String>,
    /// Seconds to establish a connection.
    pub connect_timeout_secs: u64,
    /// Seconds without a byte from the model before a call fails.
    pub read_timeout_secs: u64,
    /// Retries on connection errors (never on answers).
    pub retries: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Nucleus sampling of the embedded model: the smallest set of tokens whose probabilities add up to this.
    pub top_p: f32,
    /// Repeat penalty of the embedded model on the last 64 tokens (1.0: none).
    pub repeat_penalty: f32,
    /// The embedded model samples at most this hot, whatever `temperature` (or a model rule) asks: at 0.8 the
    /// 135M model strays from its persona, down to inventing a name of its own, more often than at 0.3.
    pub embedded_max_temperature: f32,
    /// The embedded model's GGUF file; default `<data_dir>/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
    pub embedded_model: Option<PathBuf>,
    /// Generations the embedded model runs at once; more wait in line.
    pub embedded_max_concurrent: usize,
    /// Seconds a chat waits for a free generation slot before failing with -32003.
    pub embedded_queue_timeout_secs: u64,
    /// With `auto`: seconds between checks of whether the model server at `url` answers.
    pub probe_interval_secs: u64,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            provider: LlmProvider::Auto,
            url: "http://localhost:11434".into(),
            model: "llama3.2".into(),
            api_key: None,
            connect_timeout_secs: 5,
            read_timeout_secs: 120,
            retries: 2,
            temperature: 0.8,
            top_p: 0.9,
            repeat_penalty: 1.1,
            embedded_max_temperature: 0.3,
            embedded_model: None,
            embedded_max_concurrent: 2,
            embedded_queue_timeout_secs: 30,
            probe_interval_secs: 10,
        }
    }
}

impl LlmSettings {
    /// Checks the sampling numbers, timeouts, URL and model name; the first bad one is reported with its key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(ConfigError::new(
                "llm.top_p",
                self.top_p,
                "a number above 0.0, at most 1.0",
            ));
        }
        check_within(
            "llm.repeat_penalty",
            self.repeat_penalty,
            1.0..=2.0,
            "a number from 1.0 to 2.0",
        )?;
        check_within(
            "llm.embedded_max_temperature",
            self.embedded_max_temperature,
            0.0..=2.0,
            "a number from 0.0 to 2.0",
        )?;
        check_min("llm.embedded_max_concurrent", self.embedded_max_concurrent, 1)?;
        check_min(
            "llm.embedded_queue_timeout_secs",
            self.embedded_queue_timeout_secs as usize,
            1,
        )?;
        check_min("llm.probe_interval_secs", self.probe_interval_secs as usize, 1)?;
        if reqwest::Url::parse(&self.url).is_err() {
            return Err(ConfigError::new(
                "llm.url",
                &self.url,
                "an http(s) URL such as http://localhost:11434",
            ));
        }
        if self.model.trim().is_empty() {
            return Err(ConfigError::new(
                "llm.model",
                &self.model,
                "a model name such as llama3.2",
            ));
        }
        check_min("llm.connect_timeout_secs", self.connect_timeout_secs as usize, 1)?;
        check_min("llm.read_timeout_secs", self.read_timeout_secs as usize, 1)?;
        check_within(
            "llm.temperature",
            self.temperature,
            0.0..=2.0,
            "a number from 0.0 to 2.0",
        )
    }
}
