//! actix-web: routes for `/mcp` (WebSocket JSON-RPC + MCP, and MCP Streamable HTTP) and operations, all behind
//! one gate ([`guard`]) and answering errors in one shape ([`error`]).

pub mod access;
pub mod admin;
pub mod error;
pub mod frame_limit;
pub mod gateway;
pub mod guard;
pub mod mcp_http;
pub mod probes;
pub mod ws;
pub mod ws_session;

use actix_web::{middleware, web};

use error::WebError;
pub use gateway::Gateway;

/// Every route of the server, behind the Origin/Host/token gate (which needs a `web::Data<guard::Guard>`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("")
            .wrap(middleware::from_fn(guard::gate))
            .wrap(middleware::from_fn(access::log))
            .route("/mcp", web::get().to(mcp_http::get))
            .route("/mcp", web::post().to(mcp_http::post))
            .route("/mcp", web::delete().to(mcp_http::delete))
            .route("/healthz", web::get().to(probes::healthz))
            .route("/readyz", web::get().to(probes::readyz))
            .route("/metrics", web::get().to(probes::metrics))
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(WebError::NotFound)
            })),
    );
}
