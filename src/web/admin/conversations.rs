//! `/conversations`: chats (a client with a persona) and persona-to-persona dialogues, with their transcripts.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::paging::{Page, PageQuery};
use super::App;
use crate::ops::conversation::transcripts;
use crate::ops::results::transcripts::{ConversationRow, Transcript};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list).service(get);
}

/// `GET /conversations` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationFilter {
    /// Only this persona's (id or name).
    #[serde(default)]
    pub persona: Option<String>,
    /// `chat` or `dialogue`; both when absent.
    #[serde(default)]
    pub kind: Option<String>,
}

/// `GET /conversations`.
pub type ConversationPage = Page<ConversationRow>;

#[utoipa::path(tag = "conversations", params(ConversationFilter, PageQuery),
    responses((status = 200, description = "Chats, then persona-to-persona conversations", body = ConversationPage)))]
#[get("/conversations")]
async fn list(
    app: App,
    filter: web::Query<ConversationFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    let rows = transcripts::list(&app, filter.persona.as_deref(), filter.kind.as_deref()).await?;
    Ok(HttpResponse::Ok().json(page.page(rows)?))
}

#[utoipa::path(tag = "conversations", params(("cid" = String, Path, description = "Conversation id")),
    responses((status = 200, description = "The conversation with its transcript", body = Transcript)))]
#[get("/conversations/{cid}")]
async fn get(app: App, cid: web::Path<String>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(transcripts::transcript(&app, &cid).await?))
}
