//! `/system`: status, models, the configuration (secrets redacted) and a metrics summary.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::bridge::{call, App};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/system/status", web::get().to(status))
        .route("/system/models", web::get().to(models))
        .route("/system/config", web::get().to(config))
        .route("/system/metrics", web::get().to(metrics));
}

async fn status(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "system.status", json!({})).await?))
}

async fn models(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "system.models", json!({})).await?))
}

async fn config(app: App) -> HttpResponse {
    HttpResponse::Ok().json(app.settings.redacted())
}

async fn metrics(app: App) -> HttpResponse {
    HttpResponse::Ok().json(app.metrics.summary())
}
