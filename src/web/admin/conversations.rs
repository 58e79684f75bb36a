//! `/conversations`: chats (a client with a persona) and persona-to-persona dialogues, with their transcripts.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::bridge::App;
use super::paging::{Page, PageQuery};
use crate::domain::chat::{ChatConversation, ChatMessage};
use crate::error::AppError;
use crate::rpc::conversation::status_of;
use crate::rpc::results::conversation::DialogueStatus;
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list).service(get);
}

/// `GET /conversations` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationFilter {
    /// Only this persona's (id or name).
    #[serde(default)]
    pub persona: Option<String>,
    /// `chat` or `dialogue`; both when absent.
    #[serde(default)]
    pub kind: Option<String>,
}

/// A chat: a client (or a Matrix room's speaker) with a persona.
#[derive(Serialize, JsonSchema)]
pub struct ChatRow {
    /// Conversation id.
    pub id: Uuid,
    /// Always `chat`.
    pub kind: &'static str,
    /// The persona.
    pub persona_id: Uuid,
    /// The client's session.
    pub session_id: String,
    /// Where it happens (a connection, a Matrix room and speaker).
    pub channel: String,
    /// The summary of its older messages.
    pub summary: Option<String>,
}

impl From<&ChatConversation> for ChatRow {
    fn from(c: &ChatConversation) -> Self {
        Self {
            id: c.id,
            kind: "chat",
            persona_id: c.persona_id,
            session_id: c.session_id.clone(),
            channel: c.channel.clone(),
            summary: c.summary.clone(),
        }
    }
}

/// A persona-to-persona conversation: the row of `conversation.list`.
#[derive(Serialize, JsonSchema)]
pub struct DialogueRow {
    /// As `conversation.status`.
    #[serde(flatten)]
    pub status: DialogueStatus,
    /// Always `dialogue`.
    pub kind: &'static str,
}

/// A row of `GET /conversations`.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ConversationRow {
    /// A chat.
    Chat(ChatRow),
    /// A persona-to-persona conversation.
    Dialogue(DialogueRow),
}

/// `GET /conversations`.
pub type ConversationPage = Page<ConversationRow>;

/// A chat message.
#[derive(Serialize, JsonSchema)]
pub struct MessageRow {
    /// Its place in the conversation.
    pub seq: i64,
    /// user, assistant or system.
    pub role: &'static str,
    /// The text.
    pub content: String,
    /// Who wrote it (a Matrix user), when known.
    pub sender: Option<String>,
    /// The Matrix room, when it came from one.
    pub room_id: Option<String>,
    /// A reply cut short.
    pub partial: bool,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Pictures sent with it: file names under the data dir's `media/` (`<sha256>.<ext>`).
    pub images: Vec<String>,
}

impl From<&ChatMessage> for MessageRow {
    fn from(m: &ChatMessage) -> Self {
        Self {
            seq: m.seq,
            role: m.role.as_str(),
            content: m.content.clone(),
            sender: m.sender.clone(),
            room_id: m.room_id.clone(),
            partial: m.partial,
            created_at: m.created_at,
            images: m.images.clone(),
        }
    }
}

/// A turn of a persona-to-persona conversation.
#[derive(Serialize, JsonSchema)]
pub struct TurnRow {
    /// Who spoke.
    pub speaker_id: Uuid,
    /// What they said.
    pub content: String,
    /// Their wish to go on, 0..1.
    pub continue_score: f64,
    /// Tokens the turn used.
    pub tokens_used: i64,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// `GET /conversations/{cid}`: a conversation with its transcript.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Transcript {
    /// A chat and its messages.
    Chat {
        /// The chat.
        #[serde(flatten)]
        chat: ChatRow,
        /// Its messages, oldest first.
        messages: Vec<MessageRow>,
    },
    /// A persona-to-persona conversation and its turns.
    Dialogue {
        /// The conversation.
        #[serde(flatten)]
        dialogue: DialogueRow,
        /// Its turns, oldest first.
        messages: Vec<TurnRow>,
    },
}

#[utoipa::path(tag = "conversations", params(ConversationFilter, PageQuery),
    responses((status = 200, description = "Chats, then persona-to-persona conversations", body = ConversationPage)))]
#[get("/conversations")]
async fn list(
    app: App,
    filter: web::Query<ConversationFilter>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, WebError> {
    let kind = filter.kind.as_deref().filter(|k| !k.is_empty());
    if kind.is_some_and(|k| k != "chat" && k != "dialogue") {
        return Err(AppError::invalid("kind", "kind must be chat or dialogue").into());
    }
    let persona = match filter.persona.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(key) => Some(app.resolve_persona(key).await?.id),
        None => None,
    };
    let mut items = Vec::new();
    if kind != Some("dialogue") {
        let chats = app.store.conversations().list(persona).await?;
        items.extend(chats.iter().map(|c| ConversationRow::Chat(c.into())));
    }
    if kind != Some("chat") {
        let dialogues = app.store.dialogues().list(persona, false).await?;
        items.extend(dialogues.iter().map(|d| {
            ConversationRow::Dialogue(DialogueRow {
                status: status_of(d),
                kind: "dialogue",
            })
        }));
    }
    Ok(HttpResponse::Ok().json(page.page(items)?))
}

#[utoipa::path(tag = "conversations", params(("cid" = String, Path, description = "Conversation id")),
    responses((status = 200, description = "The conversation with its transcript", body = Transcript)))]
#[get("/conversations/{cid}")]
async fn get(app: App, cid: web::Path<String>) -> Result<HttpResponse, WebError> {
    let missing = || WebError::App(AppError::ConversationNotFound(cid.to_string()));
    let id = Uuid::parse_str(cid.trim()).map_err(|_| missing())?;
    if let Some(chat) = app.store.conversations().get(id).await? {
        let messages = app.store.conversations().range(id, 0, i64::MAX).await?;
        return Ok(HttpResponse::Ok().json(Transcript::Chat {
            chat: (&chat).into(),
            messages: messages.iter().map(MessageRow::from).collect(),
        }));
    }
    let dialogue = app.store.dialogues().get(id).await?.ok_or_else(missing)?;
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
    Ok(HttpResponse::Ok().json(Transcript::Dialogue {
        dialogue: DialogueRow {
            status: status_of(&dialogue),
            kind: "dialogue",
        },
        messages,
    }))
}
