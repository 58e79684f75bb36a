//! `/state`: state files (over `state.*`): list the saves, save, verify, load, delete.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::bridge::{call, App};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/state/saves", web::get().to(list))
        .route("/state/save", web::post().to(save))
        .route("/state/verify", web::post().to(verify))
        .route("/state/load", web::post().to(load))
        .route("/state/saves/{name}", web::delete().to(delete));
}

/// A JSON body, or `{}` when the request has none.
type Body = Option<web::Json<Value>>;

/// The body's object, with `name` (a file of `<data_dir>/state/`) passed on as the methods' `path`.
fn params(body: Body) -> Value {
    let mut value = body.map(web::Json::into_inner).unwrap_or_else(|| json!({}));
    if let Some(map) = value.as_object_mut() {
        if let Some(name) = map.remove("name").and_then(|n| n.as_str().map(str::to_string)) {
            map.insert("path".into(), json!(name));
        }
    }
    value
}

async fn list(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "state.list", json!({})).await?))
}

async fn save(app: App, body: Body) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Created().json(call(&app, "state.save", params(body)).await?))
}

async fn verify(app: App, body: Body) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "state.verify", params(body)).await?))
}

async fn load(app: App, body: Body) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "state.load", params(body)).await?))
}

async fn delete(app: App, name: web::Path<String>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "state.delete", json!({ "name": name.into_inner() })).await?))
}
