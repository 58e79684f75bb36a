//! Why an MCP request is refused, and the one mapping of those refusals to JSON-RPC errors (their codes are
//! `rpc::framing`'s).

use crate::error::AppError;
use crate::rpc::framing::RpcError;

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
            McpError::NotInitialized => RpcError::refused(message),
            McpError::HeaderMismatch(_) => RpcError::header_mismatch(message),
            McpError::UnsupportedVersion { requested, supported } => {
                RpcError::unsupported_version(message, &requested, supported)
            }
            McpError::InvalidParams(_)
            | McpError::UnknownTool(_)
            | McpError::UnknownPrompt(_)
            | McpError::InvalidCursor(_) => RpcError::invalid_params(message),
            McpError::ResourceNotFound(uri) => RpcError::resource_not_found(message, &uri),
            McpError::MethodNotFound(method) => RpcError::method_not_found(&method),
            McpError::App(e) => e.into(),
        }
    }
}
