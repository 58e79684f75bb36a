//! `/conversations`: chats (a client with a persona) and persona-to-persona dialogues, with their transcripts.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::bridge::{call, App};
use super::paging::PageQuery;
use crate::domain::chat::{ChatConversation, ChatMessage};
use crate::error::AppError;
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/conversations", web::get().to(list))
        .route("/conversations/{cid}", web::get().to(get));
}

/// `GET /conversations` filters.
#[derive(Debug, Deserialize)]
pub struct ConversationFilter {
    /// Only this persona's (id or name).
    #[serde(default)]
    pub persona: Option<String>,
    /// `chat` or `dialogue`; both when absent.
    #[serde(default)]
    pub kind: Option<String>,
}

fn chat_json(c: &ChatConversation) -> Value {
    json!({
        "id": c.id,
        "kind": "chat",
        "persona_id": c.persona_id,
        "session_id": c.session_id,
        "channel": c.channel,
        "summary": c.summary,
    })
}

fn message_json(m: &ChatMessage) -> Value {
    json!({
        "seq": m.seq,
        "role": m.role.as_str(),
        "content": m.content,
        "sender": m.sender,
        "room_id": m.room_id,
        "partial": m.partial,
        "created_at": m.created_at,
    })
}

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
        items.extend(app.store.conversations().list(persona).await?.iter().map(chat_json));
    }
    if kind != Some("chat") {
        let params = json!({ "persona_id": persona, "active_only": false });
        let mut dialogues = call(&app, "conversation.list", params).await?;
        if let Value::Array(rows) = dialogues["conversations"].take() {
            items.extend(rows.into_iter().map(|mut d| {
                d["kind"] = json!("dialogue");
                d
            }));
        }
    }
    Ok(HttpResponse::Ok().json(page.page(items)?))
}

async fn get(app: App, cid: web::Path<String>) -> Result<HttpResponse, WebError> {
    let missing = || WebError::App(AppError::ConversationNotFound(cid.to_string()));
    let id = Uuid::parse_str(cid.trim()).map_err(|_| missing())?;
    if let Some(chat) = app.store.conversations().get(id).await? {
        let messages = app.store.conversations().range(id, 0, i64::MAX).await?;
        let mut out = chat_json(&chat);
        out["messages"] = messages.iter().map(message_json).collect();
        return Ok(HttpResponse::Ok().json(out));
    }
    let dialogue = app.store.dialogues().get(id).await?.ok_or_else(missing)?;
    let mut out = serde_json::to_value(crate::rpc::conversation::status_of(&dialogue)).unwrap_or(Value::Null);
    out["kind"] = json!("dialogue");
    out["messages"] = dialogue
        .turns
        .iter()
        .map(|t| {
            json!({
                "speaker_id": t.speaker_id,
                "content": t.content,
                "continue_score": t.continue_score,
                "tokens_used": t.tokens_used,
                "created_at": t.created_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
