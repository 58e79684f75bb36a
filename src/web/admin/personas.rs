//! `/personas`: list, create, get, update, delete (over [`crate::ops::persona`]), pruning per persona, emotional
//! state.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use super::body::{input, optional_json, with_persona};
use super::live::announce_emotions;
use super::paging::{Page, PageQuery};
use super::App;
use crate::ops::memory::pruning::{self, PruneParams};
use crate::ops::persona;
use crate::ops::persona::emotions::{self as emotional, UpdateStateParams};
use crate::ops::persona::fields::{CreateParams, UpdateParams};
use crate::ops::results::memory::{PruneRecommendations, Pruned};
use crate::ops::results::persona::{CardWithStats, Deleted, Emotions, EmotionsUpdated, PersonaSummary, Status};
use crate::ops::target::Target;
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

/// The persona as `GET /personas/{id}` shows it: `persona.get`'s `persona`.
pub async fn card_with_stats(app: &App, key: &str) -> Result<CardWithStats, WebError> {
    Ok(persona::get(app, key).await?.persona)
}

#[utoipa::path(tag = "personas", params(PageQuery),
    responses((status = 200, description = "Personas, in creation order", body = PersonaPage)))]
#[get("/personas")]
async fn list(app: App, page: web::Query<PageQuery>) -> Result<HttpResponse, WebError> {
    let all = persona::list(&app).await?;
    let mut items = Vec::with_capacity(all.personas.len());
    for summary in all.personas {
        // A persona deleted meanwhile keeps its row, without an avatar.
        let avatar_url = match card_with_stats(&app, &summary.id.to_string()).await {
            Ok(card) => card.card.avatar_url,
            Err(_) => None,
        };
        items.push(PersonaRow { summary, avatar_url });
    }
    Ok(HttpResponse::Ok().json(page.page(items)?))
}

#[utoipa::path(tag = "personas", request_body = CreateParams,
    responses((status = 201, description = "The new persona (as `GET /personas/{id}`)", body = CardWithStats)))]
#[post("/personas")]
async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let created = persona::create(&app, input(body.into_inner())?).await?;
    let card = card_with_stats(&app, &created.persona_id.to_string()).await?;
    Ok(HttpResponse::Created().json(card))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "The `persona` object of `persona.get`", body = CardWithStats)))]
#[get("/personas/{id}")]
async fn get(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(card_with_stats(&app, &id).await?))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    request_body = UpdateParams,
    responses((status = 200, description = "The persona after the change", body = CardWithStats)))]
#[patch("/personas/{id}")]
async fn update(app: App, id: Id, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let p: UpdateParams = input(with_persona(body.into_inner(), &id))?;
    let updated = persona::update(&app, p).await?;
    let card = card_with_stats(&app, &updated.persona.id.to_string()).await?;
    Ok(HttpResponse::Ok().json(card))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "Deleted, with everything it owned (its bots stopped)", body = Deleted)))]
#[delete("/personas/{id}")]
async fn delete(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(persona::delete(&app, &id).await?))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "As `persona.status`", body = Status)))]
#[get("/personas/{id}/status")]
async fn status(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(persona::status(&app, Target::named(&id)).await?))
}

#[utoipa::path(tag = "memories", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "What pruning would remove (`memory.prune_recommendations`)", body = PruneRecommendations)))]
#[get("/personas/{id}/prune")]
async fn prune_preview(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(pruning::prune_recommendations(&app, Target::named(&id)).await?))
}

#[utoipa::path(tag = "memories", params(("id" = String, Path, description = "Persona id or name")),
    request_body(content = Option<PruneParams>, description = "Optional"),
    responses((status = 200, description = "As `memory.prune`", body = Pruned)))]
#[post("/personas/{id}/prune")]
async fn prune(app: App, id: Id, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let p: PruneParams = input(with_persona(optional_json(&body)?, &id))?;
    Ok(HttpResponse::Ok().json(pruning::prune(&app, Target::named(&id), p.force).await?))
}

#[utoipa::path(tag = "relationships", params(("id" = String, Path, description = "Persona id or name")),
    responses((status = 200, description = "As `emotional.get_state`", body = Emotions)))]
#[get("/personas/{id}/emotions")]
async fn emotions(app: App, id: Id) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(emotional::get(&app, Target::named(&id)).await?))
}

#[utoipa::path(tag = "relationships", params(("id" = String, Path, description = "Persona id or name")),
    request_body = UpdateStateParams,
    responses((status = 200, description = "As `emotional.update_state`", body = EmotionsUpdated)))]
#[put("/personas/{id}/emotions")]
async fn set_emotions(app: App, id: Id, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let p: UpdateStateParams = input(with_persona(body.into_inner(), &id))?;
    let updated = emotional::update(&app, Target::named(&id), p).await?;
    announce_emotions(&app, updated.persona_id);
    Ok(HttpResponse::Ok().json(updated))
}
