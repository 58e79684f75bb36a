//! Results of `system.*` and `visual.*`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::model_rules::{ModelRule, PersonaModel};

/// `system.status`.
#[derive(Serialize, JsonSchema)]
pub struct SystemStatus {
    /// Always "operational".
    pub system_status: &'static str,
    /// "healthy", or "degraded" when the LLM backend does not answer.
    pub health: &'static str,
    /// The LLM backend answered.
    pub llm_available: bool,
    /// The backend serving chats now: "ollama", "openai" or "embedded".
    pub llm_provider: &'static str,
    /// Set when chats use the embedded model instead of the configured server: why, and what to start.
    pub llm_hint: Option<String>,
    /// Personas.
    pub total_personas: usize,
    /// Personas free to interact.
    pub available_personas: usize,
    /// Chat and persona-to-persona conversations running.
    pub active_conversations: usize,
    /// The connection's current persona.
    pub current_persona: Option<Uuid>,
    /// The current persona's chat conversation on this session.
    pub current_conversation: Option<Uuid>,
    /// Now.
    pub timestamp: DateTime<Utc>,
    /// Open connections.
    pub active_connections: usize,
    /// This session's handle.
    pub session_id: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Server version.
    pub version: &'static str,
    /// Memories waiting for their vector in the background (keyword search finds them meanwhile).
    pub memory_embed_backlog: usize,
    /// The embedder's name (e.g. "minilm:all-MiniLM-L6-v2"); null without one.
    pub embedder: Option<String>,
    /// "int8" or "f32" for the built-in MiniLM (`embedder.precision`); null for the others.
    pub embedder_precision: Option<&'static str>,
}

/// `system.models`.
#[derive(Serialize, JsonSchema)]
pub struct Models {
    /// What the LLM backend offers.
    pub available_models: Vec<String>,
    /// The model used when a persona names none.
    pub current_model: String,
    /// "ollama", "openai" or "embedded".
    pub provider: String,
    /// Set when chats use the embedded model instead of the configured server (`llm.url`): why, and what to
    /// start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The `[models]` rules, in the order they are tried (the first that matches picks the model).
    pub rules: Vec<ModelRule>,
    /// Per-persona models and options (`[[models.personas]]`).
    pub persona_models: Vec<PersonaModel>,
    /// Models tried in order, after a rule's own, when the chosen one is missing.
    pub fallback: Vec<String>,
    /// Every model the settings name, and whether the server offers it.
    pub configured_models: Vec<ConfiguredModel>,
}

/// A model the settings name.
#[derive(Serialize, JsonSchema)]
pub struct ConfiguredModel {
    /// Its name.
    pub model: String,
    /// True when the server lists it (`name` and `name:latest` are the same model).
    pub available: bool,
}

/// `visual.update`.
#[derive(Serialize, JsonSchema)]
pub struct VisualUpdated {
    /// Always true.
    pub visual_updated: bool,
    /// The update's kind.
    pub update_type: String,
    /// When it was sent.
    pub timestamp: DateTime<Utc>,
    /// Connections it was sent to.
    pub recipients: usize,
    /// The scene it set (type "scene" only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<crate::domain::scene::Scene>,
}

/// `visual.subscribe`.
#[derive(Serialize, JsonSchema)]
pub struct Subscribed {
    /// Whether the connection now receives `visual.update`.
    pub subscribed: bool,
}
