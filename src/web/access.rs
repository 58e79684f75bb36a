//! The HTTP side of the access log: one line per request on either listener — the method and the route pattern
//! (`GET /admin/api/v1/personas/{id}`: no query string, which may hold a token), the persona the route names, the
//! duration and the status. Written through `rpc::access`, like the JSON-RPC and MCP lines.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use crate::rpc::access::{access_on, line};
use crate::web::Gateway;

/// The middleware (`middleware::from_fn(access::log)`): passes the request on, then writes its line.
pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let on = req
        .app_data::<web::Data<Arc<Gateway>>>()
        .is_some_and(|app| access_on(app));
    if !on {
        return next.call(req).await;
    }
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| req.path().to_string());
    let call = format!("{} {route}", req.method());
    let persona = persona(&req, &route);
    let answer = next.call(req).await;
    let status = match &answer {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let outcome = match status.as_u16() {
        ..400 => "ok",
        400..500 => "client_error",
        _ => "server_error",
    };
    line(
        &call,
        persona.as_deref(),
        started,
        outcome,
        Some(status.as_u16().into()),
    );
    answer
}

/// The persona a request is about: the `{id}` of a `/personas/{id}` route, else a `persona` query parameter.
fn persona(req: &ServiceRequest, route: &str) -> Option<String> {
    match route.split('/').position(|segment| segment == "{id}") {
        Some(at) if route.contains("/personas/{id}") => req.path().split('/').nth(at).map(str::to_string),
        _ => web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .ok()?
            .into_inner()
            .remove("persona"),
    }
}
