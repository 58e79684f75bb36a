//! `/relationships`: a persona's relationships (or every one), one pair, and an interaction applied to a pair.

use actix_web::{get, put, web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;

use super::bridge::{call, App};
use super::paging::{Page, PageQuery};
use crate::domain::compatibility::CompatibilityReport;
use crate::rpc::relationship::UpdateParams;
use crate::rpc::results::relationship::{
    RelationshipFound, RelationshipRow, RelationshipStatsResult, RelationshipUpdated,
};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(stats)
        .service(compatibility)
        .service(get)
        .service(update);
}

/// A row of `GET /relationships`: a row of `relationship.list` and the persona it was listed for.
#[derive(Serialize, JsonSchema)]
pub struct PairRow {
    /// The row of `relationship.list`.
    #[serde(flatten)]
    pub row: RelationshipRow,
    /// The persona whose relationship it is (as given, or its id).
    pub persona_id: String,
}

/// `GET /relationships`.
pub type RelationshipPage = Page<PairRow>;

/// `GET /relationships` filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RelationshipFilter {
    /// Only this persona's (id or name); every relationship when absent.
    #[serde(default)]
    pub persona: Option<String>,
}

#[utoipa::path(tag = "relationships", params(RelationshipFilter, PageQuery),
    responses((status = 200, description = "A persona's relationships, or every pair once", body = RelationshipPage)))]
#[get("/relationships")]
async fn list(
    app: App,
    filter: web::Query<RelationshipFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    let personas: Vec<String> = match filter.persona.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => vec![p.to_string()],
        None => app
            .store
            .personas()
            .list()
            .await?
            .iter()
            .map(|p| p.id.to_string())
            .collect(),
    };
    let mut items: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for persona in personas {
        let mut found = call(&app, "relationship.list", json!({ "persona_id": persona })).await?;
        if let Value::Array(rows) = found["relationships"].take() {
            for mut row in rows {
                let mut pair = [
                    persona.clone(),
                    row["other_persona_id"].as_str().unwrap_or_default().to_string(),
                ];
                pair.sort();
                if filter.persona.is_some() || seen.insert(pair) {
                    row["persona_id"] = json!(persona);
                    items.push(row);
                }
            }
        }
    }
    Ok(HttpResponse::Ok().json(page.page(items)?))
}

#[utoipa::path(tag = "relationships", params(("a" = String, Path, description = "A persona (id or name)"), ("b" = String, Path, description = "The other persona (id or name)")),
    responses((status = 200, description = "As `relationship.get`", body = RelationshipFound)))]
#[get("/relationships/{a}/{b}")]
async fn get(app: App, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (a, b) = path.into_inner();
    let params = json!({ "persona1_id": a, "persona2_id": b });
    Ok(HttpResponse::Ok().json(call(&app, "relationship.get", params).await?))
}

#[utoipa::path(tag = "relationships", params(("a" = String, Path, description = "A persona (id or name)"), ("b" = String, Path, description = "The other persona (id or name)")), request_body = UpdateParams,
    responses((status = 200, description = "As `relationship.update`", body = RelationshipUpdated)))]
#[put("/relationships/{a}/{b}")]
async fn update(app: App, path: web::Path<(String, String)>, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let (a, b) = path.into_inner();
    let mut params = match body.into_inner() {
        Value::Object(map) => Value::Object(map),
        other => {
            return Err(
                crate::error::AppError::invalid("body", format!("the body must be an object, got {other}")).into(),
            )
        }
    };
    params["persona1_id"] = json!(a);
    params["persona2_id"] = json!(b);
    Ok(HttpResponse::Ok().json(call(&app, "relationship.update", params).await?))
}

#[utoipa::path(tag = "relationships", responses((status = 200, description = "As `relationship.stats`", body = RelationshipStatsResult)))]
#[get("/relationships/stats")]
async fn stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "relationship.stats", json!({})).await?))
}

#[utoipa::path(tag = "relationships", params(("a" = String, Path, description = "A persona (id or name)"), ("b" = String, Path, description = "The other persona (id or name)")),
    responses((status = 200, description = "As `relationship.compatibility`", body = CompatibilityReport)))]
#[get("/relationships/{a}/{b}/compatibility")]
async fn compatibility(app: App, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (a, b) = path.into_inner();
    let params = json!({ "persona1_id": a, "persona2_id": b });
    Ok(HttpResponse::Ok().json(call(&app, "relationship.compatibility", params).await?))
}
