//! MCP Streamable HTTP on `/mcp`, beside the WebSocket endpoint:
//!
//! - `POST /mcp` — one JSON-RPC message (or batch) per request. A stateless (2026-07-28) request carries its
//!   protocol version in `_meta` and the `MCP-Protocol-Version` header, which must agree; it runs on a
//!   connection of its own and closing its response stream cancels it. Otherwise `initialize` opens a session
//!   (`Mcp-Session-Id` in the response), which every later request names. A `tools/call` is answered as an SSE
//!   stream when the client accepts one (progress notifications, then the result), anything else as JSON.
//! - `GET /mcp` — the WebSocket upgrade when asked for, else the session's standalone SSE stream.
//! - `DELETE /mcp` — ends a session.
//!
//! Origin, Host and token are checked before any of this, by the gate in `web::guard`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::stream::{self, Stream};
use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::error::WebError;
use super::ws;
use crate::mcp::error::McpError;
use crate::mcp::lifecycle::{HANDSHAKE_VERSIONS, PROTOCOL_VERSION_KEY};
use crate::mcp::session::{StandaloneOutbox, TransportSession};
use crate::rpc::batch::Answer;
use crate::rpc::context::{Connection, Frame, Outbox};
use crate::rpc::framing::{
    failure, RpcError, HEADER_MISMATCH, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
};
use crate::web::Gateway;

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const METHOD_HEADER: &str = "mcp-method";
/// A comment line on idle standalone streams, so that proxies keep them open.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// What a POST's response stream carries.
enum Out {
    Frame(Frame),
    End,
}

/// Frames of one POST, for its response (JSON or SSE).
struct PostOutbox(UnboundedSender<Out>);

impl Outbox for PostOutbox {
    fn send(&self, frame: Frame) {
        let _ = self.0.send(Out::Frame(frame));
    }
}

