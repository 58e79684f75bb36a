//! `GET /mcp` WebSocket upgrade (after the gate): connection limit, frame limits (checked on the raw bytes by
//! [`FrameLimit`]), then a `WsSession` actor takes over.

use std::sync::Arc;

use actix::{Actor, AsyncContext};
use actix_web::dev;
use actix_web::error::PayloadError;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::Stream;

use super::frame_limit::FrameLimit;

use super::error::WebError;
use super::ws_session::WsSession;
use crate::web::Gateway;

type BoxedPayload = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// Upgrades the request and starts the session actor.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<Arc<Gateway>>,
) -> Result<HttpResponse, actix_web::Error> {
    let app = app.get_ref().clone();
    let Ok(permit) = app.connection_slots.clone().try_acquire_owned() else {
        return Err(WebError::TooBusy.into());
    };
    let max = app.settings.current().server.max_frame_bytes;
    let limited: BoxedPayload = Box::pin(FrameLimit::new(body.into_inner(), max));
    let body = web::Payload::from_request(&req, &mut dev::Payload::from(limited)).await?;
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
