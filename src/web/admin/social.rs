//! `/relationships`: a persona's relationships (or every one), one pair, and an interaction applied to a pair.

use actix_web::{get, put, web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use super::body::{input, with_path};
use super::live::announce_relationship;
use super::paging::{Page, PageQuery};
use super::App;
use crate::domain::compatibility::CompatibilityReport;
use crate::ops::input::Input;
use crate::ops::relationship::{self, PairParams, UpdateParams};
use crate::ops::results::relationship::{
    RelationshipFound, RelationshipRow, RelationshipStatsResult, RelationshipUpdated,
};
use crate::ops::target::Target;
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
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for persona in personas {
        for row in relationship::list(&app, Target::named(&persona)).await?.relationships {
            let mut pair = [persona.clone(), row.other_persona_id.to_string()];
            pair.sort();
            if filter.persona.is_some() || seen.insert(pair) {
                items.push(PairRow {
                    row,
                    persona_id: persona.clone(),
                });
            }
        }
    }
    Ok(HttpResponse::Ok().json(page.page(items)?))
}

/// The pair a path names, checked as `relationship.get` checks it.
fn input_pair(path: web::Path<(String, String)>) -> Result<PairParams, WebError> {
    let (persona1_id, persona2_id) = path.into_inner();
    let pair = PairParams {
        persona1_id,
        persona2_id,
    };
    pair.validate()?;
    Ok(pair)
}

#[utoipa::path(tag = "relationships", params(("a" = String, Path, description = "A persona (id or name)"), ("b" = String, Path, description = "The other persona (id or name)")),
    responses((status = 200, description = "As `relationship.get`", body = RelationshipFound)))]
#[get("/relationships/{a}/{b}")]
async fn get(app: App, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(relationship::get(&app, input_pair(path)?).await?))
}

#[utoipa::path(tag = "relationships", params(("a" = String, Path, description = "A persona (id or name)"), ("b" = String, Path, description = "The other persona (id or name)")), request_body = UpdateParams,
    responses((status = 200, description = "As `relationship.update`", body = RelationshipUpdated)))]
#[put("/relationships/{a}/{b}")]
async fn update(app: App, path: web::Path<(String, String)>, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let (a, b) = path.into_inner();
    let body = body.into_inner();
    if !body.is_object() {
        let refused = format!("the body must be an object, got {body}");
        return Err(crate::error::AppError::invalid("body", refused).into());
    }
    let p: UpdateParams = input(with_path(body, &[("persona1_id", &a), ("persona2_id", &b)]))?;
    let updated = relationship::update(&app, p).await?;
    announce_relationship(&app, &updated);
    Ok(HttpResponse::Ok().json(updated))
}

#[utoipa::path(tag = "relationships", responses((status = 200, description = "As `relationship.stats`", body = RelationshipStatsResult)))]
#[get("/relationships/stats")]
async fn stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(relationship::stats(&app).await?))
}

#[utoipa::path(tag = "relationships", params(("a" = String, Path, description = "A persona (id or name)"), ("b" = String, Path, description = "The other persona (id or name)")),
    responses((status = 200, description = "As `relationship.compatibility`", body = CompatibilityReport)))]
#[get("/relationships/{a}/{b}/compatibility")]
async fn compatibility(app: App, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(relationship::compatibility(&app, input_pair(path)?).await?))
}
