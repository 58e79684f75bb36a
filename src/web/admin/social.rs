//! `/relationships`: a persona's relationships (or every one), one pair, and an interaction applied to a pair.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::bridge::{call, App};
use super::paging::PageQuery;
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/relationships", web::get().to(list))
        .route("/relationships/stats", web::get().to(stats))
        .route("/relationships/{a}/{b}/compatibility", web::get().to(compatibility))
        .route("/relationships/{a}/{b}", web::get().to(get))
        .route("/relationships/{a}/{b}", web::put().to(update));
}

/// `GET /relationships` filter.
#[derive(Debug, Deserialize)]
pub struct RelationshipFilter {
    /// Only this persona's (id or name); every relationship when absent.
    #[serde(default)]
    pub persona: Option<String>,
}

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

async fn get(app: App, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (a, b) = path.into_inner();
    let params = json!({ "persona1_id": a, "persona2_id": b });
    Ok(HttpResponse::Ok().json(call(&app, "relationship.get", params).await?))
}

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

async fn stats(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "relationship.stats", json!({})).await?))
}

async fn compatibility(app: App, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (a, b) = path.into_inner();
    let params = json!({ "persona1_id": a, "persona2_id": b });
    Ok(HttpResponse::Ok().json(call(&app, "relationship.compatibility", params).await?))
}
