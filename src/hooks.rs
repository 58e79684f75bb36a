//! The seam through which features join a chat turn: before the reply they add sections to the system prompt
//! (memories, emotions, relationships); after it they learn from the exchange (memory, emotions).

use std::sync::Arc;

use futures_util::future::{join_all, BoxFuture};
use uuid::Uuid;

use crate::domain::persona::Persona;
use crate::domain::prompt::PromptSection;

/// A turn about to be answered.
#[derive(Debug, Clone)]
pub struct TurnContext {
    /// The persona that answers.
    pub persona: Persona,
    /// What it answers.
    pub user_message: String,
    /// The other persona, in a persona-to-persona conversation.
    pub partner: Option<Uuid>,
}

/// A turn that was answered (fully or partly).
#[derive(Debug, Clone)]
pub struct CompletedTurn {
    /// The persona that answered.
    pub persona: Persona,
    /// The message it answered.
    pub user_message: String,
    /// Its reply (possibly cut short).
    pub reply: String,
    /// True when the reply was cut short.
    pub partial: bool,
    /// Chat-platform sender, if any.
    pub sender: Option<String>,
    /// The stored conversation.
    pub conversation_id: Uuid,
}

/// A feature that takes part in chat turns.
pub trait TurnHook: Send + Sync {
    /// Sections to add to the system prompt for this turn.
    fn prompt_sections(&self, turn: TurnContext) -> BoxFuture<'static, Vec<PromptSection>>;
    /// Called once the turn is stored, before the answer is acknowledged; true when it stored a memory.
    fn after_turn(&self, turn: CompletedTurn) -> BoxFuture<'static, bool>;
}

/// The registered hooks, run concurrently.
#[derive(Clone, Default)]
pub struct Hooks(Arc<Vec<Arc<dyn TurnHook>>>);

impl Hooks {
    /// Hooks from a list.
    pub fn new(hooks: Vec<Arc<dyn TurnHook>>) -> Self {
        Self(Arc::new(hooks))
    }

    /// Every hook's sections, in registration order.
    pub async fn sections(&self, turn: &TurnContext) -> Vec<PromptSection> {
        join_all(self.0.iter().map(|h| h.prompt_sections(turn.clone())))
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Tells every hook about a completed turn; true when any stored a memory of it.
    pub async fn after_turn(&self, turn: &CompletedTurn) -> bool {
        join_all(self.0.iter().map(|h| h.after_turn(turn.clone())))
            .await
            .into_iter()
            .any(|stored| stored)
    }
}
