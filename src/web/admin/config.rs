//! `GET /system/config/keys` and `PUT /system/config`: the settings in force key by key (whether each is live),
//! and a live change, over [`crate::ops::config`].

use actix_web::{get, put, web, HttpResponse};
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use super::body::input;
use super::App;
use crate::ops::config::{self, ConfigSetParams};
use crate::ops::results::config::{ConfigChanged, ConfigView};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(keys).service(set);
}

#[utoipa::path(tag = "system", responses((status = 200, description = "As `system.config_get`: every setting with its value (secrets redacted) and whether it changes live", body = ConfigView)))]
#[get("/system/config/keys")]
async fn keys(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(config::get(&app)?))
}

#[utoipa::path(tag = "system", request_body = ConfigSetParams,
    responses((status = 200, description = "As `system.config_set`: a live key changed at once (a key that needs a restart, or a bad value, is a 422 naming it)", body = ConfigChanged)))]
#[put("/system/config")]
async fn set(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(config::set(&app, input(body.into_inner())?)?))
}
