//! `/system`: status, models, the configuration (secrets redacted) and a metrics summary.

use actix_web::{get, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::openapi::AnyObject;
use super::session::admin_session;
use super::App;
use crate::ops::results::system::{Models, SystemStatus};
use crate::ops::system;
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(status).service(models).service(config).service(metrics);
}

#[utoipa::path(tag = "system", responses((status = 200, description = "As `system.status`", body = SystemStatus)))]
#[get("/system/status")]
async fn status(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(system::status(&app, admin_session(), app.hub.count()).await?))
}

#[utoipa::path(tag = "system", responses((status = 200, description = "As `system.models`", body = Models)))]
#[get("/system/models")]
async fn models(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(system::models(&app).await?))
}

#[utoipa::path(tag = "system", responses((status = 200, description = "The merged settings, secrets redacted", body = AnyObject)))]
#[get("/system/config")]
async fn config(app: App) -> HttpResponse {
    HttpResponse::Ok().json(app.settings.current().redacted())
}

#[utoipa::path(tag = "system", responses((status = 200, description = "Per metric: the total of counters and gauges, count/sum/mean of histograms", body = AnyObject)))]
#[get("/system/metrics")]
async fn metrics(app: App) -> HttpResponse {
    HttpResponse::Ok().json(app.metrics.summary())
}
