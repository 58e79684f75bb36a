//! `/personas`: list, create, get, update, delete (over `persona.*`), pruning per persona, emotional state.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::body::optional_json;
use super::bridge::{call, App};
use super::paging::PageQuery;
use crate::web::error::WebError;

/// A persona path segment: an id or a name.
type Id = web::Path<String>;

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/personas", web::get().to(list))
        .route("/personas", web::post().to(create))
        .route("/personas/{id}", web::get().to(get))
        .route("/personas/{id}", web::patch().to(update))
        .route("/personas/{id}", web::delete().to(delete))
        .route("/personas/{id}/status", web::get().to(status))
        .route("/personas/{id}/prune", web::get().to(prune_preview))
        .route("/personas/{id}/prune", web::post().to(prune))
        .route("/personas/{id}/emotions", web::get().to(emotions))
        .route("/personas/{id}/emotions", web::put().to(set_emotions));
}

/// Puts `persona_id` into a JSON object body (other bodies are passed on for the method to refuse).
pub fn with_persona(body: Value, id: &str) -> Value {
    match body {
        Value::Object(mut map) => {
            map.insert("persona_id".into(), Value::String(id.to_string()));
            Value::Object(map)
        }
        Value::Null => json!({ "persona_id": id }),
        other => other,
    }
}

/// The `persona` object of `persona.get`.
pub async fn persona_object(app: &App, id: &str) -> Result<Value, WebError> {
    Ok(call(app, "persona.get", json!({ "persona_id": id })).await?["persona"].take())
}

async fn list(app: App, page: web::Query<PageQuery>) -> Result<HttpResponse, WebError> {
    let mut all = call(&app, "persona.list", json!({})).await?;
    let rows = match all["personas"].take() {
        Value::Array(rows) => rows,
        _ => Vec::new(),
    };
    let mut items = Vec::with_capacity(rows.len());
    for mut row in rows {
        let id = row["id"].as_str().unwrap_or_default().to_string();
        if let Ok(card) = persona_object(&app, &id).await {
            row["avatar_url"] = card["avatar_url"].clone();
        }
        items.push(row);
    }
    Ok(HttpResponse::Ok().json(page.page(items)?))
}

async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let created = call(&app, "persona.create", body.into_inner()).await?;
    let id = created["persona_id"].as_str().unwrap_or_default().to_string();
    Ok(HttpResponse::Created().json(persona_object(&app, &id).await?))
}

async fn get(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(persona_object(&app, &id).await?))
}

async fn update(app: App, id: Id, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let updated = call(&app, "persona.update", with_persona(body.into_inner(), &id)).await?;
    let id = updated["persona"]["id"].as_str().unwrap_or_default().to_string();
    Ok(HttpResponse::Ok().json(persona_object(&app, &id).await?))
}

async fn delete(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "persona.delete", json!({ "persona_id": id.as_str() })).await?))
}

async fn status(app: App, id: Id) -> Result<HttpResponse, WebError> {
    let params = json!({ "persona_id": id.as_str() });
    Ok(HttpResponse::Ok().json(call(&app, "persona.status", params).await?))
}

async fn prune_preview(app: App, id: Id) -> Result<HttpResponse, WebError> {
    let params = json!({ "persona_id": id.as_str() });
    Ok(HttpResponse::Ok().json(call(&app, "memory.prune_recommendations", params).await?))
}

async fn prune(app: App, id: Id, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let body = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(call(&app, "memory.prune", with_persona(body, &id)).await?))
}

async fn emotions(app: App, id: Id) -> Result<HttpResponse, WebError> {
    let params = json!({ "persona_id": id.as_str() });
    Ok(HttpResponse::Ok().json(call(&app, "emotional.get_state", params).await?))
}

async fn set_emotions(app: App, id: Id, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let params = with_persona(body.into_inner(), &id);
    Ok(HttpResponse::Ok().json(call(&app, "emotional.update_state", params).await?))
}
