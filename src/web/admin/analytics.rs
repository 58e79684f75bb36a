//! `/analytics`: conversation analytics per persona, as `conversation.analytics`.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use super::bridge::{call, App};
use crate::rpc::results::analytics::ConversationAnalytics;
use crate::web::error::WebError;

/// Registers the route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(analytics);
}

/// `GET /analytics` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Only this persona (id or name); every persona when absent.
    #[serde(default)]
    pub persona: Option<String>,
    /// From this time (RFC 3339, inclusive).
    #[serde(default)]
    pub since: Option<String>,
    /// Up to this time (RFC 3339, inclusive).
    #[serde(default)]
    pub until: Option<String>,
}

#[utoipa::path(
    tag = "conversations",
    params(AnalyticsQuery),
    responses((status = 200, description = "As `conversation.analytics`", body = ConversationAnalytics))
)]
#[get("/analytics")]
async fn analytics(app: App, q: web::Query<AnalyticsQuery>) -> Result<HttpResponse, WebError> {
    let q = q.into_inner();
    let params = json!({ "persona_id": q.persona, "since": q.since, "until": q.until });
    Ok(HttpResponse::Ok().json(call(&app, "conversation.analytics", params).await?))
}
