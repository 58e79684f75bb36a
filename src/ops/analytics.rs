//! Conversation analytics: per persona, figures of its chat conversations over a time range, computed from the
//! stored turns (each reply keeps its tokens, latency, time to first chunk, continue score, emotional state and
//! recalled memories), threads and relationship interactions.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::app::Core;
use crate::domain::analytics::{figures, relationship_changes, Span};
use crate::error::AppError;
use crate::ops::input::Input;
use crate::ops::results::analytics::{ConversationAnalytics, PersonaAnalytics, RecalledMemory};

/// Memories listed as most recalled, per persona.
const MOST_RECALLED: usize = 10;

/// `conversation.analytics` params.
#[derive(Deserialize, JsonSchema)]
pub struct AnalyticsParams {
    /// Only this persona (id or name, case-insensitive); default: every persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// From this time (RFC 3339, inclusive); default: the beginning.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Up to this time (RFC 3339, inclusive); default: now.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

impl Input for AnalyticsParams {
    fn validate(&self) -> Result<(), AppError> {
        match (self.since, self.until) {
            (Some(since), Some(until)) if until < since => {
                Err(AppError::invalid("until", "until must not be before since"))
            }
            _ => Ok(()),
        }
    }
}

/// Per persona (or the one `p.persona_id` names): figures of its chat conversations over a time range.
pub async fn conversations(core: &Core, p: AnalyticsParams) -> Result<ConversationAnalytics, AppError> {
    let store = &core.store;
    let (only, personas) = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => {
            let persona = core.resolve_persona(key).await?;
            (Some(persona.id), vec![persona])
        }
        None => {
            let mut all = store.personas().list().await?;
            all.sort_by_key(|p| p.name.to_lowercase());
            (None, all)
        }
    };
    let span = Span {
        since: p.since,
        until: p.until,
    };
    let data = store.analytics();
    let mut figures = figures(&data.turns(only, span).await?);
    let threads = data.threads(only, span).await?;
    let interactions = data.interactions(only, span).await?;
    let mut out = Vec::with_capacity(personas.len());
    for persona in personas {
        let figures = figures.remove(&persona.id).unwrap_or_default();
        let mut most_recalled = Vec::new();
        for &(memory_id, recalls) in figures.recalls.iter().take(MOST_RECALLED) {
            let content = store.memories().get(memory_id).await?.map(|m| m.memory.content);
            most_recalled.push(RecalledMemory {
                memory_id,
                recalls,
                content,
            });
        }
        out.push(PersonaAnalytics {
            persona_id: persona.id,
            threads: threads.iter().filter(|t| t.persona_id == persona.id).cloned().collect(),
            relationship_changes: relationship_changes(persona.id, &interactions),
            most_recalled_memories: most_recalled,
            name: persona.name,
            figures,
        });
    }
    Ok(ConversationAnalytics {
        since: p.since,
        until: p.until,
        personas: out,
    })
}
