//! The one `Settings` struct: built-in defaults → `persona-mcp.toml` (or `--config FILE`) → `.env` →
//! the old server's plain variable names → `PERSONA_MCP__SECTION__KEY`. Loaded once at start, validated, passed
//! down.
//!
//! A file per section (`server.rs`, `llm.rs`, …) holds its struct, defaults and `validate`; `load.rs` reads the
//! layers, `check.rs` holds the checks sections share.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod admin;
mod bots;
mod chat;
mod check;
mod choice;
mod embedder;
mod error;
mod llm;
mod load;
mod logging;
mod memory;
mod persona;
mod server;
mod state;
mod storage;

pub use admin::AdminSettings;
pub use bots::BotSettings;
pub use chat::ChatSettings;
pub use embedder::{EmbedderPrecision, EmbedderProvider, EmbedderSettings};
pub use error::ConfigError;
pub use llm::{LlmProvider, LlmSettings};
pub use logging::LoggingSettings;
pub use memory::MemorySettings;
pub use persona::PersonaSettings;
pub use server::ServerSettings;
pub use state::StateSettings;
pub use storage::StorageSettings;

/// All settings of the server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Listener, limits, auth.
    pub server: ServerSettings,
    /// The chat model backend.
    pub llm: LlmSettings,
    /// Where data lives.
    pub storage: StorageSettings,
    /// Conversation window and budgets.
    pub chat: ChatSettings,
    /// Persona defaults: energy regeneration, actor lifetimes.
    pub persona: PersonaSettings,
    /// Log level and format.
    pub logging: LoggingSettings,
    /// The embedding model for memories.
    pub embedder: EmbedderSettings,
    /// Memory scoring, pruning and decay numbers (DOMAIN.md).
    pub memory: MemorySettings,
    /// Matrix bots.
    pub bots: BotSettings,
    /// The admin listener (REST API and web page).
    pub admin: AdminSettings,
    /// State files (`state.save`).
    pub state: StateSettings,
    /// Model selection rules, per-persona model options and the fallback chain.
    pub models: crate::domain::model_rules::ModelSettings,
    /// The `--config` file these settings were read from (SIGHUP reads it again); not a setting itself.
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
}

impl Settings {
    /// The embedded chat model's GGUF file.
    pub fn chat_model_path(&self) -> PathBuf {
        self.llm.embedded_model.clone().unwrap_or_else(|| {
            self.storage
                .data_dir
                .join("models")
                .join("SmolLM2-135M-Instruct.Q4_1.gguf")
        })
    }

    /// Where the MiniLM files are.
    pub fn model_dir(&self) -> PathBuf {
        self.embedder
            .model_dir
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("models").join("all-MiniLM-L6-v2"))
    }

    /// A copy with every secret (API keys, tokens) replaced by `<redacted>`, for printing and the admin API.
    pub fn redacted(&self) -> Settings {
        let mut shown = self.clone();
        for secret in [
            &mut shown.llm.api_key,
            &mut shown.embedder.api_key,
            &mut shown.server.token,
            &mut shown.server.metrics_token,
            &mut shown.admin.token,
        ] {
            if secret.is_some() {
                *secret = Some("<redacted>".into());
            }
        }
        shown
    }

    /// Checks every value that has a range, section by section; the first bad one is reported with its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.state.validate()?;
        self.bots.validate()?;
        self.llm.validate()?;
        if let Some(p) = self.models.problem() {
            return Err(ConfigError::new(&p.key, p.value, &p.allowed));
        }
        self.admin.validate()?;
        self.storage.validate()?;
        self.chat.validate()?;
        self.persona.validate()?;
        self.embedder.validate()?;
        self.memory.validate()?;
        self.logging.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }
}
