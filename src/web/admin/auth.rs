//! Who may use the admin listener: its bearer token (from `admin.token`, or generated once into
//! `<data_dir>/admin.token` with mode 0600) and the same Origin/Host rules as the main listener. The token is
//! accepted only in the `Authorization` header — never from a cookie or the URL — so a page on another site cannot
//! make a browser send it (no cross-site request forgery), and a foreign `Origin` is refused besides.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;

use crate::app::StartError;
use crate::config::{ServerSettings, Settings};
use crate::web::error::WebError;
use crate::web::guard::{same_secret, Guard};

/// The admin listener's rules, built once at start.
pub struct AdminState {
    token: String,
    guard: Guard,
}

/// Where the generated token is kept.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.token")
}

/// Reads the token file, or creates it (mode 0600) with a fresh random token.
fn load_or_create_token(path: &Path) -> std::io::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let token = text.trim().to_string();
        if token.len() >= 16 {
            return Ok(token);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated the admin token");
    Ok(token)
}

impl AdminState {
    /// The token from the settings, or the one in (or newly written to) `<data_dir>/admin.token`.
    pub fn new(settings: &Settings) -> Result<Self, StartError> {
        let token = match &settings.admin.token {
            Some(token) => token.clone(),
            None => {
                let path = token_path(&settings.storage.data_dir);
                let token = load_or_create_token(&path)
                    .map_err(|e| StartError::Admin(format!("cannot use the token file {}: {e}", path.display())))?;
                tracing::info!(path = %path.display(), "admin API token is in this file");
                token
            }
        };
        let guard = Guard::new(&ServerSettings {
            host: settings.admin.host.clone(),
            allowed_origins: settings.server.allowed_origins.clone(),
            ..ServerSettings::default()
        });
        Ok(Self { token, guard })
    }

    /// Checks Origin and Host, then (on the API) the bearer token.
    fn check(&self, req: &ServiceRequest) -> Result<(), WebError> {
        let text = |name| req.headers().get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
        self.guard
            .check_origin_and_host(text(header::ORIGIN), text(header::HOST))?;
        if !req.path().starts_with("/admin/api/") {
            return Ok(());
        }
        let bearer = text(header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer "));
        match bearer {
            Some(given) if same_secret(given.trim(), &self.token) => Ok(()),
            _ => Err(WebError::Unauthorized),
        }
    }
}

/// The middleware in front of every admin route.
pub async fn gate(
    state: web::Data<AdminState>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Err(refusal) = state.check(&req) {
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}
