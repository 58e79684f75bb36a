//! `conversation.*`: persona-to-persona conversations (start, turn, end, status, list).

use std::time::Duration;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::context::Ctx;
use super::framing::notification;
use super::params::non_empty;
use super::results::conversation::{DialogueList, DialogueStatus, Ended, FinalStats, Started, TurnTaken};
use super::router::{Params, Router};
use crate::actors::dialogue::{DialogueSession, EndDialogue, TakeTurn};
use crate::actors::persona::CheckConverse;
use crate::actors::registry::DialogueFor;
use crate::actors::turn::ChunkSink;
use crate::domain::continue_score::both_want_to_end;
use crate::domain::dialogue::Dialogue;
use crate::domain::persona::Persona;
use crate::error::AppError;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method("conversation.start", "Start a conversation between two personas", start);
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

/// `conversation.start` params.
#[derive(Deserialize, JsonSchema)]
pub struct StartParams {
    /// First participant (id or name); speaks first.
    pub persona1_id: String,
    /// Second participant (id or name).
    pub persona2_id: String,
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
        non_empty("persona1_id", &self.persona1_id)?;
        non_empty("persona2_id", &self.persona2_id)?;
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
    let personas = [
        ctx.app.persona_by_id(d.persona1_id).await?,
        ctx.app.persona_by_id(d.persona2_id).await?,
    ];
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
    let (a, b) = (d.last_score_of(d.persona1_id), d.last_score_of(d.persona2_id));
    let remaining = (d.token_budget - d.tokens_used).max(0);
    let both_done = matches!((a, b), (Some(a), Some(b)) if both_want_to_end(a, b));
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
    let first = ctx.app.resolve_persona(&p.persona1_id).await?;
    let second = ctx.app.resolve_persona(&p.persona2_id).await?;
    if first.id == second.id {
        return Err(AppError::invalid(
            "persona2_id",
            "persona2_id must name a different persona than persona1_id",
        ));
    }
    for persona in [&first, &second] {
        ctx.app.ask_persona(persona, CheckConverse).await??;
    }
    let dialogue = Dialogue {
        id: Uuid::new_v4(),
        persona1_id: first.id,
        persona2_id: second.id,
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
    Ok(Started {
        conversation_id: dialogue.id,
        participants: [first.id, second.id],
        participant_names: [first.name, second.name],
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
