//! `/state`: state files (over [`crate::ops::state_files`]): list the saves, save, verify, load, delete; download a save, and
//! upload one (verified completely before it is listed).

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use utoipa_actix_web::service_config::ServiceConfig;

use super::avatars::is_multipart;
use super::openapi::{Binary, FileUpload};
use super::session::admin_session;
use super::App;
use crate::error::AppError;
use crate::ops::state_files::{
    self, DeleteParams, DeleteResult, ListResult, LoadParams, LoadResult, PathParams, SaveResult, VerifyResult,
};
use crate::rpc::router::parse_value;
use crate::state::files::EXTENSION;
use crate::state::load::files;
use crate::state::{SaveInfo, StateError};
use crate::web::error::WebError;

/// The largest state file an upload may bring.
pub const MAX_UPLOAD_BYTES: u64 = 1024 * 1024 * 1024;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(save)
        .service(verify)
        .service(load)
        .service(download)
        .service(upload)
        .service(delete);
}

/// `POST /state/save` and `POST /state/verify` body (optional).
#[derive(Deserialize, JsonSchema, Default)]
pub struct StateFileRequest {
    /// A file of `<data_dir>/state/` (or a path under the data directory); save: default a new timestamped
    /// file; verify: default the newest save.
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /state/load` body.
#[derive(Deserialize, JsonSchema, Default)]
pub struct LoadRequest {
    /// The save to load; default the newest (only with `confirm`).
    #[serde(default)]
    pub name: Option<String>,
    /// Load the newest save without naming it.
    #[serde(default)]
    pub confirm: bool,
}

/// A JSON body, optional.
type Body = Option<web::Json<Value>>;

/// The body as `T` (its default when there is none); a wrong field is a 422 naming it.
fn request<T: DeserializeOwned + Default>(body: Body) -> Result<T, WebError> {
    match body {
        None => Ok(T::default()),
        Some(b) => Ok(parse_value(b.into_inner())?),
    }
}

#[utoipa::path(tag = "state", responses((status = 200, description = "As `state.list`", body = ListResult)))]
#[get("/state/saves")]
async fn list(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(state_files::list(&app)?))
}

#[utoipa::path(tag = "state", request_body(content = Option<StateFileRequest>, description = "Optional"),
    responses((status = 201, description = "As `state.save`", body = SaveResult)))]
#[post("/state/save")]
async fn save(app: App, body: Body) -> Result<HttpResponse, WebError> {
    let r: StateFileRequest = request(body)?;
    let saved = state_files::save(&app, &admin_session(), PathParams { path: r.name }).await?;
    Ok(HttpResponse::Created().json(saved))
}

#[utoipa::path(tag = "state", request_body(content = Option<StateFileRequest>, description = "Optional"),
    responses((status = 200, description = "As `state.verify`", body = VerifyResult)))]
#[post("/state/verify")]
async fn verify(app: App, body: Body) -> Result<HttpResponse, WebError> {
    let r: StateFileRequest = request(body)?;
    Ok(HttpResponse::Ok().json(state_files::verify(&app, PathParams { path: r.name }).await?))
}

#[utoipa::path(tag = "state", request_body = LoadRequest,
    responses((status = 200, description = "As `state.load`", body = LoadResult)))]
#[post("/state/load")]
async fn load(app: App, body: Body) -> Result<HttpResponse, WebError> {
    let r: LoadRequest = request(body)?;
    let p = LoadParams {
        path: r.name,
        confirm: r.confirm,
    };
    Ok(HttpResponse::Ok().json(state_files::load_state(&app, &admin_session(), p).await?))
}

#[utoipa::path(tag = "state", params(("name" = String, Path, description = "A save's name, as `GET /state/saves` gives it")),
    responses((status = 200, description = "The state file, as a download", content((Binary = "application/octet-stream")))))]
#[get("/state/saves/{name}")]
async fn download(app: App, name: web::Path<String>) -> Result<HttpResponse, WebError> {
    let path = files(&app).named(&name).map_err(|_| WebError::NotFound)?;
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(WebError::NotFound),
        Err(e) => return Err(AppError::from(StateError::io(&path)(e)).into()),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", name.as_str()),
        ))
        .body(bytes))
}

#[utoipa::path(tag = "state",
    request_body(content = FileUpload, content_type = "multipart/form-data",
        description = "Field `file`: a state file; its file name (NAME.pmstate) is kept when it is a plain name, else one is made"),
    responses((status = 201, description = "Verified and listed", body = SaveInfo)))]
#[post("/state/saves")]
async fn upload(app: App, req: HttpRequest, mut payload: Multipart) -> Result<HttpResponse, WebError> {
    if !is_multipart(&req) {
        return Err(WebError::UnsupportedMediaType(
            "the body must be multipart/form-data with a field `file`".into(),
        ));
    }
    let files = files(&app);
    let bad = |e: actix_multipart::MultipartError| WebError::BadRequest(format!("bad multipart body: {e}"));
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(bad)?;
        if field.name() != Some("file") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(bad)?;
            }
            continue;
        }
        let given = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let incoming = files.incoming().map_err(AppError::from)?;
        let written = receive(&mut field, &incoming).await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&incoming).await;
            return Err(e);
        }
        let name = match given {
            Some(n) if files.named(&n).is_ok() => n,
            _ => format!("upload-{}.{EXTENSION}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")),
        };
        return match files.adopt(incoming, &name).await {
            Ok(info) => Ok(HttpResponse::Created().json(info)),
            Err(StateError::Refused(reason)) if reason.contains("exists already") => {
                Err(AppError::Conflict(reason).into())
            }
            Err(StateError::Refused(reason)) => {
                Err(WebError::Unprocessable(format!("not a loadable state file: {reason}")))
            }
            Err(e) => Err(AppError::from(e).into()),
        };
    }
    Err(AppError::required("file").into())
}

/// Writes a multipart field to `path`, at most [`MAX_UPLOAD_BYTES`].
async fn receive(field: &mut actix_multipart::Field, path: &std::path::Path) -> Result<(), WebError> {
    let io = |e: std::io::Error| WebError::from(AppError::from(StateError::io(path)(e)));
    let mut out = tokio::fs::File::create(path).await.map_err(io)?;
    let mut total = 0u64;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| WebError::BadRequest(format!("bad multipart body: {e}")))?;
        total += chunk.len() as u64;
        if total > MAX_UPLOAD_BYTES {
            return Err(WebError::TooLarge(MAX_UPLOAD_BYTES as usize));
        }
        out.write_all(&chunk).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    Ok(())
}

#[utoipa::path(tag = "state", params(("name" = String, Path, description = "A save's name")),
    responses((status = 200, description = "As `state.delete`", body = DeleteResult)))]
#[delete("/state/saves/{name}")]
async fn delete(app: App, name: web::Path<String>) -> Result<HttpResponse, WebError> {
    let p = DeleteParams {
        name: name.into_inner(),
    };
    Ok(HttpResponse::Ok().json(state_files::delete(&app, p)?))
}
