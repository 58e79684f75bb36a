//! `/decay`: the background memory decay's state, start, stop and a forced run (the decay operations, as
//! `memory.decay_*`); `/prune`: pruning every persona that needs it, and the statistics of past runs.

use actix_web::{get, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::body::{input, optional_json};
use super::App;
use crate::ops::memory::decay::{self, DecayForceParams, DecayStartParams};
use crate::ops::memory::pruning;
use crate::ops::results::memory::{DecayForced, DecayStarted, DecayStatsResult, DecayStopped, PruneStats, PrunedAll};
use crate::ops::target::Target;
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(stats)
        .service(start)
        .service(stop)
        .service(force)
        .service(prune_all)
        .service(prune_stats);
}

#[utoipa::path(tag = "memories", responses((status = 200, description = "As `memory.decay_stats`", body = DecayStatsResult)))]
#[get("/decay")]
async fn stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(decay::decay_stats(&app).await?))
}

#[utoipa::path(tag = "memories", request_body(content = Option<DecayStartParams>, description = "Optional"),
    responses((status = 200, description = "As `memory.decay_start`", body = DecayStarted)))]
#[post("/decay/start")]
async fn start(app: App, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let p: DecayStartParams = input(optional_json(&body)?)?;
    Ok(HttpResponse::Ok().json(decay::decay_start(&app, &p).await?))
}

#[utoipa::path(tag = "memories", responses((status = 200, description = "As `memory.decay_stop`", body = DecayStopped)))]
#[post("/decay/stop")]
async fn stop(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(decay::decay_stop(&app).await?))
}

#[utoipa::path(tag = "memories", request_body(content = Option<DecayForceParams>, description = "Optional"),
    responses((status = 200, description = "As `memory.decay_force`", body = DecayForced)))]
#[post("/decay/force")]
async fn force(app: App, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let p: DecayForceParams = input(optional_json(&body)?)?;
    let whose = Target {
        named: p.persona_id.as_deref(),
        current: None,
    };
    Ok(HttpResponse::Ok().json(decay::decay_force(&app, whose, p.decay_factor).await?))
}

#[utoipa::path(tag = "memories", responses((status = 200, description = "As `memory.prune_all`", body = PrunedAll)))]
#[post("/prune")]
async fn prune_all(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(pruning::prune_all(&app).await?))
}

#[utoipa::path(tag = "memories", responses((status = 200, description = "As `memory.prune_stats`", body = PruneStats)))]
#[get("/prune/stats")]
async fn prune_stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(pruning::prune_stats(&app).await?))
}
