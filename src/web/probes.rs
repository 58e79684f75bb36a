//! Probes: `/healthz` (process up), `/readyz` (database, LLM), `/metrics` (Prometheus).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::web::Gateway;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// How long `/readyz` waits for the database: a database that does not answer within it is not ready (a health
/// check must not hang on a PostgreSQL server gone away).
const READY_DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Ready when the database answers within [`READY_DATABASE_TIMEOUT`]; the LLM's reachability is reported, not
/// required.
pub async fn readyz(app: web::Data<Arc<Gateway>>) -> HttpResponse {
    let database = tokio::time::timeout(READY_DATABASE_TIMEOUT, app.store.ping())
        .await
        .unwrap_or(false);
    let llm_available = matches!(
        tokio::time::timeout(Duration::from_secs(2), app.llm.list_models()).await,
        Ok(Ok(_))
    );
    let body = json!({
        "ready": database,
        "database": database,
        "llm_available": llm_available,
        "llm_url": app.llm.url(),
        "llm_provider": app.llm.provider(),
        "llm_hint": app.llm.fallback_hint(),
    });
    if database {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text format.
pub async fn metrics(app: web::Data<Arc<Gateway>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(app.metrics.render())
}
