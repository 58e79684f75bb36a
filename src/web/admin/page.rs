//! The admin web page: a small static app (HTML, CSS, JavaScript modules) embedded in the binary and served at
//! `/admin/` and `/admin/assets/{file}`. It talks to the REST API under `/admin/api/v1` with the bearer token the
//! admin types once; the page itself needs no token (it holds no data).

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::web::error::WebError;

/// One embedded file: its name under `assets/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static str,
}

/// An [`Asset`] for the file `page/<name>`, embedded at compile time.
macro_rules! asset {
    ($name:literal, $mime:expr) => {
        Asset {
            name: $name,
            mime: $mime,
            body: include_str!(concat!("page/", $name)),
        }
    };
}

/// Every asset of the page (no CDN, nothing read from disk at run time).
const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("personas.js", JS),
    asset!("chat.js", JS),
    asset!("memories.js", JS),
    asset!("graph.js", JS),
    asset!("conversations.js", JS),
    asset!("logs.js", JS),
    asset!("bots.js", JS),
    asset!("system.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
];

const JS: &str = "text/javascript; charset=utf-8";
const INDEX: &str = include_str!("page/index.html");

/// The page may load only its own scripts and styles, connect to its own origin and to the MCP WebSocket (another
/// port of the same host), show uploaded avatars as blobs, and may not be framed (clickjacking).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
                   connect-src 'self' ws: wss:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Mounts the page inside the `/admin` scope: `""` redirects to `/admin/`, `/` is the page, `/assets/{file}` its
/// files.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(redirect))
        .route("/", web::get().to(index))
        .route("/assets/{file}", web::get().to(asset));
}

async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/admin/"))
        .finish()
}

async fn index() -> HttpResponse {
    respond("text/html; charset=utf-8", INDEX)
}

async fn asset(file: web::Path<String>) -> Result<HttpResponse, WebError> {
    let found = ASSETS
        .iter()
        .find(|a| a.name == file.as_str())
        .ok_or(WebError::NotFound)?;
    Ok(respond(found.mime, found.body))
}

/// The page's security headers on every file; `no-cache` so a new binary's page is picked up at once.
fn respond(mime: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        let mut sources: Vec<&str> = ASSETS.iter().map(|a| a.body).collect();
        sources.push(INDEX);
        for src in sources {
            for part in src
                .split(['"', '\''])
                .filter(|p| p.starts_with("./") || p.starts_with("assets/"))
            {
                let name = part.trim_start_matches("./").trim_start_matches("assets/");
                if name.ends_with(".js") || name.ends_with(".css") || name.ends_with(".svg") {
                    assert!(
                        ASSETS.iter().any(|a| a.name == name),
                        "{name} is referenced but not embedded"
                    );
                }
            }
        }
    }
}
