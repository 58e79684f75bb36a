//! Protocol revisions and the lifecycle: the `initialize` handshake (2025-03-26 … 2025-11-25) with version
//! negotiation, the stateless revision 2026-07-28 (`server/discover`, protocol version and client capabilities
//! in each request's `_meta`), `ping`, `logging/setLevel`, the client's notifications, and the envelope every
//! stateless result gets.

use serde_json::{Map, Value};

use super::error::McpError;
use super::log_level::LogLevel;
use super::session::{Handshake, McpState};
use super::wire::{
    DiscoverResult, Empty, Implementation, InitializeResult, McpResult, ServerCapabilities, Stateless, StatelessMeta,
};
use crate::error::AppError;
use crate::rpc::context::Ctx;

/// Revisions reached with the `initialize` handshake, oldest first.
pub const HANDSHAKE_VERSIONS: [&str; 3] = ["2025-03-26", "2025-06-18", "2025-11-25"];
/// Stateless revisions: every request carries its version and the client's capabilities in `_meta`.
pub const STATELESS_VERSIONS: [&str; 1] = ["2026-07-28"];
/// `_meta` key of a stateless request's protocol version.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of a stateless request's client capabilities.
const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of a stateless request's log level (its opt-in to `notifications/message`).
const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// Methods whose stateless results carry caching hints.
const CACHEABLE: [&str; 6] = [
    "server/discover",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
];

/// What the model using this server should know.
const INSTRUCTIONS: &str = "persona-mcp hosts AI personas with personalities, long-term memories and \
relationships. Call persona_list to see them and persona_switch to pick one (keep the session_id it returns and \
pass it to later calls when your client does not hold a session), then persona_chat to talk with it. \
memory_search and relationship_list look into what a persona remembers and whom it knows; the persona:// \
resources and the chat_as_* prompts give the same data read-only.";

/// The revision a request is answered under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Era {
    /// After (or while making) the `initialize` handshake: the connection holds the negotiated version.
    Handshake,
    /// 2026-07-28: the request carries everything; `log_level` is its opt-in to log messages.
    Stateless {
        /// The request's `_meta` log level.
        log_level: Option<LogLevel>,
    },
}

/// Decides the revision of a request, refusing what cannot be answered: a stateless envelope with an unknown
/// version or without client capabilities, and anything but `initialize`, `ping` and `server/discover` on a
/// connection that has not made the handshake.
pub fn era(state: &McpState, ctx: &Ctx, method: &str, params: &Map<String, Value>) -> Result<Era, McpError> {
    let meta = params.get("_meta").and_then(Value::as_object);
    if let Some(meta) = meta.filter(|m| m.contains_key(PROTOCOL_VERSION_KEY) && method != "initialize") {
        let version = meta
            .get(PROTOCOL_VERSION_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| McpError::InvalidParams(format!("_meta.{PROTOCOL_VERSION_KEY} must be a string")))?;
        if !STATELESS_VERSIONS.contains(&version) {
            return Err(McpError::UnsupportedVersion {
                requested: version.to_string(),
                supported: &STATELESS_VERSIONS,
            });
        }
        if !meta.get(CLIENT_CAPABILITIES_KEY).is_some_and(Value::is_object) {
            return Err(McpError::InvalidParams(format!(
                "_meta.{CLIENT_CAPABILITIES_KEY} is required (an object)"
            )));
        }
        let log_level = meta
            .get(LOG_LEVEL_KEY)
            .and_then(Value::as_str)
            .and_then(LogLevel::parse);
        return Ok(Era::Stateless { log_level });
    }
    match method {
        "server/discover" => Ok(Era::Stateless { log_level: None }),
        "initialize" | "ping" => Ok(Era::Handshake),
        _ if state.session(&ctx.conn).handshake().is_some() => Ok(Era::Handshake),
        _ => Err(McpError::NotInitialized),
    }
}

/// `initialize`: answers with the version the client asked for when supported, else the newest.
pub fn initialize(state: &McpState, ctx: &Ctx, params: &Map<String, Value>) -> Result<InitializeResult, McpError> {
    let requested = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| McpError::InvalidParams("protocolVersion is required (a string)".into()))?;
    let version = HANDSHAKE_VERSIONS
        .into_iter()
        .find(|v| *v == requested)
        .unwrap_or(HANDSHAKE_VERSIONS[HANDSHAKE_VERSIONS.len() - 1]);
    state.session(&ctx.conn).set_handshake(Handshake {
        version: version.to_string(),
    });
    Ok(InitializeResult {
        protocol_version: version,
        capabilities: ServerCapabilities::this(),
        server_info: Implementation::THIS,
        instructions: INSTRUCTIONS,
    })
}

/// `server/discover`: the stateless revisions, capabilities and instructions.
pub fn discover() -> DiscoverResult {
    DiscoverResult {
        supported_versions: &STATELESS_VERSIONS,
        capabilities: ServerCapabilities::this(),
        instructions: INSTRUCTIONS,
    }
}

/// `logging/setLevel`.
pub fn set_level(state: &McpState, ctx: &Ctx, params: &Map<String, Value>) -> Result<Empty, McpError> {
    let level = params
        .get("level")
        .and_then(Value::as_str)
        .and_then(LogLevel::parse)
        .ok_or_else(|| {
            let names: Vec<&str> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
            McpError::InvalidParams(format!("level must be one of {}", names.join(", ")))
        })?;
    state.session(&ctx.conn).set_log_level(level);
    Ok(Empty {})
}

/// A notification from the client: `notifications/cancelled` stops the call it names; the others
/// (`initialized`, `progress`, `roots/list_changed`) need nothing.
pub fn notification(state: &McpState, ctx: &Ctx, method: &str, params: &Value) {
    if method == "notifications/cancelled" {
        if let Some(id) = params.get("requestId") {
            let cancelled = state.session(&ctx.conn).cancel(id);
            tracing::debug!(request_id = %id, cancelled, "MCP cancellation");
        }
    }
}

/// Gives a stateless result what the revision requires: `resultType`, the server's identity in `_meta`, and
/// caching hints on the cacheable methods (`server/discover` may be shared, the rest are the caller's). Handshake
/// results are sent as they are.
pub fn finish(era: Era, method: &str, result: McpResult) -> Result<Value, AppError> {
    let value = match era {
        Era::Handshake => serde_json::to_value(result),
        Era::Stateless { .. } => {
            let cacheable = CACHEABLE.contains(&method);
            serde_json::to_value(Stateless {
                result,
                result_type: "complete",
                meta: StatelessMeta {
                    server_info: Implementation::THIS,
                },
                ttl_ms: cacheable.then_some(0),
                cache_scope: cacheable.then_some(if method == "server/discover" {
                    "public"
                } else {
                    "private"
                }),
            })
        }
    };
    value.map_err(|e| AppError::Internal(format!("serialising the {method} result: {e}")))
}
