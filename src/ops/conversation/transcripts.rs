//! The operator's view of conversations (the admin API's `/conversations`): every chat and persona-to-persona
//! conversation, or one persona's, and one conversation with its transcript.

use uuid::Uuid;

use super::dialogue::status_of;
use crate::app::Core;
use crate::error::AppError;
use crate::ops::results::transcripts::{ConversationRow, DialogueRow, MessageRow, Transcript, TurnRow};

/// The chats, then the persona-to-persona conversations, of `persona` (id or name; every one when `None`);
/// `kind` `chat` or `dialogue` lists only those.
pub async fn list(core: &Core, persona: Option<&str>, kind: Option<&str>) -> Result<Vec<ConversationRow>, AppError> {
    let kind = kind.filter(|k| !k.is_empty());
    if kind.is_some_and(|k| k != "chat" && k != "dialogue") {
        return Err(AppError::invalid("kind", "kind must be chat or dialogue"));
    }
    let persona = match persona.filter(|p| !p.trim().is_empty()) {
        Some(key) => Some(core.resolve_persona(key).await?.id),
        None => None,
    };
    let mut items = Vec::new();
    if kind != Some("dialogue") {
        let chats = core.store.conversations().list(persona).await?;
        items.extend(chats.iter().map(|c| ConversationRow::Chat(c.into())));
    }
    if kind != Some("chat") {
        let dialogues = core.store.dialogues().list(persona, false).await?;
        items.extend(dialogues.iter().map(|d| {
            ConversationRow::Dialogue(DialogueRow {
                status: status_of(d),
                kind: "dialogue",
            })
        }));
    }
    Ok(items)
}

/// The conversation `cid` names (a chat or a persona-to-persona conversation) with its transcript.
pub async fn transcript(core: &Core, cid: &str) -> Result<Transcript, AppError> {
    let missing = || AppError::ConversationNotFound(cid.to_string());
    let id = Uuid::parse_str(cid.trim()).map_err(|_| missing())?;
    if let Some(chat) = core.store.conversations().get(id).await? {
        let messages = core.store.conversations().range(id, 0, i64::MAX).await?;
        return Ok(Transcript::Chat {
            chat: (&chat).into(),
            messages: messages.iter().map(MessageRow::from).collect(),
        });
    }
    let dialogue = core.store.dialogues().get(id).await?.ok_or_else(missing)?;
    let messages = dialogue
        .turns
        .iter()
        .map(|t| TurnRow {
            speaker_id: t.speaker_id,
            content: t.content.clone(),
            continue_score: t.continue_score,
            tokens_used: t.tokens_used,
            created_at: t.created_at,
        })
        .collect();
    Ok(Transcript::Dialogue {
        dialogue: DialogueRow {
            status: status_of(&dialogue),
            kind: "dialogue",
        },
        messages,
    })
}
