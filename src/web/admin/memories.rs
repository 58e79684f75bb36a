//! `/memories`: the filtered, paged list (and search), store, get, update, delete, bulk delete. Reads go through
//! the same methods as JSON-RPC, called as the memory's owner: the admin sees every memory.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::bridge::{call, call_as, App};
use super::paging::{Page, PageQuery};
use crate::domain::memory::{StoredMemory, Visibility};
use crate::error::AppError;
use crate::rpc::memory::{ImportParams, StoreParams};
use crate::rpc::results::memory::{CrossSearchResult, Imported, MemoryDeleted, MemoryView, SharedStatsResult, StatsOf};
use crate::web::error::WebError;

/// The longest content a memory may have (as `memory.store`).
const MAX_CONTENT_BYTES: usize = 32 * 1024;

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

/// A row of `GET /memories`: the memory as the memory methods answer it, and its similarity to `q` when the
/// list is a search within one persona.
#[derive(Serialize, JsonSchema)]
pub struct MemoryRow {
    /// The memory.
    #[serde(flatten)]
    pub memory: MemoryView,
    /// Similarity to `q` (search within a persona only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
}

/// `GET /memories`.
pub type MemoryPage = Page<MemoryRow>;

/// `POST /memories/bulk_delete`.
#[derive(Serialize, JsonSchema)]
pub struct BulkDeleted {
    /// How many were deleted.
    pub deleted: usize,
    /// The ids that named no memory.
    pub not_found: Vec<String>,
}

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

impl MemoryFilter {
    fn keeps(&self, m: &Value) -> bool {
        let importance = m["importance"].as_f64().unwrap_or(0.0);
        self.memory_type.as_ref().is_none_or(|t| m["memory_type"] == t.as_str())
            && self.visibility.as_ref().is_none_or(|v| m["visibility"] == v.as_str())
            && self.min_importance.is_none_or(|lo| importance >= lo)
            && self.max_importance.is_none_or(|hi| importance <= hi)
    }
}

fn blank_to_none(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[utoipa::path(tag = "memories", params(MemoryFilter, PageQuery),
    responses((status = 200, description = "Memories, newest first (by similarity when searching within a persona)", body = MemoryPage)))]
#[get("/memories")]
async fn list(
    app: App,
    filter: web::Query<MemoryFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    if let Some(v) = blank_to_none(&filter.visibility) {
        Visibility::parse(v)
            .ok_or_else(|| AppError::invalid("visibility", "visibility must be private, shared or public"))?;
    }
    let owner = match blank_to_none(&filter.persona) {
        Some(key) => Some(app.resolve_persona(key).await?.id),
        None => None,
    };
    let rows: Vec<Value> = match (owner, blank_to_none(&filter.q)) {
        (Some(owner), Some(q)) => {
            let params = json!({ "persona_id": owner, "query": q, "n_results": 100 });
            let hits = call_as(&app, Some(owner), "memory.search", params).await?;
            let mut rows = Vec::new();
            for hit in hits["memories"].as_array().into_iter().flatten() {
                let Some(id) = hit["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
                    continue;
                };
                if let Some(stored) = app.memory.get(id).await? {
                    let mut row = memory_json(&stored.memory);
                    row["similarity"] = hit["similarity"].clone();
                    rows.push(row);
                }
            }
            rows
        }
        (owner, q) => {
            let needle = q.map(str::to_lowercase);
            let mut all = app.store.memories().all(owner).await?;
            all.sort_by(|a, b| b.memory.created_at.cmp(&a.memory.created_at).then(b.key.cmp(&a.key)));
            all.iter()
                .filter(|s| {
                    needle
                        .as_ref()
                        .is_none_or(|n| s.memory.content.to_lowercase().contains(n))
                })
                .map(|s| memory_json(&s.memory))
                .collect()
        }
    };
    let rows = rows.into_iter().filter(|m| filter.keeps(m)).collect();
    Ok(HttpResponse::Ok().json(page.page(rows)?))
}

/// The stored memory `mid` names, or 404.
async fn stored(app: &App, mid: &str) -> Result<StoredMemory, WebError> {
    let missing = || WebError::App(AppError::MemoryNotFound(mid.to_string()));
    let id = Uuid::parse_str(mid.trim()).map_err(|_| missing())?;
    app.memory.get(id).await?.ok_or_else(missing)
}

#[utoipa::path(tag = "memories", request_body = StoreParams,
    responses((status = 201, description = "The stored memory", body = MemoryView)))]
#[post("/memories")]
async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let body = body.into_inner();
    let persona = body
        .get("persona_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if persona.is_empty() {
        return Err(AppError::required("persona_id").into());
    }
    let stored_id = call(&app, "memory.store", body.clone()).await?;
    let mid = stored_id["memory_id"].as_str().unwrap_or_default();
    Ok(HttpResponse::Created().json(memory_json(&stored(&app, mid).await?.memory)))
}

#[utoipa::path(tag = "memories", params(("mid" = String, Path, description = "Memory id")),
    responses((status = 200, description = "The memory", body = MemoryView)))]
