//! The admin listener (`admin.port`): the REST API under `/admin/api/v1` and the web page under `/admin/`, behind
//! the admin token and the Origin/Host rules ([`auth`]). Each route parses its input, calls the operation of its
//! use case ([`crate::ops`], the same JSON-RPC and MCP call) as the operator, and renders the typed result; errors
//! have the one body shape of [`crate::web::error`].

pub mod analytics;
pub mod auth;
pub mod avatars;
pub mod body;
pub mod bots;
pub mod cards;
pub mod config;
pub mod conversations;
pub mod live;
pub mod logs;
pub mod maintenance;
pub mod memories;
pub mod openapi;
pub mod page;
pub mod paging;
pub mod parity;
pub mod personas;
pub mod schemas;
pub mod session;
pub mod social;
pub mod state;
pub mod system;

use std::sync::Arc;

use actix_web::{middleware, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

pub use auth::AdminState;

use crate::web::error::WebError;

/// The shared application state as the admin routes receive it.
pub type App = web::Data<Arc<crate::web::Gateway>>;

/// The API's base path.
pub const API: &str = "/admin/api/v1";

/// Every API route under [`API`], each with its documentation ([`openapi`]).
pub fn api_routes(cfg: &mut ServiceConfig) {
    cfg.service(openapi::openapi_json);
    cards::routes(cfg);
    personas::routes(cfg);
    avatars::routes(cfg);
    memories::routes(cfg);
    maintenance::routes(cfg);
    social::routes(cfg);
    conversations::routes(cfg);
    analytics::routes(cfg);
    logs::routes(cfg);
    system::routes(cfg);
    config::routes(cfg);
    bots::routes(cfg);
    state::routes(cfg);
}

/// Everything the admin listener serves (needs `web::Data<AdminState>` and the application state): the API, and
/// the web page's routes (`page::routes`, registered under `/admin`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(body::json_config())
        .app_data(body::query_config())
        .app_data(body::path_config())
        .service(
            web::scope("")
                .wrap(middleware::from_fn(auth::gate))
                .wrap(middleware::from_fn(crate::web::access::log))
                .service(
                    web::scope(API)
                        .configure(|cfg| api_routes(&mut ServiceConfig::new(cfg)))
                        .default_service(web::to(not_found)),
                )
                .service(web::scope("/admin").configure(page::routes))
                .default_service(web::to(not_found)),
        );
}

async fn not_found() -> Result<HttpResponse, WebError> {
    Err(WebError::NotFound)
}
