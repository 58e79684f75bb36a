//! The server's status and models.

use std::time::Duration;

use chrono::Utc;

use crate::actors::persona::{now_secs, GetSnapshot};
use crate::actors::registry::ActiveConversations;
use crate::app::Core;
use crate::config::EmbedderPrecision;
use crate::domain::model_rules::offered;
use crate::error::AppError;
use crate::ops::results::system::{ConfiguredModel, Models, SystemStatus};
use crate::ops::target::Session;

/// How long `system.status` waits for the LLM backend before calling it unavailable.
const LLM_PROBE: Duration = Duration::from_secs(2);

/// Server health, personas, the front door's open connections and the caller's session.
pub async fn status(core: &Core, session: Session, active_connections: usize) -> Result<SystemStatus, AppError> {
    let llm_available = matches!(tokio::time::timeout(LLM_PROBE, core.llm.list_models()).await, Ok(Ok(_)));
    let all = core.store.personas().list().await?;
    let now = now_secs();
    let mut available = 0;
    for p in &all {
        let snapshot = core.ask_persona(p, GetSnapshot).await?;
        available += usize::from(snapshot.state.is_available(now));
    }
    let current = session.current_persona;
    let current_conversation = match current {
        Some(persona) => core
            .store
            .conversations()
            .find(&session.session_id, persona, "")
            .await?
            .map(|c| c.id),
        None => None,
    };
    let dialogues = core.store.dialogues().active_count().await?;
    let active_conversations = core.registry.send(ActiveConversations).await? + dialogues as usize;
    Ok(SystemStatus {
        system_status: "operational",
        health: if llm_available { "healthy" } else { "degraded" },
        llm_available,
        llm_provider: core.llm.provider(),
        llm_hint: core.llm.fallback_hint(),
        total_personas: all.len(),
        available_personas: available,
        active_conversations,
        current_persona: current,
        current_conversation,
        timestamp: Utc::now(),
        active_connections,
        session_id: session.session_id,
        uptime_seconds: core.started_at.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION"),
        memory_embed_backlog: core.memory.embed_backlog(),
        embedder: core.memory.embedder_name().map(str::to_string),
        embedder_precision: core.memory.embedder_precision().map(EmbedderPrecision::name),
    })
}

/// Models offered by the LLM backend, the model selection rules and which of their models exist.
pub async fn models(core: &Core) -> Result<Models, AppError> {
    let llm = &core.llm;
    let available = llm.list_models().await?;
    let models = core.settings.current().models.clone();
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
