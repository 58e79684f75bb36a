//! `/personas/{id}/avatar`: upload (multipart field `file`: PNG, JPEG or WebP up to 2 MiB, the type told by its
//! first bytes, never by its name or declared type), stored by content hash ([`crate::ops::persona::avatar`]), and
//! served with an ETag so browsers revalidate cheaply.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{get, put, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::openapi::{Binary, FileUpload};
use super::App;
use crate::error::AppError;
use crate::ops::persona::avatar;
use crate::storage::avatars;
use crate::web::error::WebError;

/// Largest avatar.
pub const MAX_AVATAR_BYTES: usize = 2 * 1024 * 1024;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upload).service(download);
}

/// `PUT /personas/{id}/avatar`.
#[derive(Serialize, JsonSchema)]
pub struct AvatarSaved {
    /// The persona.
    pub persona_id: Uuid,
    /// Where the avatar is served (changes with the image).
    pub avatar_url: Option<String>,
    /// image/png, image/jpeg or image/webp, told by the bytes.
    pub content_type: &'static str,
    /// Its size.
    pub bytes: usize,
}

/// Reads the multipart field `file`, refusing more than `max` bytes (413) and a body that is not multipart (415).
pub async fn read_file_field(req: &HttpRequest, mut payload: Multipart, max: usize) -> Result<Vec<u8>, WebError> {
    let bad = |e: actix_multipart::MultipartError| WebError::BadRequest(format!("bad multipart body: {e}"));
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(bad)?;
        let wanted = field.name() == Some("file");
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(bad)?;
            if wanted {
                if data.len() + chunk.len() > max {
                    return Err(WebError::TooLarge(max));
                }
                data.extend_from_slice(&chunk);
            }
        }
        if wanted {
            return Ok(data);
        }
    }
    let _ = req;
    Err(AppError::required("file").into())
}

/// True when the request says it is `multipart/form-data`.
pub fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    request_body(content = FileUpload, content_type = "multipart/form-data",
        description = "Field `file`: PNG, JPEG or WebP, at most 2 MiB (413 beyond; 415 for another type)"),
    responses((status = 200, description = "The avatar is stored and set", body = AvatarSaved)))]
#[put("/personas/{id}/avatar")]
async fn upload(
    app: App,
    id: web::Path<String>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, WebError> {
    if !is_multipart(&req) {
        return Err(WebError::UnsupportedMediaType(
            "the body must be multipart/form-data with a field `file`".into(),
        ));
    }
    let bytes = read_file_field(&req, payload, MAX_AVATAR_BYTES).await?;
    let (ext, mime) = avatars::sniff_image(&bytes)
        .ok_or_else(|| WebError::UnsupportedMediaType("the avatar must be a PNG, JPEG or WebP image".into()))?;
    let size = bytes.len();
    let url = |id: Uuid, name: &str| format!("{}/personas/{id}/avatar?v={name}", super::API);
    let persona = avatar::set(&app, &id, bytes, ext, url).await?;
    Ok(HttpResponse::Ok().json(AvatarSaved {
        persona_id: persona.id,
        avatar_url: persona.avatar_url,
        content_type: mime,
        bytes: size,
    }))
}

#[utoipa::path(tag = "personas", params(("id" = String, Path, description = "Persona id or name")),
    responses(
        (status = 200, description = "The image, with an ETag", content(
            (Binary = "image/png"), (Binary = "image/jpeg"), (Binary = "image/webp"))),
        (status = 304, description = "Not modified (If-None-Match)")))]
#[get("/personas/{id}/avatar")]
async fn download(app: App, id: web::Path<String>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let Some((bytes, name)) = avatar::get(&app, &id).await? else {
        return Err(WebError::NotFound);
    };
    let mime = avatars::sniff_image(&bytes)
        .map(|(_, m)| m)
        .unwrap_or("application/octet-stream");
    let etag = format!("\"{}\"", name.split('.').next().unwrap_or_default());
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    Ok(if fresh {
        resp.finish()
    } else {
        resp.content_type(mime).body(bytes)
    })
}
