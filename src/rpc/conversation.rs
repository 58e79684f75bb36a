//! `conversation.*`: persona-to-persona conversations (start, turn, end, status, list).

use std::time::Duration;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::context::Ctx;
use super::framing::notification;
use super::live::{self, Changed};
use super::params::non_empty;
use super::results::conversation::{DialogueList, DialogueStatus, Ended, FinalStats, Started, TurnTaken};
use super::router::{Params, Router};
use crate::actors::dialogue::{DialogueSession, EndDialogue, TakeTurn};
use crate::actors::persona::CheckConverse;
use crate::actors::registry::DialogueFor;
use crate::actors::turn::ChunkSink;
use crate::domain::dialogue::Dialogue;
use crate::domain::persona::Persona;
use crate::error::AppError;
use crate::presence::events::Change;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "conversation.start",
        "Start a conversation between two personas (persona1_id, persona2_id), or a chatroom of up to 8 (participants)",
        start,
    );
    r.method(
        "conversation.turn",
        "Let the next persona speak in a persona-to-persona conversation",
        turn,
    );
    r.method("conversation.end", "End a persona-to-persona conversation", end);
    r.method(
        "conversation.status",
        "State of a persona-to-persona conversation",
        status,
    );
    r.method("conversation.list", "Persona-to-persona conversations", list);
}

/// Most personas in one chatroom.
pub const MAX_PARTICIPANTS: usize = 8;

/// `conversation.start` params: two personas, or `participants` (two or more: a chatroom).
#[derive(Deserialize, JsonSchema)]
pub struct StartParams {
    /// First participant (id or name); speaks first. Required unless `participants` is given.
    #[serde(default)]
    pub persona1_id: Option<String>,
    /// Second participant (id or name). Required unless `participants` is given.
    #[serde(default)]
    pub persona2_id: Option<String>,
    /// Every participant (ids or names), 2 to 8; the first speaks first. Takes the place of persona1_id and
    /// persona2_id.
    #[serde(default)]
    pub participants: Option<Vec<String>>,
    /// What they talk about.
    #[serde(default = "general")]
    pub topic: String,
    /// Tokens the whole conversation may use.
    #[serde(default = "thousand")]
    pub token_budget: i64,
}

fn general() -> String {
    "general".into()
}

fn thousand() -> i64 {
    1000
}

impl Params for StartParams {
    fn validate(&self) -> Result<(), AppError> {
        match &self.participants {
            Some(all) => {
                if !(2..=MAX_PARTICIPANTS).contains(&all.len()) {
                    return Err(AppError::invalid(
                        "participants",
                        format!(
                            "participants must name 2 to {MAX_PARTICIPANTS} personas, got {}",
                            all.len()
                        ),
                    ));
                }
                for p in all {
                    non_empty("participants", p)?;
                }
            }
            None => {
                non_empty("persona1_id", self.persona1_id.as_deref().unwrap_or(""))?;
                non_empty("persona2_id", self.persona2_id.as_deref().unwrap_or(""))?;
            }
        }
        non_empty("topic", &self.topic)?;
        if !(1..=1_000_000).contains(&self.token_budget) {
            return Err(AppError::invalid(
                "token_budget",
                "token_budget must be between 1 and 1000000",
            ));
        }
        Ok(())
    }
}

/// Loads a conversation by the id a client sent.
async fn load(ctx: &Ctx, id: &str) -> Result<Dialogue, AppError> {
    let not_found = || AppError::ConversationNotFound(id.to_string());
    let uuid = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
    ctx.app.store.dialogues().get(uuid).await?.ok_or_else(not_found)
}

/// The live actor of an active conversation.
async fn session(ctx: &Ctx, d: &Dialogue) -> Result<actix::Addr<DialogueSession>, AppError> {
    let mut personas = Vec::new();
    for id in d.participants() {
        personas.push(ctx.app.persona_by_id(id).await?);
    }
    Ok(ctx
        .app
        .registry
        .send(DialogueFor {
            dialogue: d.clone(),
            personas,
        })
        .await?)
}

