//! The scene's part in a turn: the scene the persona sees now (its own or the shared one, whichever is newer)
//! goes into the system prompt, in chats and persona-to-persona conversations alike.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use crate::domain::prompt::PromptSection;
use crate::domain::scene;
use crate::hooks::{CompletedTurn, TurnContext, TurnHook};
use crate::storage::Store;

/// The hook.
pub struct SceneHook(pub Store);

impl TurnHook for SceneHook {
    fn prompt_sections(&self, turn: TurnContext) -> BoxFuture<'static, Vec<PromptSection>> {
        let store = self.0.clone();
        async move {
            match store.scenes().seen_by(turn.persona.id).await {
                Ok(seen) => seen.iter().map(scene::section).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "reading the scene failed; the prompt goes without it");
                    Vec::new()
                }
            }
        }
        .boxed()
    }

    fn after_turn(&self, _: CompletedTurn) -> BoxFuture<'static, bool> {
        async { false }.boxed()
    }
}
