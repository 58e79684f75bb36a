//! The one `Settings` struct: built-in defaults → `persona-mcp.toml` (or `--config FILE`) → `.env` →
//! the old server's plain variable names → `PERSONA_MCP__SECTION__KEY`. Loaded once at start, validated, passed
//! down.

use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::{Deserialize, Serialize};

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

/// `[admin]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminSettings {
    /// Interface the admin listener binds (loopback by default).
    pub host: String,
    /// Port of the admin listener; 0 picks a free one.
    pub port: u16,
    /// Bearer token for `/admin/api/v1`; when unset, one is generated into `<data_dir>/admin.token`.
    pub token: Option<String>,
    /// Lines of recent log kept in memory for `GET /admin/api/v1/logs`.
    pub log_lines: usize,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            token: None,
            log_lines: 2000,
        }
    }
}

/// `[state]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StateSettings {
    /// How many state files `state.save` keeps in `<data_dir>/state/` (older ones are deleted).
    pub keep: usize,
}

impl Default for StateSettings {
    fn default() -> Self {
        Self { keep: 5 }
    }
}

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

impl std::str::FromStr for LlmProvider {
    type Err = String;

    fn from_str(given: &str) -> Result<Self, String> {
        one_of(&Self::ALL, Self::name, given)
    }
}

impl TryFrom<String> for LlmProvider {
    type Error = String;

    fn try_from(given: String) -> Result<Self, String> {
        given.parse()
    }
}

impl std::str::FromStr for EmbedderProvider {
    type Err = String;

    fn from_str(given: &str) -> Result<Self, String> {
        one_of(&Self::ALL, Self::name, given)
    }
}

impl TryFrom<String> for EmbedderProvider {
    type Error = String;

    fn try_from(given: String) -> Result<Self, String> {
        given.parse()
    }
}

impl std::str::FromStr for EmbedderPrecision {
    type Err = String;

    fn from_str(given: &str) -> Result<Self, String> {
        one_of(&Self::ALL, Self::name, given)
    }
}

impl TryFrom<String> for EmbedderPrecision {
    type Error = String;

    fn try_from(given: String) -> Result<Self, String> {
        given.parse()
    }
}

impl std::fmt::Display for EmbedderPrecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The choice named `given`, or what is allowed ("a, b or c") as the error.
fn one_of<T: Copy>(all: &[T], name: fn(T) -> &'static str, given: &str) -> Result<T, String> {
    if let Some(found) = all.iter().copied().find(|&choice| name(choice) == given) {
        return Ok(found);
    }
    let names: Vec<&str> = all.iter().map(|&choice| name(choice)).collect();
    Err(match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    })
}

impl std::fmt::Display for LlmProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for EmbedderProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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

/// `[memory]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MemorySettings {
    /// Pruning starts above this many memories per persona.
    pub pruning_threshold: usize,
    /// Pruning never goes below this many.
    pub min_safe_count: usize,
    /// Most of a persona's memories one run may remove (0..1).
    pub max_prune_percent: f64,
    /// After a decay cycle, personas above this many memories are auto-pruned.
    pub auto_prune_threshold: usize,
    /// Auto-pruning removes unprotected memories under this importance.
    pub auto_prune_below: f64,
    /// Start the decay scheduler with the server.
    pub decay_enabled: bool,
    /// Minutes between decay cycles.
    pub decay_interval_minutes: u64,
    /// `linear`, `exponential`, `logarithmic` or `access_based`.
    pub decay_mode: String,
    /// Personas processed per decay cycle (most memories first).
    pub max_personas_per_cycle: usize,
    /// Memories put into the system prompt per chat turn.
    pub prompt_memories: usize,
    /// Largest memory content accepted, in bytes.
    pub max_content_bytes: usize,
    /// Milliseconds a chat turn's recall waits for the query's embedding; past it, the turn recalls by keywords
    /// alone (the embedding still finishes and is kept for a repeat of the message).
    pub recall_deadline_ms: u64,
    /// Most memories waiting for their vector in the background; more are embedded from the database once the
    /// queue has run dry.
    pub embed_backlog: usize,
}

