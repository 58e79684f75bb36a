//! `system.status` and `system.models`.

use std::time::Duration;

use chrono::Utc;

use super::context::Ctx;
use super::params::NoParams;
use super::results::system::{ConfiguredModel, Models, SystemStatus};
use super::router::Router;
use crate::actors::persona::{now_secs, GetSnapshot};
use crate::actors::registry::ActiveConversations;
use crate::config::EmbedderPrecision;
use crate::domain::model_rules::offered;
use crate::error::AppError;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "system.status",
        "Server health, personas, connections and this session",
        status,
    );
    r.method(
        "system.models",
        "Models offered by the LLM backend, the model selection rules and which of their models exist",
        models,
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
        embedder: app.memory.embedder_name().map(str::to_string),
        embedder_precision: app.memory.embedder_precision().map(EmbedderPrecision::name),
    })
}

async fn models(ctx: Ctx, _: NoParams) -> Result<Models, AppError> {
    let llm = &ctx.app.llm;
    let available = llm.list_models().await?;
    let models = ctx.app.settings.current().models.clone();
    let configured_models = models
        .named_models()
        .into_iter()
        .map(|model| ConfiguredModel {
            available: offered(&model, &available),
            model,
        })
        .collect();
    Ok(Models {
        available_models: available,
        current_model: llm.default_model().to_string(),
        provider: llm.provider().to_string(),
        hint: llm.fallback_hint(),
        rules: models.rules,
        persona_models: models.personas,
        fallback: models.fallback,
        configured_models,
    })
}