#[get("/memories/{mid}")]
async fn get(app: App, mid: web::Path<String>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(memory_json(&stored(&app, &mid).await?.memory)))
}

/// `PATCH /memories/{mid}` body: the fields to change.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryPatch {
    /// New text (at most 32 KiB); the memory is embedded anew before the answer.
    #[serde(default)]
    pub content: Option<String>,
    /// New importance, 0..1.
    #[serde(default)]
    pub importance: Option<f64>,
    /// private, shared or public.
    #[serde(default)]
    pub visibility: Option<String>,
    /// New type.
    #[serde(default)]
    pub memory_type: Option<String>,
}

#[utoipa::path(tag = "memories", params(("mid" = String, Path, description = "Memory id")),
    request_body = MemoryPatch,
    responses((status = 200, description = "The memory after the change", body = MemoryView)))]
#[patch("/memories/{mid}")]
async fn update(app: App, mid: web::Path<String>, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let patch: MemoryPatch = crate::rpc::router::parse_value(body.into_inner())?;
    if let Some(v) = patch.importance.filter(|v| !(0.0..=1.0).contains(v)) {
        return Err(AppError::invalid("importance", format!("importance must be between 0.0 and 1.0, got {v}")).into());
    }
    if patch
        .visibility
        .as_deref()
        .is_some_and(|v| Visibility::parse(v).is_none())
    {
        return Err(AppError::invalid("visibility", "visibility must be private, shared or public").into());
    }
    if patch
        .memory_type
        .as_deref()
        .is_some_and(|t| t.trim().is_empty() || t.len() > 64)
    {
        return Err(AppError::invalid("memory_type", "memory_type must be 1 to 64 characters").into());
    }
    let content = patch.content.map(|c| c.trim().to_string());
    match &content {
        Some(c) if c.is_empty() => return Err(AppError::invalid("content", "content must not be empty").into()),
        Some(c) if c.len() > MAX_CONTENT_BYTES => {
            return Err(AppError::invalid("content", "content must be at most 32 KiB").into())
        }
        _ => {}
    }
    let old = stored(&app, &mid).await?;
    if let Some(c) = content.filter(|c| *c != old.memory.content) {
        if !app.memory.edit_content(&old, c).await? {
            return Err(AppError::MemoryNotFound(mid.to_string()).into());
        }
    }
    let found = app
        .store
        .memories()
        .edit(old.key, patch.importance, patch.visibility, patch.memory_type)
        .await?;
    if !found {
        return Err(AppError::MemoryNotFound(mid.to_string()).into());
    }
    Ok(HttpResponse::Ok().json(memory_json(&stored(&app, &mid).await?.memory)))
}

#[utoipa::path(tag = "memories", params(("mid" = String, Path, description = "Memory id")),
    responses((status = 200, description = "As `memory.delete`", body = MemoryDeleted)))]
#[delete("/memories/{mid}")]
async fn delete(app: App, mid: web::Path<String>) -> Result<HttpResponse, WebError> {
    let found = stored(&app, &mid).await?;
    let owner = found.memory.persona_id;
    let params = json!({ "memory_id": found.memory.id });
    Ok(HttpResponse::Ok().json(call_as(&app, Some(owner), "memory.delete", params).await?))
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
    if bulk.ids.len() > 10_000 {
        return Err(AppError::invalid("ids", "at most 10000 ids at once").into());
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for id in &bulk.ids {
        match stored(&app, id).await {
            Ok(s) => found.push(s),
            Err(WebError::App(AppError::MemoryNotFound(_))) => missing.push(id.clone()),
            Err(e) => return Err(e),
        }
    }
    let deleted = app.memory.remove(&found).await?;
    Ok(HttpResponse::Ok().json(BulkDeleted {
        deleted,
        not_found: missing,
    }))
}

#[utoipa::path(tag = "memories", request_body = ImportParams,
    responses((status = 201, description = "Every memory stored, embedded and indexed", body = Imported)))]
#[post("/memories/import")]
async fn import(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let imported = call(&app, "memory.import", body.into_inner()).await?;
    Ok(HttpResponse::Created().json(imported))
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
    let params = json!({ "persona_id": blank_to_none(&filter.persona) });
    Ok(HttpResponse::Ok().json(call(&app, "memory.stats", params).await?))
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
    let reader = app.resolve_persona(&query.persona).await?.id;
    let mut params = json!({ "persona_id": reader, "query": query.q });
    if let Some(n) = query.n_results {
        params["n_results"] = json!(n);
    }
    Ok(HttpResponse::Ok().json(call_as(&app, Some(reader), "memory.search_cross_persona", params).await?))
}

#[utoipa::path(tag = "memories",
    responses((status = 200, description = "As `memory.shared_stats`", body = SharedStatsResult)))]
#[get("/memories/shared/stats")]
async fn shared_stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "memory.shared_stats", json!({})).await?))
}

/// A memory as the memory methods answer it.
fn memory_json(m: &crate::domain::memory::Memory) -> Value {
    serde_json::to_value(MemoryView::from(m.clone())).unwrap_or(Value::Null)
}
