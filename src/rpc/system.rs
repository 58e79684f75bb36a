//! `system.status`, `system.models`, and `visual.update` / `visual.subscribe` (broadcasts to subscribers).

use std::time::Duration;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::framing::notification;
use super::params::NoParams;
use super::results::system::{Models, Subscribed, SystemStatus, VisualUpdated};
use super::router::{Params, Router};
use crate::actors::persona::{now_secs, GetSnapshot};
use crate::actors::registry::ActiveConversations;
use crate::error::AppError;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "system.status",
        "Server health, personas, connections and this session",
        status,
    );
    r.method("system.models", "Models offered by the LLM backend", models);
    r.method(
        "visual.update",
        "Broadcast a visual update to subscribed clients",
        visual_update,
    );
    r.method(
        "visual.subscribe",
        "Receive (or stop receiving) visual.update broadcasts",
        visual_subscribe,
    );
}

/// How long `system.status` waits for the LLM backend before calling it unavailable.
const LLM_PROBE: Duration = Duration::from_secs(2);

async fn status(ctx: Ctx, _: NoParams) -> Result<SystemStatus, AppError> {
    let app = &ctx.app;
    let llm_available = matches!(tokio::time::timeout(LLM_PROBE, app.llm.list_models()).await, Ok(Ok(_)));
    let all = app.store.personas().list().await?;
    let now = now_secs();
    let mut available = 0;
    for p in &all {
        let snapshot = app.ask_persona(p, GetSnapshot).await?;
        available += usize::from(snapshot.state.is_available(now));
    }
    let current = ctx.conn.current_persona();
    let session_id = ctx.conn.session_id();
    let current_conversation = match current {
        Some(persona) => app
            .store
            .conversations()
            .find(&session_id, persona, "")
            .await?
            .map(|c| c.id),
        None => None,
    };
    let dialogues = app.store.dialogues().active_count().await?;
    let active_conversations = app.registry.send(ActiveConversations).await? + dialogues as usize;
    Ok(SystemStatus {
        system_status: "operational",
        health: if llm_available { "healthy" } else { "degraded" },
        llm_available,
        llm_provider: app.llm.provider(),
        llm_hint: app.llm.fallback_hint(),
        total_personas: all.len(),
        available_personas: available,
        active_conversations,
        current_persona: current,
        current_conversation,
        timestamp: Utc::now(),
        active_connections: ctx.hub.count(),
        session_id,
        uptime_seconds: app.started_at.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION"),
        memory_embed_backlog: app.memory.embed_backlog(),
    })
}

async fn models(ctx: Ctx, _: NoParams) -> Result<Models, AppError> {
    let llm = &ctx.app.llm;
    let available = llm.list_models().await?;
    Ok(Models {
        available_models: available,
        current_model: llm.default_model().to_string(),
        provider: llm.provider().to_string(),
        hint: llm.fallback_hint(),
    })
}

/// `visual.update` params.
#[derive(Deserialize, JsonSchema)]
pub struct VisualUpdateParams {
    /// Kind of update.
    #[serde(default = "general", rename = "type")]
    pub update_type: String,
    /// Payload for the clients.
    #[serde(default)]
    pub data: Map<String, Value>,
}
impl Params for VisualUpdateParams {}

fn general() -> String {
    "general".into()
}

async fn visual_update(ctx: Ctx, p: VisualUpdateParams) -> Result<VisualUpdated, AppError> {
    let timestamp = Utc::now();
    let frame = notification(
        "visual.update",
        json!({ "update_type": p.update_type, "data": p.data, "timestamp": timestamp, "source_session": ctx.conn.session_id() }),
    )
    .to_string();
    let recipients = ctx.hub.broadcast(&frame, |c| {
        c.id != ctx.conn.id && c.visual_subscribed.load(std::sync::atomic::Ordering::Relaxed)
    });
    Ok(VisualUpdated {
        visual_updated: true,
        update_type: p.update_type,
        timestamp,
        recipients,
    })
}

/// `visual.subscribe` params.
#[derive(Deserialize, JsonSchema)]
pub struct SubscribeParams {
    /// False to unsubscribe.
    #[serde(default = "yes")]
    pub subscribe: bool,
}
impl Params for SubscribeParams {}

fn yes() -> bool {
    true
}

async fn visual_subscribe(ctx: Ctx, p: SubscribeParams) -> Result<Subscribed, AppError> {
    ctx.conn
        .visual_subscribed
        .store(p.subscribe, std::sync::atomic::Ordering::Relaxed);
    Ok(Subscribed {
        subscribed: p.subscribe,
    })
}