impl Default for MemorySettings {
    /// The pruning numbers are the domain's own defaults (DOMAIN.md), kept in one place.
    fn default() -> Self {
        let prune = crate::domain::pruning::PruneConfig::default();
        Self {
            pruning_threshold: prune.pruning_threshold,
            min_safe_count: prune.min_safe_count,
            max_prune_percent: prune.max_prune_percent,
            auto_prune_threshold: prune.auto_prune_threshold,
            auto_prune_below: prune.auto_prune_below,
            decay_enabled: true,
            decay_interval_minutes: 60,
            decay_mode: "access_based".into(),
            max_personas_per_cycle: 5,
            prompt_memories: 5,
            max_content_bytes: 32 * 1024,
            recall_deadline_ms: 5,
            embed_backlog: 4096,
        }
    }
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
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Interface to bind (loopback by default).
    pub host: String,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Concurrent WebSocket connections; more are refused with 503.
    pub max_connections: usize,
    /// Requests per second per connection (token bucket refill).
    pub rate_limit_per_second: u32,
    /// Burst size of the per-connection token bucket.
    pub rate_limit_burst: u32,
    /// Requests a connection may have running before the token bucket counts its requests: one that arrives
    /// while fewer are running costs nothing, so a client that waits for its answers is never limited (0: every
    /// request costs a token).
    pub rate_limit_in_flight: u32,
    /// Seconds without any frame (pongs to the server's pings aside) before a connection is closed.
    pub idle_timeout_secs: u64,
    /// Seconds between the server's pings on each WebSocket connection.
    pub ws_ping_interval_secs: u64,
    /// Seconds a pinged WebSocket connection has to answer (a pong or any frame) before it is closed.
    pub ws_pong_timeout_secs: u64,
    /// Largest accepted WebSocket frame in bytes.
    pub max_frame_bytes: usize,
    /// Largest accepted JSON-RPC batch.
    pub max_batch: usize,
    /// Seconds streams get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Seconds a streamed chat may take in all.
    pub stream_timeout_secs: u64,
    /// Optional bearer token required on `/mcp` (WebSocket and Streamable HTTP) and, unless `metrics_token` is
    /// set, on `/metrics`.
    pub token: Option<String>,
    /// Optional bearer token for `/metrics` alone (a scraper need not hold the API token).
    pub metrics_token: Option<String>,
    /// Web origins (`scheme://host[:port]`) allowed besides loopback ones; browsers from any other origin are
    /// refused with 403. Their hosts are also accepted as `Host` on a loopback listener (a reverse proxy).
    pub allowed_origins: Vec<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            workers: 0,
            max_connections: 10_000,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            rate_limit_in_flight: 8,
            idle_timeout_secs: 300,
            ws_ping_interval_secs: 30,
            ws_pong_timeout_secs: 60,
            max_frame_bytes: 1024 * 1024,
            max_batch: 100,
            shutdown_grace_secs: 10,
            stream_timeout_secs: 300,
            token: None,
            metrics_token: None,
            allowed_origins: Vec::new(),
        }
    }
}

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

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// Data directory: database, vector indexes, models, state files.
    pub data_dir: PathBuf,
    /// SQLite file; default `<data_dir>/persona-mcp.db`.
    pub database_path: Option<PathBuf>,
    /// `postgres://…`: PostgreSQL instead of the SQLite file, shared by every instance given the same URL.
    pub database_url: Option<String>,
    /// Connections in the pool.
    pub pool_size: u32,
    /// Milliseconds SQLite waits on a locked database.
    pub busy_timeout_ms: u32,
    /// Seconds a request waits for a PostgreSQL connection (the server unreachable, every connection busy)
    /// before it fails with -32010 "Database unavailable" instead of hanging.
    pub pool_timeout_secs: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database_path: None,
            database_url: None,
            pool_size: 8,
            busy_timeout_ms: 5_000,
            pool_timeout_secs: 10,
        }
    }
}

impl StorageSettings {
    /// The SQLite file to open.
    pub fn database_file(&self) -> PathBuf {
        self.database_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("persona-mcp.db"))
    }
}

