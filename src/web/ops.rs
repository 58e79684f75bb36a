//! Operations endpoints: `/healthz` (process up), `/readyz` (database, LLM), `/metrics` (Prometheus).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::web::Gateway;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers; the LLM's reachability is reported, not required.
pub async fn readyz(app: web::Data<Arc<Gateway>>) -> HttpResponse {
    let database = app.store.ping().await;
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
