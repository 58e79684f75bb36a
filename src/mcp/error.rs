//! Why an MCP request is refused, and the one mapping of those refusals to JSON-RPC errors.

use serde_json::json;

use crate::error::AppError;
use crate::rpc::framing::{RpcError, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND};

/// -32002: the resource does not exist (MCP's code for `resources/read`).
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// -32022: the request's protocol version is not supported (stateless revision).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// -32020: an HTTP header disagrees with the request body (stateless revision).
pub const HEADER_MISMATCH: i64 = -32020;

/// Why an MCP request is refused (tool failures are not errors: they are results with `isError`).
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// A request other than `initialize`, `ping` or `server/discover` before the handshake.
    #[error("Server not initialized: send initialize first (or use the stateless revision's _meta)")]
    NotInitialized,
    /// A stateless request with a version this server does not speak.
    #[error("Unsupported protocol version: {requested}")]
    UnsupportedVersion {
        /// The version the request carried.
        requested: String,
        /// The versions this server speaks.
        supported: &'static [&'static str],
    },
    /// An HTTP header (`MCP-Protocol-Version`, `Mcp-Method`) disagrees with the request body.
    #[error("{0} header does not match the request body")]
    HeaderMismatch(&'static str),
    /// The request itself is malformed (a missing or ill-typed MCP-level param).
    #[error("{0}")]
    InvalidParams(String),
    /// `tools/call` of a tool that does not exist.
    #[error("Unknown tool: {0}")]
    UnknownTool(String),
    /// `prompts/get` of a prompt that does not exist.
    #[error("Unknown prompt: {0}")]
    UnknownPrompt(String),
    /// `resources/read` of a URI that names nothing.
    #[error("Resource not found: {0}")]
    ResourceNotFound(String),
    /// A `cursor` this server did not hand out.
    #[error("Invalid cursor: {0}")]
    InvalidCursor(String),
    /// An MCP method this server does not implement.
    #[error("Method not found: {0}")]
    MethodNotFound(String),
    /// Reading the data failed.
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<McpError> for RpcError {
    fn from(e: McpError) -> Self {
        let message = e.to_string();
        match e {
            McpError::NotInitialized => RpcError::new(INVALID_REQUEST, message),
            McpError::HeaderMismatch(_) => RpcError::new(HEADER_MISMATCH, message),
            McpError::UnsupportedVersion { requested, supported } => RpcError {
                data: Some(json!({ "supported": supported, "requested": requested })),
                ..RpcError::new(UNSUPPORTED_PROTOCOL_VERSION, message)
            },
            McpError::InvalidParams(_)
            | McpError::UnknownTool(_)
            | McpError::UnknownPrompt(_)
            | McpError::InvalidCursor(_) => RpcError::new(INVALID_PARAMS, message),
            McpError::ResourceNotFound(uri) => RpcError {
                data: Some(json!({ "uri": uri })),
                ..RpcError::new(RESOURCE_NOT_FOUND, message)
            },
            McpError::MethodNotFound(_) => RpcError::new(METHOD_NOT_FOUND, message),
            McpError::App(e) => e.into(),
        }
    }
}
