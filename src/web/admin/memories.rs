//! `/memories`: the filtered, paged list (and search), store, get, update, delete, bulk delete, import and the
//! statistics: each route calls its memory operation as the operator (the admin sees every memory).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use super::body::input;
use super::paging::{Page, PageQuery};
use super::App;
use crate::ops::input::Input;
use crate::ops::memory::browse::{browse, Browse};
use crate::ops::memory::edit::{self, MemoryPatch};
use crate::ops::memory::import::ImportParams;
use crate::ops::memory::items::{self, StoreParams};
use crate::ops::memory::shared::CrossSearchParams;
use crate::ops::memory::{import as importing, shared as sharing};
use crate::ops::results::memory::{
    BulkDeleted, CrossSearchResult, Imported, MemoryDeleted, MemoryRow, MemoryView, SharedStatsResult, StatsOf,
};
use crate::ops::target::Target;
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(bulk_delete)
        .service(import)
        .service(stats)
        .service(shared)
        .service(shared_stats)
        .service(get)
        .service(update)
        .service(delete);
}

/// `GET /memories`.
pub type MemoryPage = Page<MemoryRow>;

/// `GET /memories` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemoryFilter {
    /// Owner (id or name).
    #[serde(default)]
    pub persona: Option<String>,
    /// `memory_type`.
    #[serde(default, rename = "type")]
    pub memory_type: Option<String>,
    /// private, shared or public.
    #[serde(default)]
    pub visibility: Option<String>,
    /// Lowest importance.
    #[serde(default)]
    pub min_importance: Option<f64>,
    /// Highest importance.
    #[serde(default)]
    pub max_importance: Option<f64>,
    /// Text to search for: semantic + keyword search within `persona`, or a substring match over all.
    #[serde(default)]
    pub q: Option<String>,
}

#[utoipa::path(tag = "memories", params(MemoryFilter, PageQuery),
    responses((status = 200, description = "Memories, newest first (by similarity when searching within a persona)", body = MemoryPage)))]
#[get("/memories")]
async fn list(
    app: App,
    filter: web::Query<MemoryFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    let what = Browse {
        persona: filter.persona.as_deref(),
        memory_type: filter.memory_type.as_deref(),
        visibility: filter.visibility.as_deref(),
        min_importance: filter.min_importance,
        max_importance: filter.max_importance,
        q: filter.q.as_deref(),
    };
    Ok(HttpResponse::Ok().json(page.page(browse(&app, &what).await?)?))
}

#[utoipa::path(tag = "memories", request_body = StoreParams,
    responses((status = 201, description = "The stored memory", body = MemoryView)))]
#[post("/memories")]
async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let p: StoreParams = input(body.into_inner())?;
    let owner = p.persona_id.as_deref().unwrap_or_default();
    crate::ops::input::non_empty("persona_id", owner)?;
    let stored = items::store(&app, Target::named(owner), p.memory).await?;
    let view: MemoryView = edit::stored(&app, &stored.memory_id.to_string()).await?.memory.into();
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(tag = "memories", params(("mid" = String, Path, description = "Memory id")),
    responses((status = 200, description = "The memory", body = MemoryView)))]
#[get("/memories/{mid}")]
async fn get(app: App, mid: web::Path<String>) -> Result<HttpResponse, WebError> {
    let view: MemoryView = edit::stored(&app, &mid).await?.memory.into();
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(tag = "memories", params(("mid" = String, Path, description = "Memory id")),
    request_body = MemoryPatch,
    responses((status = 200, description = "The memory after the change", body = MemoryView)))]
#[patch("/memories/{mid}")]
async fn update(app: App, mid: web::Path<String>, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let patch: MemoryPatch = crate::rpc::router::parse_value(body.into_inner())?;
    Ok(HttpResponse::Ok().json(edit::update(&app, &mid, patch).await?))
}

#[utoipa::path(tag = "memories", params(("mid" = String, Path, description = "Memory id")),
    responses((status = 200, description = "As `memory.delete`", body = MemoryDeleted)))]
#[delete("/memories/{mid}")]
async fn delete(app: App, mid: web::Path<String>) -> Result<HttpResponse, WebError> {
    let found = edit::stored(&app, &mid).await?;
    let deleted = items::delete(&app, Target::default(), &found.memory.id.to_string()).await?;
    Ok(HttpResponse::Ok().json(deleted))
}

/// `POST /memories/bulk_delete` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BulkDelete {
    /// Memory ids.
    pub ids: Vec<String>,
}

#[utoipa::path(tag = "memories", request_body = BulkDelete,
    responses((status = 200, description = "What was deleted", body = BulkDeleted)))]
#[post("/memories/bulk_delete")]
async fn bulk_delete(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let bulk: BulkDelete = crate::rpc::router::parse_value(body.into_inner())?;
    Ok(HttpResponse::Ok().json(edit::bulk_delete(&app, &bulk.ids).await?))
}

#[utoipa::path(tag = "memories", request_body = ImportParams,
    responses((status = 201, description = "Every memory stored, embedded and indexed", body = Imported)))]
#[post("/memories/import")]
async fn import(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let p: ImportParams = input(body.into_inner())?;
    let owner = Target {
        named: p.persona_id.as_deref(),
        current: None,
    };
    Ok(HttpResponse::Created().json(importing::import(&app, owner, p.memories).await?))
}

/// `?persona=` alone.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonaFilter {
    /// A persona (id or name); all when absent.
    #[serde(default)]
    pub persona: Option<String>,
}

#[utoipa::path(tag = "memories", params(PersonaFilter),
    responses((status = 200, description = "As `memory.stats`", body = StatsOf)))]
#[get("/memories/stats")]
async fn stats(app: App, filter: web::Query<PersonaFilter>) -> Result<HttpResponse, WebError> {
    let whose = Target {
        named: filter.persona.as_deref(),
        current: None,
    };
    Ok(HttpResponse::Ok().json(items::stats(&app, whose).await?))
}

/// `GET /memories/shared` query: what a persona may see of the others' shared and public memories.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SharedQuery {
    /// The reader (id or name).
    pub persona: String,
    /// What to look for.
    pub q: String,
    /// Hits wanted.
    #[serde(default)]
    pub n_results: Option<i64>,
}

#[utoipa::path(tag = "memories", params(SharedQuery),
    responses((status = 200, description = "As `memory.search_cross_persona`", body = CrossSearchResult)))]
#[get("/memories/shared")]
async fn shared(app: App, query: web::Query<SharedQuery>) -> Result<HttpResponse, WebError> {
    let p = CrossSearchParams::new(query.q.clone(), query.n_results);
    p.validate()?;
    let found = sharing::search_cross_persona(&app, Target::named(&query.persona), &p).await?;
    Ok(HttpResponse::Ok().json(found))
}

#[utoipa::path(tag = "memories",
    responses((status = 200, description = "As `memory.shared_stats`", body = SharedStatsResult)))]
#[get("/memories/shared/stats")]
async fn shared_stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(sharing::shared_stats(&app).await?))
}
