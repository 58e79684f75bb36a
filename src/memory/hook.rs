//! Memory's part in a chat turn: relevant memories go into the system prompt; the exchange becomes a scored
//! `conversation` memory (stored before the answer is sent, embedded right after).

use std::sync::Arc;

use chrono::Utc;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{MemoryService, SearchQuery};
use crate::domain::importance::{self, ImportanceInput, ImportanceWeights};
use crate::domain::memory::{Memory, MEMORY_TYPE_CONVERSATION};
use crate::domain::prompt::PromptSection;
use crate::hooks::{CompletedTurn, TurnContext, TurnHook};

/// The hook.
pub struct MemoryHook(pub Arc<MemoryService>);

/// The memory text of one exchange.
pub fn exchange_text(turn: &CompletedTurn) -> String {
    let speaker = turn.sender.as_deref().unwrap_or("User");
    format!(
        "{speaker}: {}\n{}: {}",
        turn.user_message, turn.persona.name, turn.reply
    )
}

impl TurnHook for MemoryHook {
    fn prompt_sections(&self, turn: TurnContext) -> BoxFuture<'static, Vec<PromptSection>> {
        let service = self.0.clone();
        async move {
            let query = SearchQuery {
                persona: turn.persona.id,
                query: turn.user_message.clone(),
                n_results: service.settings().prompt_memories,
                min_importance: 0.0,
                memory_type: None,
                touch: false,
            };
            match service.search(query).await {
                Ok(hits) if !hits.is_empty() => vec![PromptSection {
                    title: "Things you remember".into(),
                    body: hits
                        .iter()
                        .map(|h| format!("- {}", h.memory.content.replace('\n', " / ")))
                        .collect::<Vec<_>>()
                        .join("\n"),
                }],
                Ok(_) => Vec::new(),
                Err(e) => {
                    tracing::warn!(error = %e, "recalling memories for the prompt failed");
                    Vec::new()
                }
            }
        }
        .boxed()
    }

    fn after_turn(&self, turn: CompletedTurn) -> BoxFuture<'static, bool> {
        let service = self.0.clone();
        async move {
            if turn.reply.trim().is_empty() {
                return false;
            }
            let text = exchange_text(&turn);
            let score = importance::score(
                &ImportanceInput {
                    speaker: Some(&turn.persona),
                    ..ImportanceInput::new(&text)
                },
                &ImportanceWeights::default(),
            );
            let mut memory = Memory::new(turn.persona.id, text, MEMORY_TYPE_CONVERSATION, score.total, Utc::now());
            memory.metadata = serde_json::json!({ "conversation_id": turn.conversation_id, "partial": turn.partial });
            match service.store(vec![memory], false).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "storing the chat turn as a memory failed");
                    false
                }
            }
        }
        .boxed()
    }
}
