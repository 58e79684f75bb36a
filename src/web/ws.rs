//! `GET /mcp` WebSocket upgrade: auth, connection limit, frame limits, then a `WsSession` actor takes over.

use std::sync::Arc;

use actix::{Actor, AsyncContext};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::json_error;
use crate::actors::ws_session::WsSession;
use crate::app::AppState;

/// True when the request carries the configured token (bearer header or `?token=`), or none is configured.
pub fn authorized(req: &HttpRequest, token: Option<&str>) -> bool {
    let Some(expected) = token else { return true };
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("token").cloned());
    bearer == Some(expected) || query.as_deref() == Some(expected)
}

/// Upgrades the request and starts the session actor.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<Arc<AppState>>,
) -> Result<HttpResponse, actix_web::Error> {
    let app = app.get_ref().clone();
    if !authorized(&req, app.settings.server.token.as_deref()) {
        return Ok(json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        ));
    }
    let Ok(permit) = app.connection_slots.clone().try_acquire_owned() else {
        return Ok(json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            "the server is at its connection limit; retry later",
        ));
    };
    let (mut response, session, stream) = actix_ws::handle(&req, body)?;
    let wants_mcp = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "mcp"));
    if wants_mcp {
        response.headers_mut().insert(
            actix_web::http::header::SEC_WEBSOCKET_PROTOCOL,
            actix_web::http::header::HeaderValue::from_static("mcp"),
        );
    }
    let max = app.settings.server.max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    WsSession::create(move |ctx| {
        ctx.add_stream(stream);
        WsSession::new(session, app, permit)
    });
    Ok(response)
}
