//! `tools/list` and `tools/call`: every router method is a tool (`persona.chat` → `persona_chat`), its input
//! schema generated from the method's params type. A method that streams is a tool when it can report its
//! chunks as `notifications/progress` ([`Router::progress`]); failures are results with `isError: true`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::error::McpError;
use super::lifecycle::Era;
use super::log_level::LogLevel;
use super::params::{paged, required_str};
use super::session::McpState;
use super::wire::{CallToolResult, LogMessage, Page, Progress, Tool, ToolCallLog};
use crate::actors::turn::ChunkSink;
use crate::rpc::context::{Ctx, Outbox};
use crate::rpc::framing::{notification, RpcError};
use crate::rpc::router::{Method, Router};

/// What the `session_id` argument every tool takes does.
const SESSION_ID_DOC: &str = "Session handle returned by persona_switch (and system_status): resumes that \
session's current persona and conversations. Needed by clients that do not keep one connection open.";

/// The JSON Schema type of MCP's input and output schemas.
const OBJECT: &str = "object";

/// The tool name of a method.
pub fn tool_name(method: &str) -> String {
    method.replace('.', "_")
}

/// The methods offered as tools, in registration order.
fn offered(router: &Router) -> impl Iterator<Item = &Method> {
    router.methods().filter(|m| !m.streaming || m.reports_progress())
}

/// The input schema of a method: its params' JSON Schema, an object at the root, plus `session_id`.
fn input_schema(method: &Method) -> Value {
    let mut schema = (method.schema)();
    if let Value::Object(root) = &mut schema {
        root.insert("type".into(), OBJECT.into());
        if let Value::Object(props) = root.entry("properties").or_insert_with(|| Map::new().into()) {
            props.entry("session_id").or_insert_with(|| {
                let property = [("type", "string"), ("description", SESSION_ID_DOC)];
                Value::Object(property.map(|(k, v)| (k.to_string(), v.into())).into_iter().collect())
            });
        }
    }
    schema
}

/// The output schema of a method: its result type's JSON Schema, which MCP wants to be an object schema. A result
/// of several shapes (`anyOf` of objects) is an object too; `None` for a result that is not an object.
fn output_schema(method: &Method) -> Option<Value> {
    let mut schema = (method.result_schema)();
    let is_object = |s: &Value| s.get("type").and_then(Value::as_str) == Some(OBJECT);
    let variants_are_objects = ["anyOf", "oneOf"].iter().any(|key| {
        schema
            .get(*key)
            .and_then(Value::as_array)
            .is_some_and(|variants| variants.iter().all(is_object))
    });
    if variants_are_objects && schema.get("type").is_none() {
        schema["type"] = OBJECT.into();
    }
    is_object(&schema).then_some(schema)
}

fn describe(method: &Method) -> Tool {
    let mut description = method.description.to_string();
    if method.reports_progress() {
        description.push_str(" (send a progressToken to receive the reply chunk by chunk as progress notifications)");
    }
    Tool {
        name: tool_name(method.name),
        title: method.name,
        description,
        input_schema: input_schema(method),
        output_schema: output_schema(method),
    }
}

/// `tools/list`.
pub fn list(router: &Router, params: &Map<String, Value>) -> Result<Page<Tool>, McpError> {
    paged(offered(router).map(describe).collect(), params)
}

/// Reports chunks as `notifications/progress` under the caller's token (nothing without one).
fn progress_sink(outbox: Arc<dyn Outbox>, token: Option<Value>) -> ChunkSink {
    Box::new(move |chunk, number, _total| {
        if let Some(token) = &token {
            let params = Progress {
                progress_token: token,
                progress: number,
                message: chunk,
            };
            outbox.send(notification("notifications/progress", params).to_string().into());
        }
    })
}

/// `tools/call`. `None` when the client cancelled the call (no answer is sent then).
pub async fn call(
    router: &Router,
    state: &McpState,
    ctx: &Ctx,
    era: Era,
    params: &Map<String, Value>,
) -> Result<Option<CallToolResult>, McpError> {
    let name = required_str(params, "name")?;
    let method = offered(router)
        .find(|m| tool_name(m.name) == name)
        .ok_or_else(|| McpError::UnknownTool(name.to_string()))?;
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err(McpError::InvalidParams("arguments must be an object".into())),
    };
    if let Some(handle) = arguments.get("session_id").and_then(Value::as_str) {
        ctx.conn.resume_session(handle);
        if let Some(persona) = state.recall_persona(&ctx.conn.session_id()) {
            ctx.conn.set_current_persona(Some(persona));
        }
    }
    let progress_token = params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .filter(|t| t.is_string() || t.is_number())
        .cloned();
    let session = state.session(&ctx.conn);
    let in_flight = session.begin(&ctx.request_id);
    let cancel = in_flight.token().clone();
    let started = Instant::now();
    let arguments = Value::Object(arguments);
    let result = if method.reports_progress() {
        let sink = progress_sink(state.related(ctx), progress_token);
        router
            .invoke_with_progress(ctx.clone(), method.name, arguments, sink, cancel.clone())
            .await
    } else {
        tokio::select! {
            r = router.answer(ctx.clone(), method.name, arguments) => r,
            () = cancel.cancelled() => return Ok(None),
        }
    };
    drop(in_flight);
    if cancel.is_cancelled() {
        return Ok(None);
    }
    let result = result.map_err(RpcError::from);
    if let Some(persona) = ctx.conn.current_persona() {
        state.remember_persona(&ctx.conn.session_id(), persona);
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (level, outcome, error) = match &result {
        Ok(_) => (LogLevel::Debug, "ok", None),
        Err(e) => (LogLevel::Warning, "error", Some(e.message.as_str())),
    };
    let threshold = match era {
        Era::Stateless { log_level } => log_level,
        Era::Handshake => session.log_level(),
    };
    if threshold.is_some_and(|t| level >= t) {
        let params = LogMessage {
            level: level.as_str(),
            logger: "persona-mcp",
            data: ToolCallLog {
                tool: name,
                outcome,
                error,
                elapsed_ms,
            },
        };
        state
            .related(ctx)
            .send(notification("notifications/message", params).to_string().into());
    }
    Ok(Some(CallToolResult::of(result)))
}