/// Cancels a token when the response stream that owns it is dropped (the client went away).
struct CancelOnDrop(CancellationToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn json_reply(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(body)
}

fn rpc_error(status: StatusCode, error: RpcError) -> HttpResponse {
    json_reply(status, failure(&Value::Null, error).to_string())
}

fn sse_event(frame: &str) -> Bytes {
    Bytes::from(format!("event: message\ndata: {frame}\n\n"))
}

fn sse_response(body: impl Stream<Item = Result<Bytes, actix_web::Error>> + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache, no-transform"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}

fn wants_sse(req: &HttpRequest) -> bool {
    header(req, "accept").is_some_and(|a| a.contains("text/event-stream"))
}

/// `GET /mcp`: the WebSocket upgrade, or the standalone SSE stream of a session.
pub async fn get(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<Arc<Gateway>>,
) -> Result<HttpResponse, actix_web::Error> {
    let upgrade = header(&req, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if upgrade {
        return ws::upgrade(req, body, app).await;
    }
    let app = app.get_ref();
    let Some(id) = header(&req, SESSION_HEADER) else {
        return Err(WebError::MethodNotAllowed("GET /mcp needs an Mcp-Session-Id (or a WebSocket upgrade)").into());
    };
    let Some(session) = app.mcp.state().transport(id) else {
        return Err(WebError::SessionNotFound.into());
    };
    session.touch();
    let (tx, rx) = unbounded_channel();
    session.standalone.open(tx);
    Ok(sse_response(standalone_stream(rx, app.hub.going_away())))
}

/// Frames of the standalone stream, with a keepalive comment while idle; it ends when the server shuts down, so
/// that an idle stream does not hold the shutdown for the grace period.
fn standalone_stream(
    rx: UnboundedReceiver<Frame>,
    going_away: CancellationToken,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    stream::unfold((rx, going_away), |(mut rx, going_away)| async move {
        let next = tokio::select! {
            _ = going_away.cancelled() => return None,
            next = tokio::time::timeout(KEEPALIVE, rx.recv()) => next,
        };
        match next {
            Ok(Some(frame)) => Some((Ok(sse_event(&frame)), (rx, going_away))),
            Ok(None) => None,
            Err(_) => Some((Ok(Bytes::from_static(b": keepalive\n\n")), (rx, going_away))),
        }
    })
}

/// A POST's frames until its answer; `_cancel` cancels the request if the client drops the stream first.
fn post_stream(
    rx: UnboundedReceiver<Out>,
    cancel: Option<CancelOnDrop>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    stream::unfold((rx, cancel), |(mut rx, cancel)| async move {
        match rx.recv().await {
            Some(Out::Frame(frame)) => Some((Ok(sse_event(&frame)), (rx, cancel))),
            Some(Out::End) | None => None,
        }
    })
}

/// `DELETE /mcp`: ends the session named by `Mcp-Session-Id`.
pub async fn delete(req: HttpRequest, app: web::Data<Arc<Gateway>>) -> Result<HttpResponse, WebError> {
    let app = app.get_ref();
    let Some(id) = header(&req, SESSION_HEADER) else {
        return Err(WebError::BadRequest("Mcp-Session-Id header is required".into()));
    };
    if app.mcp.state().close_transport(id, &app.hub) {
        Ok(HttpResponse::Ok().finish())
    } else {
        Err(WebError::SessionNotFound)
    }
}

/// The ids of the requests in a message or batch (notifications and responses have none).
fn request_ids(message: &Value) -> Vec<Value> {
    let one = |m: &Value| m.get("method").and(m.get("id")).cloned();
    match message {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        single => one(single).into_iter().collect(),
    }
}

fn has_method(message: &Value, method: &str) -> bool {
    let is = |m: &Value| m.get("method").and_then(Value::as_str) == Some(method);
    match message {
        Value::Array(items) => items.iter().any(is),
        single => is(single),
    }
}

/// The protocol version of a stateless request (`_meta`), if the message is one.
fn stateless_version(message: &Value) -> Option<&Value> {
    if message.get("method").and_then(Value::as_str) == Some("initialize") {
        return None;
    }
    message.get("params")?.get("_meta")?.get(PROTOCOL_VERSION_KEY)
}

/// The HTTP status of a stateless answer: 400 for a malformed request or version, 404 for an unknown method.
fn stateless_status(answer: &Answer) -> StatusCode {
    match answer.error().map(|e| e.code) {
        Some(PARSE_ERROR | INVALID_REQUEST | INVALID_PARAMS | HEADER_MISMATCH | UNSUPPORTED_PROTOCOL_VERSION) => {
            StatusCode::BAD_REQUEST
        }
        Some(METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

/// `POST /mcp`.
pub async fn post(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<Arc<Gateway>>,
) -> Result<HttpResponse, WebError> {
    let app = app.get_ref().clone();
    let max = app.settings.current().server.max_frame_bytes;
    let bytes = match body.to_bytes_limited(max).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return Err(WebError::BadRequest("unreadable body".into())),
        Err(_) => return Err(WebError::TooLarge(max)),
    };
    let Some((text, message)) = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| Some((t.to_string(), serde_json::from_str::<Value>(t).ok()?)))
    else {
        return Ok(rpc_error(StatusCode::BAD_REQUEST, RpcError::parse_error()));
    };
    match stateless_version(&message) {
        Some(version) => stateless(&req, app, text, &message, version).await,
        None => with_session(&req, app, text, &message).await,
    }
}

/// A stateless request: checked against its headers, run on a connection of its own.
async fn stateless(
    req: &HttpRequest,
    app: Arc<Gateway>,
    text: String,
    message: &Value,
    version: &Value,
) -> Result<HttpResponse, WebError> {
    let mismatch = |what: &'static str| rpc_error(StatusCode::BAD_REQUEST, McpError::HeaderMismatch(what).into());
    if header(req, VERSION_HEADER) != version.as_str() {
        return Ok(mismatch("MCP-Protocol-Version"));
    }
    if header(req, METHOD_HEADER).is_some_and(|m| Some(m) != message.get("method").and_then(Value::as_str)) {
        return Ok(mismatch("Mcp-Method"));
    }
    let Ok(permit) = app.connection_slots.clone().try_acquire_owned() else {
        return Err(WebError::TooBusy);
    };
    let (tx, rx) = unbounded_channel();
    let conn = Arc::new(Connection::new(Arc::new(PostOutbox(tx.clone()))));
    let ctx = app.ctx(conn.clone());
    let max_batch = app.settings.current().server.max_batch;
    if wants_sse(req) && has_method(message, "tools/call") {
        let closed = conn.closed.clone();
        actix::spawn(async move {
            let answer = app.mcp.handle_text(&ctx, &text, max_batch).await;
            if let Some(answer) = answer {
                let _ = tx.send(Out::Frame(answer.into_text().into()));
            }
            let _ = tx.send(Out::End);
            drop(permit);
        });
        return Ok(sse_response(post_stream(rx, Some(CancelOnDrop(closed)))));
    }
    let answer = app.mcp.handle_text(&ctx, &text, max_batch).await;
    conn.closed.cancel();
    drop(permit);
    Ok(match answer {
        Some(answer) => json_reply(stateless_status(&answer), answer.into_text()),
        None => HttpResponse::Accepted().finish(),
    })
}

/// A request of a session (opened by `initialize`).
async fn with_session(
    req: &HttpRequest,
    app: Arc<Gateway>,
    text: String,
    message: &Value,
) -> Result<HttpResponse, WebError> {
    if let Some(version) = header(req, VERSION_HEADER) {
        if !HANDSHAKE_VERSIONS.contains(&version) {
            return Err(WebError::BadRequest(format!(
                "Unsupported MCP-Protocol-Version: {version}"
            )));
        }
    }
    let state = app.mcp.state().clone();
    let (session, new_id) = match header(req, SESSION_HEADER) {
        Some(id) => match state.transport(id) {
            Some(session) => (session, None),
            None => return Err(WebError::SessionNotFound),
        },
        None if has_method(message, "initialize") => {
            let Ok(permit) = app.connection_slots.clone().try_acquire_owned() else {
                return Err(WebError::TooBusy);
            };
            let standalone = Arc::new(StandaloneOutbox::default());
            let conn = Arc::new(Connection::new(standalone.clone()));
            let idle = Duration::from_secs(app.settings.current().server.idle_timeout_secs);
            let (id, session) = state.open_transport(TransportSession::new(conn, standalone, permit), idle, &app.hub);
            (session, Some(id))
        }
        None => {
            return Err(WebError::BadRequest(
                "Mcp-Session-Id header is required: send initialize first".into(),
            ))
        }
    };
    session.touch();
    let ctx = app.ctx(session.conn.clone());
    let max_batch = app.settings.current().server.max_batch;
    let ids = request_ids(message);
    let mut response = if ids.is_empty() {
        app.mcp.handle_text(&ctx, &text, max_batch).await;
        HttpResponse::Accepted().finish()
    } else if wants_sse(req) && has_method(message, "tools/call") {
        let (tx, rx) = unbounded_channel();
        let route = state.route(&session.conn, &ids, Arc::new(PostOutbox(tx.clone())));
        actix::spawn(async move {
            let answer = app.mcp.handle_text(&ctx, &text, max_batch).await;
            drop(route);
            if let Some(answer) = answer {
                let _ = tx.send(Out::Frame(answer.into_text().into()));
            }
            let _ = tx.send(Out::End);
        });
        sse_response(post_stream(rx, None))
    } else {
        match app.mcp.handle_text(&ctx, &text, max_batch).await {
            Some(answer) => json_reply(StatusCode::OK, answer.into_text()),
            None => HttpResponse::Accepted().finish(),
        }
    };
    if let Some(id) = new_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(SESSION_HEADER), id);
    }
    Ok(response)
}