/// `[chat]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatSettings {
    /// Messages of history sent to the model.
    pub max_context_messages: usize,
    /// Past this many messages, older ones are folded into a summary.
    pub context_summary_threshold: usize,
    /// `token_budget` when the client sends none.
    pub default_token_budget: u32,
    /// Largest `token_budget` accepted.
    pub max_token_budget: u32,
    /// Largest chat message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Lowest similarity (cosine of the message's vector with a thread's; keyword overlap without an embedder)
    /// with which a message joins a topic thread instead of starting one.
    pub thread_threshold: f64,
    /// Added to the current thread's similarity, so a follow-up stays in its topic.
    pub thread_continuity_bonus: f64,
    /// How long (from the start of a turn) the threading step waits for the message's vector, which memory
    /// recall computes; past it the thread is chosen by keywords and its centroid takes the vector later.
    pub thread_vector_wait_ms: u64,
    /// Most images one chat message may carry (`images`).
    pub max_images: usize,
    /// Largest image accepted, in bytes once decoded (the whole frame must also fit `server.max_frame_bytes`).
    pub max_image_bytes: usize,
    /// Models that can see images, by name prefix (case-insensitive; `*` for every model). Other models get a
    /// short text note instead of the pictures.
    pub vision_models: Vec<String>,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            max_context_messages: 20,
            context_summary_threshold: 50,
            default_token_budget: 500,
            max_token_budget: 32_768,
            max_message_bytes: 64 * 1024,
            thread_threshold: 0.3,
            thread_continuity_bonus: 0.1,
            thread_vector_wait_ms: 5,
            max_images: 4,
            max_image_bytes: 4 * 1024 * 1024,
            vision_models: [
                "llava",
                "bakllava",
                "llama3.2-vision",
                "llama4",
                "gemma3",
                "qwen2.5vl",
                "qwen2-vl",
                "minicpm-v",
                "moondream",
                "granite3.2-vision",
                "mistral-small3",
                "pixtral",
                "gpt-4o",
                "gpt-4.1",
                "gpt-5",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// `[persona]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonaSettings {
    /// Seconds between regeneration ticks.
    pub regen_tick_secs: u64,
    /// Social energy regained per tick.
    pub energy_per_tick: f64,
    /// Seconds an idle chat conversation actor stays in memory.
    pub conversation_idle_secs: u64,
    /// Seed Aria and Kira when the database has no personas.
    pub seed_defaults: bool,
}

impl Default for PersonaSettings {
    fn default() -> Self {
        Self {
            regen_tick_secs: 30,
            energy_per_tick: 2.0,
            conversation_idle_secs: 600,
            seed_defaults: true,
        }
    }
}

/// `[logging]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggingSettings {
    /// A `tracing` filter: `info`, `debug`, `persona_mcp=debug,actix_web=info`…
    pub level: String,
    /// JSON lines instead of human-readable logs.
    pub json: bool,
    /// One `info` line per JSON-RPC call, MCP request and HTTP request (target `persona_mcp::access`).
    pub access: bool,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
            access: true,
        }
    }
}

/// `[bots]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BotSettings {
    /// Start the enabled bots when the server starts.
    pub autostart: bool,
    /// The `persona-mcp` binary bots run as (`persona-mcp bot --id …`); default: this very executable.
    pub executable: Option<PathBuf>,
    /// Most replies a bot posts in one room per minute (loop guard).
    pub max_replies_per_room_per_minute: u32,
    /// Least milliseconds between two edits of a streamed reply.
    pub edit_interval_ms: u64,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            autostart: true,
            executable: None,
            max_replies_per_room_per_minute: 10,
            edit_interval_ms: 1000,
        }
    }
}

/// A setting that failed to load or validate, with its key, value and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {key} = {value:?}: {allowed}")]
pub struct ConfigError {
    /// Dotted key, e.g. `server.port`.
    pub key: String,
    /// The value that was given.
    pub value: String,
    /// What would be accepted.
    pub allowed: String,
}