/// `conversation.status` fields of a conversation.
/// A dialogue as `conversation.status` answers it.
pub fn status_of(d: &Dialogue) -> DialogueStatus {
    let remaining = (d.token_budget - d.tokens_used).max(0);
    let both_done = d.all_want_to_end();
    let end = d.ended_at.unwrap_or_else(Utc::now);
    DialogueStatus {
        id: d.id,
        conversation_id: d.id,
        participants: d.participants(),
        topic: d.topic.clone(),
        turn_count: d.turns.len(),
        duration: (end - d.started_at).num_milliseconds() as f64 / 1000.0,
        continue_score: d.turns.last().map(|t| t.continue_score),
        tokens_remaining: remaining,
        tokens_used: d.tokens_used,
        should_continue: d.active() && remaining > 0 && !both_done,
        active: d.active(),
        end_reason: d.end_reason.clone(),
        started_at: d.started_at,
    }
}

async fn start(ctx: Ctx, p: StartParams) -> Result<Started, AppError> {
    let (keys, field) = match p.participants {
        Some(all) => (all, "participants"),
        None => (
            vec![p.persona1_id.unwrap_or_default(), p.persona2_id.unwrap_or_default()],
            "persona2_id",
        ),
    };
    let mut personas: Vec<Persona> = Vec::with_capacity(keys.len());
    for key in &keys {
        let persona = ctx.app.resolve_persona(key).await?;
        if personas.iter().any(|p| p.id == persona.id) {
            let message = match field {
                "participants" => format!("participants must name different personas ({} twice)", persona.name),
                _ => "persona2_id must name a different persona than persona1_id".to_string(),
            };
            return Err(AppError::invalid(field, message));
        }
        personas.push(persona);
    }
    for persona in &personas {
        ctx.app.ask_persona(persona, CheckConverse).await??;
    }
    let ids: Vec<Uuid> = personas.iter().map(|p| p.id).collect();
    let dialogue = Dialogue {
        id: Uuid::new_v4(),
        persona1_id: ids[0],
        persona2_id: ids[1],
        others: ids[2..].to_vec(),
        topic: p.topic.trim().to_string(),
        token_budget: p.token_budget,
        tokens_used: 0,
        started_at: Utc::now(),
        ended_at: None,
        end_reason: None,
        turns: Vec::new(),
    };
    ctx.app.store.dialogues().insert(dialogue.clone()).await?;
    session(&ctx, &dialogue).await?;
    live::publish(
        &ctx,
        Changed {
            personas: ids.clone(),
            changes: vec![Change::Conversation],
            detail: json!({ "conversation": { "conversation_id": dialogue.id, "topic": dialogue.topic, "active": true } }),
        },
    );
    Ok(Started {
        conversation_id: dialogue.id,
        participants: ids,
        participant_names: personas.into_iter().map(|p| p.name).collect(),
        topic: dialogue.topic,
        token_budget: dialogue.token_budget,
        started: true,
    })
}

/// `conversation.turn` params.
#[derive(Deserialize, JsonSchema)]
pub struct TurnParams {
    /// The conversation.
    pub conversation_id: String,
    /// Who speaks (id or name); default: the other one.
    #[serde(default)]
    pub speaker_id: Option<String>,
    /// Send `conversation.turn_chunk` notifications while the turn is made.
    #[serde(default)]
    pub stream: bool,
}
impl Params for TurnParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("conversation_id", &self.conversation_id)
    }
}

fn chunk_sink(ctx: &Ctx, conversation: Uuid, speaker: Option<Uuid>) -> ChunkSink {
    let conn = ctx.conn.clone();
    Box::new(move |chunk, number, total| {
        let frame = notification(
            "conversation.turn_chunk",
            json!({
                "conversation_id": conversation,
                "speaker_id": speaker,
                "chunk": chunk,
                "chunk_number": number,
                "total_length": total,
            }),
        );
        conn.send(frame.to_string());
    })
}

