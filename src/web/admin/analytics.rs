//! `/analytics`: conversation analytics per persona, as `conversation.analytics` ([`crate::ops::analytics`]).

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;

use super::body::input;
use super::App;
use crate::error::AppError;
use crate::ops::results::analytics::ConversationAnalytics;
use crate::web::error::WebError;

/// Registers the route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(analytics);
}

/// `GET /analytics` filters (serialised as `conversation.analytics` params, to be parsed as they are).
#[derive(Debug, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Only this persona (id or name); every persona when absent.
    #[serde(default, rename(serialize = "persona_id"))]
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
    let params = serde_json::to_value(q.into_inner()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(crate::ops::analytics::conversations(&app, input(params)?).await?))
}