impl ConfigError {
    fn new(key: &str, value: impl ToString, allowed: &str) -> Self {
        Self {
            key: key.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// The old server's plain environment names and the keys they set.
const LEGACY_ENV: &[(&str, &str)] = &[
    ("SERVER_HOST", "server.host"),
    ("SERVER_PORT", "server.port"),
    ("MAX_CONNECTIONS", "server.max_connections"),
    ("OLLAMA_HOST", "llm.url"),
    ("DEFAULT_MODEL", "llm.model"),
    ("MAX_CONTEXT_MESSAGES", "chat.max_context_messages"),
    ("DATABASE_PATH", "storage.database_path"),
    ("LOG_LEVEL", "logging.level"),
    ("SESSION_TIMEOUT_HOURS", "persona.conversation_idle_secs"),
    ("MEMORY_PRUNING_THRESHOLD", "memory.pruning_threshold"),
    ("MEMORY_MIN_SAFE_COUNT", "memory.min_safe_count"),
    ("MEMORY_MAX_PRUNE_PERCENT", "memory.max_prune_percent"),
    ("MEMORY_AUTO_PRUNE_THRESHOLD", "memory.auto_prune_threshold"),
    ("MEMORY_DECAY_ENABLED", "memory.decay_enabled"),
    ("MEMORY_DECAY_MODE", "memory.decay_mode"),
    ("MEMORY_DECAY_INTERVAL_MINUTES", "memory.decay_interval_minutes"),
    ("PERSONA_REGEN_TICK_SECONDS", "persona.regen_tick_secs"),
    ("PERSONA_ENERGY_PER_TICK", "persona.energy_per_tick"),
];

impl Settings {
    /// Loads every layer. `file`: an explicit config file (must exist); otherwise `persona-mcp.toml` in the
    /// working directory is read when present. `.env` is read into the environment first (never overriding it).
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let defaults = Config::try_from(&Settings::default())
            .map_err(|e| ConfigError::new("(defaults)", e, "built-in defaults must serialise"))?;
        let mut builder = Config::builder().add_source(defaults);
        builder = match file {
            Some(path) => builder.add_source(File::from(path).format(FileFormat::Toml).required(true)),
            None => builder.add_source(File::new("persona-mcp", FileFormat::Toml).required(false)),
        };
        for (name, key) in LEGACY_ENV {
            if let Ok(value) = std::env::var(name) {
                builder = builder
                    .set_override(*key, legacy_value(name, value))
                    .map_err(|e| ConfigError::new(key, name, &e.to_string()))?;
            }
        }
        let env = Environment::with_prefix("PERSONA_MCP")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("server.allowed_origins")
            .with_list_parse_key("chat.vision_models");
        let config = builder
            .add_source(env)
            .build()
            .map_err(|e| ConfigError::new("(config)", "", &e.to_string()))?;
        let mut settings: Settings = config.clone().try_deserialize().map_err(|e| {
            let key = config_key(&e);
            let given = config.get_string(&key).unwrap_or_default();
            let text = e.to_string();
            let allowed = text.split(" for key `").next().unwrap_or(&text);
            ConfigError::new(&key, given, allowed)
        })?;
        settings.validate()?;
        settings.config_file = file.map(Path::to_path_buf);
        Ok(settings)
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

    /// Checks every value that has a range; the first bad one is reported with its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.host.trim().is_empty() {
            return Err(ConfigError::new("server.host", &s.host, "a host name or IP address"));
        }
        check_min("server.max_connections", s.max_connections, 1)?;
        check_min("state.keep", self.state.keep, 1)?;
        check_min("server.rate_limit_per_second", s.rate_limit_per_second as usize, 1)?;
        check_min("server.rate_limit_burst", s.rate_limit_burst as usize, 1)?;
        check_min("server.max_frame_bytes", s.max_frame_bytes, 1024)?;
        check_min("server.max_batch", s.max_batch, 1)?;
        check_min("server.stream_timeout_secs", s.stream_timeout_secs as usize, 1)?;
        check_min("server.idle_timeout_secs", s.idle_timeout_secs as usize, 1)?;
        check_min("server.ws_ping_interval_secs", s.ws_ping_interval_secs as usize, 1)?;
        check_min("server.ws_pong_timeout_secs", s.ws_pong_timeout_secs as usize, 1)?;
        check_min(
            "bots.max_replies_per_room_per_minute",
            self.bots.max_replies_per_room_per_minute as usize,
            1,
        )?;
        check_min("bots.edit_interval_ms", self.bots.edit_interval_ms as usize, 1000)?;
        for origin in &s.allowed_origins {
            let url = reqwest::Url::parse(origin).ok();
            if !url.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some()) {
                return Err(ConfigError::new(
                    "server.allowed_origins",
                    origin,
                    "web origins such as https://app.example or http://localhost:3000",
                ));
            }
        }
        let l = &self.llm;
        if !(l.top_p > 0.0 && l.top_p <= 1.0) {
            return Err(ConfigError::new(
                "llm.top_p",
                l.top_p,
                "a number above 0.0, at most 1.0",
            ));
        }
        if !(1.0..=2.0).contains(&l.repeat_penalty) {
            return Err(ConfigError::new(
                "llm.repeat_penalty",
                l.repeat_penalty,
                "a number from 1.0 to 2.0",
            ));
        }
        if !(0.0..=2.0).contains(&l.embedded_max_temperature) {
            return Err(ConfigError::new(
                "llm.embedded_max_temperature",
                l.embedded_max_temperature,
                "a number from 0.0 to 2.0",
            ));
        }
        check_min("llm.embedded_max_concurrent", l.embedded_max_concurrent, 1)?;
        check_min(
            "llm.embedded_queue_timeout_secs",
            l.embedded_queue_timeout_secs as usize,
            1,
        )?;
        check_min("llm.probe_interval_secs", l.probe_interval_secs as usize, 1)?;
        if reqwest::Url::parse(&l.url).is_err() {
            return Err(ConfigError::new(
                "llm.url",
                &l.url,
                "an http(s) URL such as http://localhost:11434",
            ));
        }
        if l.model.trim().is_empty() {
            return Err(ConfigError::new("llm.model", &l.model, "a model name such as llama3.2"));
        }
        if let Some(p) = self.models.problem() {
            return Err(ConfigError::new(&p.key, p.value, &p.allowed));
        }
        check_min("llm.connect_timeout_secs", l.connect_timeout_secs as usize, 1)?;
        check_min("llm.read_timeout_secs", l.read_timeout_secs as usize, 1)?;
        if !(0.0..=2.0).contains(&l.temperature) {
            return Err(ConfigError::new(
                "llm.temperature",
                l.temperature,
                "a number from 0.0 to 2.0",
            ));
        }
        if self.admin.host.trim().is_empty() {
            return Err(ConfigError::new(
                "admin.host",
                &self.admin.host,
                "a host name or IP address",
            ));
        }
        if self.admin.token.as_ref().is_some_and(|t| t.trim().len() < 16) {
            return Err(ConfigError::new("admin.token", "<redacted>", "at least 16 characters"));
        }
        check_min("admin.log_lines", self.admin.log_lines, 1)?;
        check_min("storage.pool_size", self.storage.pool_size as usize, 1)?;
        check_min("storage.pool_timeout_secs", self.storage.pool_timeout_secs as usize, 1)?;
        let c = &self.chat;
        check_min("chat.max_context_messages", c.max_context_messages, 1)?;
        if c.context_summary_threshold <= c.max_context_messages {
            return Err(ConfigError::new(
                "chat.context_summary_threshold",
                c.context_summary_threshold,
                "a number greater than chat.max_context_messages",
            ));
        }
        check_min("chat.default_token_budget", c.default_token_budget as usize, 1)?;
        if !(0.0..=1.0).contains(&c.thread_threshold) {
            return Err(ConfigError::new(
                "chat.thread_threshold",
                c.thread_threshold,
                "a number in 0..1",
            ));
        }
        if !(0.0..=1.0).contains(&c.thread_continuity_bonus) {
            return Err(ConfigError::new(
                "chat.thread_continuity_bonus",
                c.thread_continuity_bonus,
                "a number in 0..1",
            ));
        }
        if c.max_token_budget < c.default_token_budget {
            return Err(ConfigError::new(
                "chat.max_token_budget",
                c.max_token_budget,
                "at least chat.default_token_budget",
            ));
        }
        check_min("persona.regen_tick_secs", self.persona.regen_tick_secs as usize, 1)?;
        check_min(
            "persona.conversation_idle_secs",
            self.persona.conversation_idle_secs as usize,
            1,
        )?;
        let e = &self.embedder;
        if matches!(e.provider, EmbedderProvider::Ollama | EmbedderProvider::Openai) && e.dimension == 0 {
            return Err(ConfigError::new(
                "embedder.dimension",
                e.dimension,
                "the model's vector size (e.g. 768 for nomic-embed-text)",
            ));
        }
        check_min("embedder.batch_size", e.batch_size, 1)?;
        check_min("embedder.timeout_secs", e.timeout_secs as usize, 1)?;
        let m = &self.memory;
        if crate::domain::decay::DecayMode::parse(&m.decay_mode).is_none() {
            return Err(ConfigError::new(
                "memory.decay_mode",
                &m.decay_mode,
                "linear, exponential, logarithmic or access_based",
            ));
        }
        if !(0.0..=1.0).contains(&m.max_prune_percent) {
            return Err(ConfigError::new(
                "memory.max_prune_percent",
                m.max_prune_percent,
                "a number from 0 to 1",
            ));
        }
        if !(0.0..=1.0).contains(&m.auto_prune_below) {
            return Err(ConfigError::new(
                "memory.auto_prune_below",
                m.auto_prune_below,
                "a number from 0 to 1",
            ));
        }
        check_min("memory.decay_interval_minutes", m.decay_interval_minutes as usize, 1)?;
        check_min("memory.max_personas_per_cycle", m.max_personas_per_cycle, 1)?;
        check_min("memory.max_content_bytes", m.max_content_bytes, 1)?;
        if tracing_subscriber::EnvFilter::try_new(&self.logging.level).is_err() {
            return Err(ConfigError::new(
                "logging.level",
                &self.logging.level,
                "error, warn, info, debug, trace or a tracing filter",
            ));
        }
        Ok(())
    }
}