async fn turn(ctx: Ctx, p: TurnParams) -> Result<TurnTaken, AppError> {
    let d = load(&ctx, &p.conversation_id).await?;
    if !d.active() {
        return Err(AppError::Conflict(format!("Conversation {} has ended", d.id)));
    }
    let speaker: Option<Persona> = match p.speaker_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(ctx.app.resolve_persona(key).await?),
        None => None,
    };
    let addr = session(&ctx, &d).await?;
    let report = addr
        .send(TakeTurn {
            speaker: speaker.as_ref().map(|s| s.id),
            sink: p.stream.then(|| chunk_sink(&ctx, d.id, speaker.as_ref().map(|s| s.id))),
            cancel: ctx.conn.closed.child_token(),
            timeout: Duration::from_secs(ctx.app.settings.current().server.stream_timeout_secs),
        })
        .await??;
    let speaker_name = ctx.app.persona_by_id(report.turn.speaker_id).await?.name;
    let mut changes = vec![Change::TurnCompleted, Change::Energy, Change::EmotionalState];
    if report.ended.is_some() {
        changes.extend([Change::Conversation, Change::Relationship, Change::Availability]);
    }
    live::publish(
        &ctx,
        Changed {
            personas: report.dialogue.participants().to_vec(),
            changes,
            detail: json!({ "turn": {
                "conversation_id": d.id,
                "speaker_id": report.turn.speaker_id,
                "speaker_name": speaker_name,
                "content": report.turn.content,
                "continue_score": report.turn.continue_score,
                "turn_number": report.dialogue.turns.len(),
                "ended": report.ended.is_some(),
                "end_reason": report.ended.as_ref().map(|e| e.reason.clone()),
            } }),
        },
    );
    Ok(TurnTaken {
        conversation_id: d.id,
        speaker_id: report.turn.speaker_id,
        speaker_name,
        content: report.turn.content,
        continue_score: report.turn.continue_score,
        tokens_used: report.turn.tokens_used,
        turn_number: report.dialogue.turns.len(),
        ended: report.ended.is_some(),
        end_reason: report.ended.as_ref().map(|e| e.reason.clone()),
        final_stats: report.ended.as_ref().map(FinalStats::from),
    })
}

/// `conversation.end` params.
#[derive(Deserialize, JsonSchema)]
pub struct EndParams {
    /// The conversation.
    pub conversation_id: String,
    /// Why it ends.
    #[serde(default = "user_request")]
    pub reason: String,
}

fn user_request() -> String {
    "user_request".into()
}

impl Params for EndParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("conversation_id", &self.conversation_id)
    }
}

async fn end(ctx: Ctx, p: EndParams) -> Result<Ended, AppError> {
    let d = load(&ctx, &p.conversation_id).await?;
    let addr = session(&ctx, &d).await?;
    let report = addr.send(EndDialogue(p.reason.clone())).await??;
    if d.active() {
        live::publish(
            &ctx,
            Changed {
                personas: d.participants().to_vec(),
                changes: vec![Change::Conversation, Change::Relationship, Change::Availability],
                detail: json!({ "conversation": { "conversation_id": d.id, "active": false, "reason": report.reason } }),
            },
        );
    }
    Ok(Ended {
        conversation_id: d.id,
        ended: true,
        final_stats: FinalStats::from(&report),
        reason: report.reason,
        relationship: report.relationship,
    })
}

/// A conversation named by id.
#[derive(Deserialize, JsonSchema)]
pub struct ConversationRef {
    /// The conversation.
    pub conversation_id: String,
}
impl Params for ConversationRef {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("conversation_id", &self.conversation_id)
    }
}

async fn status(ctx: Ctx, p: ConversationRef) -> Result<DialogueStatus, AppError> {
    Ok(status_of(&load(&ctx, &p.conversation_id).await?))
}

/// `conversation.list` params.
#[derive(Deserialize, JsonSchema)]
pub struct ListParams {
    /// Only conversations of this persona (id or name).
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Only active ones.
    #[serde(default = "yes")]
    pub active_only: bool,
}

fn yes() -> bool {
    true
}

impl Params for ListParams {}

async fn list(ctx: Ctx, p: ListParams) -> Result<DialogueList, AppError> {
    let persona = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(ctx.app.resolve_persona(key).await?.id),
        None => None,
    };
    let all = ctx.app.store.dialogues().list(persona, p.active_only).await?;
    let rows: Vec<DialogueStatus> = all.iter().map(status_of).collect();
    Ok(DialogueList {
        total: rows.len(),
        conversations: rows,
    })
}
