//! `persona-mcp prompt show`: prints the exact prompt the model would get for a message (identity, feelings,
//! relationship, recalled memories, the thread's history and summary), built by the same code as a chat turn,
//! without calling the model or storing anything.

use crate::actors::conversation::{ConversationKey, ShowPrompt, ShownPrompt};
use crate::app::Core;
use crate::config::Settings;

/// The vector deadlines of a shown prompt: long enough for any embedding.
const UNHURRIED_MS: u64 = 60_000;

/// What to show.
#[derive(Debug, Clone)]
pub struct PromptQuery {
    /// The persona (id or name).
    pub persona: String,
    /// The message it would answer.
    pub message: String,
    /// The client session whose conversation (history, threads) the message would join.
    pub session: String,
}

/// The prompt as text: the model, the thread, then each message under its role.
pub fn render(shown: &ShownPrompt) -> String {
    let mut out = format!("model: {}\nthread: {}\n", shown.model, shown.thread);
    for m in &shown.messages {
        out.push_str(&format!("\n=== {} ===\n{}\n", m.role.as_str(), m.content));
    }
    out
}

/// Builds the prompt; must run inside an actix `System`. Unlike a chat turn it waits for the message's vector
/// (recall and threading both): it shows the prompt a turn gets when the embedding is in time.
pub async fn show(mut settings: Settings, query: PromptQuery) -> Result<ShownPrompt, String> {
    settings.memory.recall_deadline_ms = UNHURRIED_MS;
    settings.chat.thread_vector_wait_ms = UNHURRIED_MS;
    let app = Core::build(settings).map_err(|e| e.to_string())?;
    let persona = app.resolve_persona(&query.persona).await.map_err(|e| e.to_string())?;
    let key = ConversationKey {
        session_id: query.session,
        persona: persona.id,
        channel: String::new(),
    };
    let conversation = app.conversation(key, &persona).await.map_err(|e| e.to_string())?;
    let shown = conversation
        .send(ShowPrompt {
            message: query.message,
            token_budget: app.settings.current().chat.default_token_budget,
        })
        .await
        .map_err(|e| e.to_string())?;
    shown.map_err(|e| e.to_string())
}
