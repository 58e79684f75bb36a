//! `/decay`: the background memory decay's state, start, stop and a forced run (over `memory.decay_*`); `/prune`:
//! pruning every persona that needs it, and the statistics of past runs.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::body::optional_json;
use super::bridge::{call, App};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/decay", web::get().to(stats))
        .route("/decay/start", web::post().to(start))
        .route("/decay/stop", web::post().to(stop))
        .route("/decay/force", web::post().to(force))
        .route("/prune", web::post().to(prune_all))
        .route("/prune/stats", web::get().to(prune_stats));
}

async fn stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "memory.decay_stats", json!({})).await?))
}

async fn start(app: App, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let params = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(call(&app, "memory.decay_start", params).await?))
}

async fn stop(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "memory.decay_stop", json!({})).await?))
}

async fn force(app: App, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let params: Value = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(call(&app, "memory.decay_force", params).await?))
}

async fn prune_all(app: App, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let params = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(call(&app, "memory.prune_all", params).await?))
}

async fn prune_stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "memory.prune_stats", json!({})).await?))
}