fn check_min(key: &str, value: usize, min: usize) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(key, value, &format!("a whole number ≥ {min}")));
    }
    Ok(())
}

/// `OLLAMA_HOST` is often given as `host:port` without a scheme; `SESSION_TIMEOUT_HOURS` is in hours.
fn legacy_value(name: &str, value: String) -> String {
    match name {
        "OLLAMA_HOST" if !value.contains("://") => format!("http://{value}"),
        "SESSION_TIMEOUT_HOURS" => value
            .trim()
            .parse::<f64>()
            .map(|h| ((h * 3600.0).round() as u64).to_string())
            .unwrap_or(value),
        _ => value,
    }
}

/// The key a deserialisation error names, when it names one.
fn config_key(e: &config::ConfigError) -> String {
    let text = e.to_string();
    text.split(" for key `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or("(config)")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn providers_read_and_write_their_lowercase_names() {
        for (name, provider) in [
            ("auto", LlmProvider::Auto),
            ("ollama", LlmProvider::Ollama),
            ("openai", LlmProvider::Openai),
            ("embedded", LlmProvider::Embedded),
        ] {
            let read: LlmProvider = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(read, provider);
            assert_eq!(provider.to_string(), name);
        }
        for (name, provider) in [
            ("minilm", EmbedderProvider::Minilm),
            ("ollama", EmbedderProvider::Ollama),
            ("openai", EmbedderProvider::Openai),
            ("none", EmbedderProvider::None),
        ] {
            let read: EmbedderProvider = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(read, provider);
            assert_eq!(provider.to_string(), name);
        }
        for (name, precision) in [("int8", EmbedderPrecision::Int8), ("f32", EmbedderPrecision::F32)] {
            let read: EmbedderPrecision = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(read, precision);
            assert_eq!(precision.to_string(), name);
        }
        assert_eq!(EmbedderSettings::default().precision, EmbedderPrecision::Int8);
        let unknown = serde_json::from_value::<EmbedderPrecision>(serde_json::json!("fp16")).unwrap_err();
        assert_eq!(unknown.to_string(), "int8 or f32");
        let unknown = serde_json::from_value::<LlmProvider>(serde_json::json!("gpt")).unwrap_err();
        assert_eq!(unknown.to_string(), "auto, ollama, openai or embedded");
        let unknown = serde_json::from_value::<EmbedderProvider>(serde_json::json!("w2v")).unwrap_err();
        assert_eq!(unknown.to_string(), "minilm, ollama, openai or none");
    }

    #[test]
    fn summary_threshold_must_exceed_window() {
        let mut s = Settings::default();
        s.chat.context_summary_threshold = 10;
        assert_eq!(s.validate().unwrap_err().key, "chat.context_summary_threshold");
    }

    #[test]
    fn legacy_ollama_host_gets_a_scheme() {
        assert_eq!(legacy_value("OLLAMA_HOST", "gpu:11434".into()), "http://gpu:11434");
        assert_eq!(legacy_value("SERVER_PORT", "9000".into()), "9000");
        assert_eq!(legacy_value("SESSION_TIMEOUT_HOURS", "1.5".into()), "5400");
    }
}
