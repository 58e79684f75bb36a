//! `/personas/import` and `/personas/{id}/card`: character cards in and out, over
//! [`crate::ops::persona::card`].

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa_actix_web::service_config::ServiceConfig;

use super::avatars::{is_multipart, read_file_field};
use super::openapi::{Binary, FileUpload};
use super::personas::card_with_stats;
use super::App;
use crate::domain::card::{self, CardError};
use crate::ops::input::Input;
use crate::ops::persona::card::{self as cards, ExportParams, ImportParams};
use crate::ops::results::persona::CardWithStats;
use crate::storage::avatars::sniff_image;
use crate::web::error::WebError;

/// Largest card file (PNG cards carry a picture).
pub const MAX_CARD_BYTES: usize = 8 * 1024 * 1024;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(import).service(export);
}

/// A Character Card V2 or V3 as JSON.
#[derive(Serialize, JsonSchema)]
pub struct CardJson {
    /// `chara_card_v2` or `chara_card_v3`.
    pub spec: String,
    /// `2.0` or `3.0`.
    pub spec_version: String,
    /// The card's fields (name, description, personality, scenario, first_mes, character_book…).
    pub data: Map<String, Value>,
}

/// `POST /personas/import`: the new persona (as `GET /personas/{id}`) and how many lore memories its character
/// book gave.
#[derive(Serialize, JsonSchema)]
pub struct ImportedPersona {
    /// The persona.
    #[serde(flatten)]
    pub persona: CardWithStats,
    /// Character book entries stored as lore memories.
    pub lore_memories: usize,
}

/// The card JSON in an uploaded file: a PNG with a card chunk, or JSON.
fn card_from_file(bytes: &[u8]) -> Result<Value, WebError> {
    if sniff_image(bytes).is_some_and(|(ext, _)| ext == "png") {
        return card::json_from_png(bytes).map_err(|e| WebError::Unprocessable(e.to_string()));
    }
    if bytes.trim_ascii_start().starts_with(b"{") {
        return serde_json::from_slice(bytes)
            .map_err(|e| WebError::BadRequest(format!("the card is not valid JSON: {e}")));
    }
    Err(WebError::UnsupportedMediaType(
        "a card must be a PNG with a card chunk, or JSON".into(),
    ))
}

async fn read_body(mut payload: web::Payload, max: usize) -> Result<Vec<u8>, WebError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| WebError::BadRequest(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(WebError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[utoipa::path(tag = "cards",
    request_body(description = "A V2/V3 card: multipart field `file` (PNG or JSON), or the PNG or JSON as the body",
        content((FileUpload = "multipart/form-data"), (CardJson = "application/json"), (Binary = "image/png"))),
    responses((status = 201, description = "The persona made from the card", body = ImportedPersona)))]
#[post("/personas/import")]
async fn import(app: App, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, WebError> {
    let bytes = if is_multipart(&req) {
        read_file_field(&req, Multipart::new(req.headers(), payload), MAX_CARD_BYTES).await?
    } else {
        read_body(payload, MAX_CARD_BYTES).await?
    };
    let json = card_from_file(&bytes)?;
    if let Err(e @ CardError::NotACard(_)) = card::parse(&json) {
        return Err(WebError::Unprocessable(e.to_string()));
    }
    let p = ImportParams {
        card: Some(json),
        png_base64: None,
    };
    let created = cards::import(&app, p).await?;
    let persona = card_with_stats(&app, &created.persona_id.to_string()).await?;
    Ok(HttpResponse::Created().json(ImportedPersona {
        persona,
        lore_memories: created.lore_memories,
    }))
}

/// `?format=json|png&spec=v2|v3`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardQuery {
    /// `json` (default) or `png`.
    #[serde(default)]
    pub format: Option<String>,
    /// `v2` or `v3` (default).
    #[serde(default)]
    pub spec: Option<String>,
}

#[utoipa::path(tag = "cards", params(("id" = String, Path, description = "Persona id or name"), CardQuery),
    responses((status = 200, description = "The card, as a download",
        content((CardJson = "application/json"), (Binary = "image/png")))))]
#[get("/personas/{id}/card")]
async fn export(app: App, id: web::Path<String>, query: web::Query<CardQuery>) -> Result<HttpResponse, WebError> {
    let p = ExportParams {
        persona_id: id.into_inner(),
        spec: query.spec.clone().unwrap_or_else(|| "v3".into()),
        format: query.format.clone().unwrap_or_else(|| "json".into()),
    };
    p.validate()?;
    let file = |ext: &str| format!("attachment; filename=\"card-{}.{ext}\"", p.spec);
    if p.format == "png" {
        return Ok(HttpResponse::Ok()
            .content_type("image/png")
            .insert_header((header::CONTENT_DISPOSITION, file("png")))
            .body(cards::png(&app, &p.persona_id).await?));
    }
    let disposition = file("json");
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .json(cards::export(&app, p).await?.card))
}
