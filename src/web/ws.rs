//! `GET /mcp` WebSocket upgrade (after the gate): connection limit, frame limits, then a `WsSession` actor takes
//! over.

use std::sync::Arc;

use actix::{Actor, AsyncContext};
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::WebError;
use crate::actors::ws_session::WsSession;
use crate::app::AppState;

/// Upgrades the request and starts the session actor.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<Arc<AppState>>,
) -> Result<HttpResponse, actix_web::Error> {
    let app = app.get_ref().clone();
    let Ok(permit) = app.connection_slots.clone().try_acquire_owned() else {
        return Err(WebError::TooBusy.into());
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
