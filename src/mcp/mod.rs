//! The Model Context Protocol on top of the same router: any MCP host can chat with a persona, search its
//! memories and inspect its relationships.
//!
//! - [`lifecycle`]: revisions (the `initialize` handshake up to 2025-11-25, the stateless 2026-07-28 with
//!   `server/discover`), `ping`, `logging/setLevel`, cancellation;
//! - [`tools`]: every router method as a tool, its input schema generated from its params type;
//! - [`resources`]: `persona://{id}`, `persona://{id}/memories`, `persona://{id}/relationships`;
//! - [`prompts`]: one `chat_as_{name}` prompt per persona;
//! - [`session`]: what is kept between requests;
//! - [`stdio`]: the `persona-mcp stdio` transport (Streamable HTTP is `web::mcp_http`; the WebSocket endpoint
//!   answers MCP beside JSON-RPC).
//!
//! The router sends every MCP method here ([`is_mcp_method`], [`handle`]), so each transport only moves
//! frames.

pub mod lifecycle;
pub mod prompts;
pub mod resources;
pub mod session;
pub mod stdio;
pub mod tools;

use std::time::Instant;

use serde_json::{json, Map, Value};

pub use session::McpState;

use crate::error::AppError;
use crate::rpc::context::Ctx;
use crate::rpc::framing::{failure, success, Request, RpcError, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND};
use crate::rpc::router::{Reply, Router};
use lifecycle::STATELESS_VERSIONS;

/// The MCP requests served here.
const METHODS: [&str; 11] = [
    "initialize",
    "ping",
    "server/discover",
    "logging/setLevel",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
];

/// Items per page of the list methods (`cursor` / `nextCursor`).
const PAGE_SIZE: usize = 32;

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
            McpError::UnsupportedVersion { requested } => RpcError {
                data: Some(json!({ "supported": STATELESS_VERSIONS, "requested": requested })),
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

/// True for the names the router hands to [`handle`]: the MCP requests and every `notifications/*`.
pub fn is_mcp_method(name: &str) -> bool {
    METHODS.contains(&name) || name.starts_with("notifications/")
}

/// Answers one MCP request or notification; `None` when nothing is to be sent (a notification, or a call the
/// client cancelled).
pub async fn handle(router: &Router, ctx: &Ctx, req: Request) -> Option<Value> {
    let state = router.mcp();
    let Some(id) = req.id else {
        lifecycle::notification(state, ctx, &req.method, &req.params);
        return None;
    };
    let started = Instant::now();
    let ctx = ctx.for_request(id.clone());
    let answer = answer(router, &ctx, &req.method, req.params).await;
    let outcome = match &answer {
        Ok(Some(_)) => "ok",
        Ok(None) => "cancelled",
        Err(McpError::InvalidParams(_) | McpError::InvalidCursor(_)) => "invalid_params",
        Err(_) => "mcp_error",
    };
    let metric = if METHODS.contains(&req.method.as_str()) {
        req.method.as_str()
    } else {
        "notifications/*"
    };
    ctx.app.metrics.record_request(metric, outcome, started);
    match answer {
        Ok(Some(result)) => Some(success(&id, result)),
        Ok(None) => None,
        Err(e) => Some(failure(&id, e.into())),
    }
}

async fn answer(router: &Router, ctx: &Ctx, method: &str, params: Value) -> Result<Option<Value>, McpError> {
    let params = match params {
        Value::Object(p) => p,
        Value::Array(a) if a.is_empty() => Map::new(),
        _ => return Err(McpError::InvalidParams("params must be an object".into())),
    };
    let state = router.mcp();
    let era = lifecycle::era(state, ctx, method, &params)?;
    let result = match method {
        "initialize" => lifecycle::initialize(state, ctx, &params)?,
        "server/discover" => lifecycle::discover(),
        "ping" => json!({}),
        "logging/setLevel" => lifecycle::set_level(state, ctx, &params)?,
        "tools/list" => tools::list(router, &params)?,
        "tools/call" => match tools::call(router, ctx, era, &params).await? {
            Some(result) => result,
            None => return Ok(None),
        },
        "resources/list" => resources::list(ctx, &params).await?,
        "resources/templates/list" => resources::templates(&params)?,
        "resources/read" => resources::read(router, ctx, &params).await?,
        "prompts/list" => prompts::list(ctx, &params).await?,
        "prompts/get" => prompts::get(ctx, &params).await?,
        other => return Err(McpError::MethodNotFound(other.to_string())),
    };
    Ok(Some(lifecycle::finish(era, method, result)))
}

/// A string param that must be there.
fn required_str<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, McpError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| McpError::InvalidParams(format!("{name} is required (a string)")))
}

/// One page of `items` as `{key: [...], nextCursor?}`, from the request's `cursor` (an offset this server
/// handed out).
fn paged(key: &str, items: Vec<Value>, params: &Map<String, Value>) -> Result<Value, McpError> {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => c
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0 && n < items.len())
            .ok_or_else(|| McpError::InvalidCursor(c.clone()))?,
        Some(other) => return Err(McpError::InvalidCursor(other.to_string())),
    };
    let end = (start + PAGE_SIZE).min(items.len());
    let mut page = Map::new();
    if end < items.len() {
        page.insert("nextCursor".into(), json!(end.to_string()));
    }
    page.insert(
        key.into(),
        Value::Array(items.into_iter().skip(start).take(PAGE_SIZE).collect()),
    );
    Ok(Value::Object(page))
}

/// Runs a router method (non-streaming) and returns its result.
async fn call_method(router: &Router, ctx: &Ctx, method: &str, params: Value) -> Result<Value, AppError> {
    match router.invoke(ctx.clone(), method, params).await? {
        Reply::Value(v) => Ok(v),
        Reply::Sent => Err(AppError::Internal(format!("{method} streamed instead of answering"))),
    }
}
