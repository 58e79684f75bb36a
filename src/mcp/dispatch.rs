//! MCP dispatch above the JSON-RPC router: MCP requests and notifications are answered here, every other
//! method goes to the router. The transports hand each frame to a [`Dispatcher`].

use std::sync::Arc;

use serde_json::{Map, Value};

use super::error::McpError;
use super::session::McpState;
use super::wire::{Empty, McpResult};
use super::{lifecycle, prompts, resources, tools};
use crate::rpc::access::{Call, Ending};
use crate::rpc::batch::{answer_frame, Answer};
use crate::rpc::context::Ctx;
use crate::rpc::framing::{Request, Response, RpcError};
use crate::rpc::router::Router;

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

/// The method table with MCP on top of it, and the MCP state every transport shares (sessions, calls in
/// flight, session handles).
pub struct Dispatcher {
    router: Arc<Router>,
    state: Arc<McpState>,
}

impl Dispatcher {
    /// MCP over `router`, with no session yet.
    pub fn new(router: Arc<Router>) -> Self {
        Self {
            router,
            state: Arc::default(),
        }
    }

    /// The MCP state (Streamable HTTP sessions, routes of request-related frames).
    pub fn state(&self) -> &Arc<McpState> {
        &self.state
    }

    /// Answers one request or notification: MCP's here, the rest by the router.
    pub async fn call(&self, ctx: &Ctx, req: Request) -> Option<Response> {
        if is_mcp_method(&req.method) {
            self.handle(ctx, req).await
        } else {
            self.router.call(ctx, req).await
        }
    }

    /// Answers one text frame: a request, a notification or a batch. `None` when nothing is to be sent.
    pub async fn handle_text(&self, ctx: &Ctx, text: &str, max_batch: usize) -> Option<Answer> {
        answer_frame(text, max_batch, |req| self.call(ctx, req)).await
    }

    /// Answers one MCP request or notification; `None` when nothing is to be sent (a notification, or a call the
    /// client cancelled).
    async fn handle(&self, ctx: &Ctx, req: Request) -> Option<Response> {
        let Some(id) = req.id else {
            lifecycle::notification(&self.state, ctx, &req.method, &req.params);
            return None;
        };
        let call = Call::start(ctx, &req.params);
        let ctx = ctx.for_request(id.clone());
        let answer = self.answer(&ctx, &req.method, req.params).await.map_err(RpcError::from);
        let ending = match &answer {
            Ok(Some(_)) => Ending::Answered,
            Ok(None) => Ending::Cancelled,
            Err(e) => Ending::Failed(e),
        };
        let metric = if METHODS.contains(&req.method.as_str()) {
            req.method.as_str()
        } else {
            "notifications/*"
        };
        call.finish(&ctx.app, metric, &req.method, ending);
        match answer {
            Ok(Some(result)) => Some(Response::success(id, result)),
            Ok(None) => None,
            Err(e) => Some(Response::failure(id, e)),
        }
    }

    async fn answer(&self, ctx: &Ctx, method: &str, params: Value) -> Result<Option<Value>, McpError> {
        let params = match params {
            Value::Object(p) => p,
            Value::Array(a) if a.is_empty() => Map::new(),
            _ => return Err(McpError::InvalidParams("params must be an object".into())),
        };
        let (router, state) = (&self.router, &self.state);
        let era = lifecycle::era(state, ctx, method, &params)?;
        let result = match method {
            "initialize" => McpResult::Initialize(lifecycle::initialize(state, ctx, &params)?),
            "server/discover" => McpResult::Discover(lifecycle::discover()),
            "ping" => McpResult::Empty(Empty {}),
            "logging/setLevel" => McpResult::Empty(lifecycle::set_level(state, ctx, &params)?),
            "tools/list" => McpResult::Tools(tools::list(router, &params)?),
            "tools/call" => match tools::call(router, state, ctx, era, &params).await? {
                Some(result) => McpResult::CallTool(result),
                None => return Ok(None),
            },
            "resources/list" => McpResult::Resources(resources::list(ctx, &params).await?),
            "resources/templates/list" => McpResult::ResourceTemplates(resources::templates(&params)?),
            "resources/read" => McpResult::ReadResource(resources::read(router, ctx, &params).await?),
            "prompts/list" => McpResult::Prompts(prompts::list(ctx, &params).await?),
            "prompts/get" => McpResult::GetPrompt(prompts::get(ctx, &params).await?),
            other => return Err(McpError::MethodNotFound(other.to_string())),
        };
        Ok(Some(lifecycle::finish(era, method, result)?))
    }
}

/// True for the names answered here: the MCP requests and every `notifications/*`.
fn is_mcp_method(name: &str) -> bool {
    METHODS.contains(&name) || name.starts_with("notifications/")
}
