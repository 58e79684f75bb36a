//! Thread titles by model: when a rule of `[models]` names the `title` task, a new topic thread is named with a
//! few words from that model after its first exchange (retried after its second), off the turn's critical path;
//! without one, or when the model fails, the label stays its top keywords.

use actix::Addr;

use super::persona::{GetSnapshot, PersonaActor};
use super::turn::TurnDeps;
use crate::domain::model_rules::{Situation, Task};
use crate::domain::prompt;
use crate::domain::thread::{clean_title, Thread};
use crate::error::AppError;
use crate::llm::{self, ChatRequest};

/// The most tokens a title may take.
const TITLE_TOKENS: u32 = 16;

/// A thread is titled when it holds this many messages (its first exchange), or twice as many (a retry).
const TITLE_AFTER: i64 = 2;

/// True when `thread` should get a title now: the settings configure a title model and the thread, untitled, has
/// just had its first or second exchange.
pub fn due(deps: &TurnDeps, thread: &Thread) -> bool {
    thread.title.is_none()
        && matches!(thread.message_count, n if n == TITLE_AFTER || n == 2 * TITLE_AFTER)
        && deps.settings.current().models.configures(Task::Title)
}

/// Asks the title model for `thread`'s title and stores it; `None` when no title rule matches this persona and
/// thread, or the answer holds no words.
pub async fn title(
    deps: TurnDeps,
    persona: Addr<PersonaActor>,
    thread: Thread,
    threads: usize,
) -> Result<Option<String>, AppError> {
    let snapshot = persona.send(GetSnapshot).await?;
    let messages = deps
        .store
        .threads()
        .recent(thread.conversation_id, thread.id, (2 * TITLE_AFTER) as usize)
        .await?;
    let choice = deps.choose_model(&Situation {
        token_budget: TITLE_TOKENS,
        message_chars: messages.iter().map(|m| m.content.chars().count()).sum(),
        threads,
        ..Situation::new(&snapshot.persona, Task::Title)
    });
    if !choice.for_task || messages.is_empty() {
        return Ok(None);
    }
    let request = ChatRequest::new(
        choice,
        prompt::title_request(&snapshot.persona, &messages),
        TITLE_TOKENS,
    );
    let Some(title) = clean_title(&llm::complete(deps.llm.as_ref(), request).await?) else {
        return Ok(None);
    };
    deps.store.threads().set_title(thread.id, title.clone()).await?;
    Ok(Some(title))
}
