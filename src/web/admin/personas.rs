//! `/personas`: list, create, get, update, delete (over `persona.*`), pruning per persona, emotional state.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;

use super::body::optional_json;
use super::bridge::{call, App};
use super::paging::{Page, PageQuery};
use crate::rpc::emotional::UpdateStateParams;
use crate::rpc::memory::PruneParams;
use crate::rpc::persona::{CreateParams, UpdateParams};
use crate::rpc::results::memory::{PruneRecommendations, Pruned};
use crate::rpc::results::persona::{CardWithStats, Deleted, Emotions, EmotionsUpdated, PersonaSummary, Status};
use crate::web::error::WebError;

/// A persona path segment: an id or a name.
type Id = web::Path<String>;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(delete)
        .service(status)
        .service(prune_preview)
        .service(prune)
        .service(emotions)
        .service(set_emotions);
}

/// A row of `GET /personas`: the row of `persona.list` and the persona's avatar.
#[derive(Serialize, JsonSchema)]
pub struct PersonaRow {
    /// The row of `persona.list`.
    #[serde(flatten)]
    pub summary: PersonaSummary,
    /// `GET` this for the avatar image; null without one.
    pub avatar_url: Option<String>,
}

/// `GET /personas`.
pub type PersonaPage = Page<PersonaRow>;

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

#[utoipa::path(tag = "personas", params(PageQuery),
    responses((status = 200, description = "Personas, in creation order", body = PersonaPage)))]
#[get("/personas")]
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

#[utoipa::path(tag = "personas", request_body = CreateParams,
    responses((status = 201, description = "The new persona (as `GET /personas/{id}`)", body = CardWithStats)))]
#[post("/personas")]
async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let created = call(&app, "persona.create", body.into_inner()).await?;
    let id = created["persona_id"].as_str().unwrap_or_default().to_string();
    Ok(HttpResponse::Created().json(persona_object(&app, &id).await?))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "The `persona` object of `persona.get`", body = CardWithStats)))]
#[get("/personas/{id}")]
async fn get(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(persona_object(&app, &id).await?))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    request_body = UpdateParams,
    responses((status = 200, description = "The persona after the change", body = CardWithStats)))]
#[patch("/personas/{id}")]
async fn update(app: App, id: Id, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let updated = call(&app, "persona.update", with_persona(body.into_inner(), &id)).await?;
    let id = updated["persona"]["id"].as_str().unwrap_or_default().to_string();
    Ok(HttpResponse::Ok().json(persona_object(&app, &id).await?))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "Deleted, with everything it owned (its bots stopped)", body = Deleted)))]
#[delete("/personas/{id}")]
async fn delete(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "persona.delete", json!({ "persona_id": id.as_str() })).await?))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "As `persona.status`", body = Status)))]
#[get("/personas/{id}/status")]
async fn status(app: App, id: Id) -> Result<HttpResponse, WebError> {
    let params = json!({ "persona_id": id.as_str() });
    Ok(HttpResponse::Ok().json(call(&app, "persona.status", params).await?))
}

#[utoipa::path(tag = "memories", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "What pruning would remove (`memory.prune_recommendations`)", body = PruneRecommendations)))]
#[get("/personas/{id}/prune")]
async fn prune_preview(app: App, id: Id) -> Result<HttpResponse, WebError> {
    let params = json!({ "persona_id": id.as_str() });
    Ok(HttpResponse::Ok().json(call(&app, "memory.prune_recommendations", params).await?))
}

#[utoipa::path(tag = "memories", params(("id" = String, Path, description = "Persona id or name")),
    request_body(content = Option<PruneParams>, description = "Optional"),
    responses((status = 200, description = "As `memory.prune`", body = Pruned)))]
#[post("/personas/{id}/prune")]
async fn prune(app: App, id: Id, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let body = optional_json(&body)?;
    Ok(HttpResponse::Ok().json(call(&app, "memory.prune", with_persona(body, &id)).await?))
}

#[utoipa::path(tag = "relationships", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "As `emotional.get_state`", body = Emotions)))]
#[get("/personas/{id}/emotions")]
async fn emotions(app: App, id: Id) -> Result<HttpResponse, WebError> {
    let params = json!({ "persona_id": id.as_str() });
    Ok(HttpResponse::Ok().json(call(&app, "emotional.get_state", params).await?))
}

#[utoipa::path(tag = "relationships", params(("id" = String, Path, description = "Persona id or name")),
    request_body = UpdateStateParams,
    responses((status = 200, description = "As `emotional.update_state`", body = EmotionsUpdated)))]
#[put("/personas/{id}/emotions")]
async fn set_emotions(app: App, id: Id, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let params = with_persona(body.into_inner(), &id);
    Ok(HttpResponse::Ok().json(call(&app, "emotional.update_state", params).await?))
}
