//! `AppError`: the failures of a request, whichever front door it came through. `rpc::framing` maps it to
//! JSON-RPC codes and `web::error` to HTTP statuses; nothing else knows codes.

use serde_json::Value;

use crate::storage::StorageError;

/// Everything a request can fail with, named for what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A parameter is missing, of the wrong type or out of range. `message` names the field.
    #[error("{message}")]
    InvalidParam {
        /// The offending parameter's name.
        field: String,
        /// What the client sees ("persona_id is required").
        message: String,
    },
    /// No persona with this id or name.
    #[error("Persona not found: {0}")]
    PersonaNotFound(String),
    /// A method that needs a current persona was called before `persona.switch`.
    #[error("{0}")]
    NoPersonaSelected(&'static str),
    /// The LLM backend could not be reached or failed.
    #[error("{message}")]
    LlmUnavailable {
        /// `ollama` or `openai`.
        backend: String,
        /// The URL that was tried.
        url: String,
        /// What to start or configure.
        hint: String,
        /// Full human-readable message.
        message: String,
    },
    /// No conversation or stream with this id.
    #[error("Conversation not found: {0}")]
    ConversationNotFound(String),
    /// No memory with this id (or none the caller may see).
    #[error("Memory not found: {0}")]
    MemoryNotFound(String),
    /// No Matrix bot with this id.
    #[error("Bot not found: {0}")]
    BotNotFound(String),
    /// A rate or connection limit was hit.
    #[error("Rate limit exceeded, retry in {retry_after_ms} ms")]
    RateLimited {
        /// When the client may try again.
        retry_after_ms: u64,
    },
    /// The persona is cooling down or out of social energy.
    #[error("Persona {0} is not available for interaction")]
    PersonaUnavailable(String),
    /// A name is taken or a file is incompatible.
    #[error("{0}")]
    Conflict(String),
    /// A streamed reply took longer than `server.stream_timeout_secs`.
    #[error("Streaming request timed out after {secs} seconds")]
    StreamTimedOut {
        /// The timeout it hit.
        secs: u64,
    },
    /// The database does not answer (PostgreSQL unreachable, no connection within `storage.pool_timeout_secs`);
    /// the request may be retried. The detail is logged, never sent.
    #[error("Database unavailable: the server cannot reach its database; try again shortly")]
    DatabaseUnavailable(String),
    /// A bug or an infrastructure failure; details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Shorthand for [`AppError::InvalidParam`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidParam {
            field: field.into(),
            message: message.into(),
        }
    }

    /// "`field` is required".
    pub fn required(field: &str) -> Self {
        Self::invalid(field, format!("{field} is required"))
    }

    /// Extra structured data for the client, if any.
    pub fn data(&self) -> Option<Value> {
        use serde_json::json;
        match self {
            Self::InvalidParam { field, .. } => Some(json!({ "field": field })),
            Self::PersonaNotFound(id) => Some(json!({ "persona_id": id })),
            Self::LlmUnavailable { backend, url, hint, .. } => {
                Some(json!({ "backend": backend, "url": url, "hint": hint }))
            }
            Self::ConversationNotFound(id) => Some(json!({ "conversation_id": id })),
            Self::MemoryNotFound(id) => Some(json!({ "memory_id": id })),
            Self::BotNotFound(id) => Some(json!({ "bot_id": id })),
            Self::RateLimited { retry_after_ms } => Some(json!({ "retry_after_ms": retry_after_ms })),
            _ => None,
        }
    }
}

/// Storage failures become internal errors, except unique-name conflicts and writes for a persona deleted
/// meanwhile (missing rows the repositories answer as `None`).
impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(m) => Self::Conflict(m),
            StorageError::PersonaGone(id) => Self::PersonaNotFound(id),
            StorageError::Pool(detail) => Self::DatabaseUnavailable(detail),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// LLM failures carry their URL and a hint on what to start.
impl From<crate::llm::LlmError> for AppError {
    fn from(e: crate::llm::LlmError) -> Self {
        Self::LlmUnavailable {
            backend: e.backend.to_string(),
            url: e.url.clone(),
            hint: e.hint(),
            message: e.to_string(),
        }
    }
}

/// Actor mailbox failures are bugs from the client's point of view.
impl From<actix::MailboxError> for AppError {
    fn from(e: actix::MailboxError) -> Self {
        Self::Internal(format!("actor mailbox: {e}"))
    }
}
