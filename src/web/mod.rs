//! actix-web: routes for `/mcp` (WebSocket JSON-RPC + MCP, and MCP Streamable HTTP) and operations.

pub mod mcp_http;
pub mod ops;
pub mod ws;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// A JSON error body: `{error: {code, message}}`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": { "code": code, "message": message } }))
}

/// Every route of the server.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mcp", web::get().to(mcp_http::get))
        .route("/mcp", web::post().to(mcp_http::post))
        .route("/mcp", web::delete().to(mcp_http::delete))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .default_service(web::to(|| async {
            json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        }));
}
