//! The one gate in front of every route and transport (the WebSocket upgrade and Streamable HTTP on `/mcp`, and
//! the operations endpoints): a middleware that refuses
//!
//! - a browser page from a foreign origin: an `Origin` header that is neither loopback, nor the configured host,
//!   nor one of `server.allowed_origins` (403);
//! - on a loopback listener, a `Host` that is not a loopback name or address, nor the host of an allowed origin
//!   (403: DNS rebinding, where a foreign name resolves to 127.0.0.1);
//! - without the configured token (`server.token` on `/mcp`; `server.metrics_token`, else `server.token`, on
//!   `/metrics`), a request that does not carry it as `Authorization: Bearer …` or `?token=` (401).

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use super::error::WebError;
use crate::config::ServerSettings;

/// Who may talk to the server, built once from the settings.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Origins allowed besides loopback ones, serialised as `scheme://host[:port]`.
    allowed_origins: Vec<String>,
    /// Hosts of the allowed origins, accepted as `Host` on a loopback listener.
    allowed_hosts: Vec<String>,
    /// The bound host when it names one interface (not `0.0.0.0` or `::`).
    bound_host: Option<String>,
    /// True when bound to a loopback address: `Host` must then be loopback too.
    loopback_only: bool,
    token: Option<String>,
    metrics_token: Option<String>,
}

/// The ASCII serialisation of a web origin (`https://app.example:8443`), or `None` when it is not one.
fn parse_origin(origin: &str) -> Option<(String, String)> {
    let url = reqwest::Url::parse(origin).ok()?;
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']');
    Some((url.origin().ascii_serialization(), host.to_ascii_lowercase()))
}

/// True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host part of a `Host` header (`name:port`, `[v6]:port`, or a bare name).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

impl Guard {
    /// The rules for these settings (`allowed_origins` are checked by `Settings::validate`; any that do not
    /// parse are ignored here).
    pub fn new(server: &ServerSettings) -> Self {
        let (allowed_origins, allowed_hosts) = server.allowed_origins.iter().filter_map(|o| parse_origin(o)).unzip();
        let bound = server.host.trim_start_matches('[').trim_end_matches(']');
        let wildcard = bound.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
        Self {
            allowed_origins,
            allowed_hosts,
            bound_host: (!wildcard).then(|| bound.to_ascii_lowercase()),
            loopback_only: is_loopback(bound),
            token: server.token.clone(),
            metrics_token: server.metrics_token.clone(),
        }
    }

    /// Checks `Origin` and `Host` (present or not) against the rules.
    pub fn check_origin_and_host(&self, origin: Option<&str>, host: Option<&str>) -> Result<(), WebError> {
        if let Some(origin) = origin {
            let allowed = parse_origin(origin).is_some_and(|(serialised, host)| {
                is_loopback(&host)
                    || self.bound_host.as_deref() == Some(host.as_str())
                    || self.allowed_origins.contains(&serialised)
            });
            if !allowed {
                return Err(WebError::ForeignOrigin(origin.to_string()));
            }
        }
        if let (true, Some(host)) = (self.loopback_only, host) {
            let name = host_name(host).to_ascii_lowercase();
            if !is_loopback(&name) && !self.allowed_hosts.contains(&name) {
                return Err(WebError::ForeignHost(host.to_string()));
            }
        }
        Ok(())
    }

    /// The token a path needs, if any.
    fn token_for(&self, path: &str) -> Option<&str> {
        match path {
            "/metrics" => self.metrics_token.as_deref().or(self.token.as_deref()),
            "/healthz" | "/readyz" => None,
            _ => self.token.as_deref(),
        }
    }

    /// Every check for one request.
    pub fn check(&self, req: &HttpRequest) -> Result<(), WebError> {
        let text = |name| req.headers().get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
        self.check_origin_and_host(text(header::ORIGIN), text(header::HOST))?;
        match self.token_for(req.path()) {
            Some(expected) if !carries_token(req, expected) => Err(WebError::Unauthorized),
            _ => Ok(()),
        }
    }
}

/// True when the request carries `expected` as a bearer token or as `?token=` (browsers cannot set headers on
/// a WebSocket upgrade).
fn carries_token(req: &HttpRequest, expected: &str) -> bool {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("token").cloned());
    bearer.is_some_and(|t| same_secret(t, expected)) || query.is_some_and(|t| same_secret(&t, expected))
}

/// The middleware: answers a refused request with its [`WebError`], passes the rest on.
pub async fn gate(
    guard: web::Data<Guard>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Err(refusal) = guard.check(req.request()) {
        tracing::debug!(error = %refusal, path = req.path(), "request refused");
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(host: &str, allowed: &[&str]) -> Guard {
        Guard::new(&ServerSettings {
            host: host.into(),
            allowed_origins: allowed.iter().map(|s| s.to_string()).collect(),
            ..ServerSettings::default()
        })
    }

    #[test]
    fn origins_must_be_loopback_configured_or_allowed() {
        let g = guard("127.0.0.1", &["https://app.example"]);
        let ok = |o| g.check_origin_and_host(Some(o), Some("127.0.0.1:8000")).is_ok();
        assert!(ok("http://localhost:6274") && ok("http://127.0.0.1") && ok("http://[::1]:3000"));
        assert!(ok("https://app.example") && ok("https://APP.example:443"));
        assert!(!ok("http://app.example"), "another scheme is another origin");
        assert!(!ok("http://evil.example") && !ok("null") && !ok("http://localhost.evil.example"));
        assert!(g.check_origin_and_host(None, None).is_ok(), "not a browser");
    }

    #[test]
    fn a_loopback_listener_refuses_foreign_hosts() {
        let g = guard("127.0.0.1", &["https://app.example"]);
        let ok = |h| g.check_origin_and_host(None, Some(h)).is_ok();
        assert!(ok("127.0.0.1:8000") && ok("localhost:8000") && ok("[::1]:8000") && ok("LOCALHOST"));
        assert!(ok("app.example"), "the host of an allowed origin (a reverse proxy)");
        assert!(!ok("evil.example:8000") && !ok("127.0.0.1.evil.example:8000"));
        let open = guard("0.0.0.0", &[]);
        assert!(open.check_origin_and_host(None, Some("my-server.lan:8000")).is_ok());
        assert!(open
            .check_origin_and_host(Some("http://my-server.lan:8000"), None)
            .is_err());
        let named = guard("my-server.lan", &[]);
        assert!(named
            .check_origin_and_host(Some("http://my-server.lan:8000"), None)
            .is_ok());
    }
}
