//! Persona-to-persona conversations (two personas, or a chatroom of up to [`MAX_PARTICIPANTS`]): start one, let
//! the next persona speak, end it, read its state, list them.

use std::time::Duration;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::actors::dialogue::{DialogueSession, EndDialogue, TakeTurn};
use crate::actors::persona::CheckConverse;
use crate::actors::registry::DialogueFor;
use crate::actors::turn::ChunkSink;
use crate::app::Core;
use crate::domain::dialogue::Dialogue;
use crate::domain::persona::Persona;
use crate::error::AppError;
use crate::ops::input::{non_empty, Input};
use crate::ops::results::conversation::{DialogueList, DialogueStatus, Ended, FinalStats, Started, TurnTaken};

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

impl Input for StartParams {
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
async fn load(core: &Core, id: &str) -> Result<Dialogue, AppError> {
    let not_found = || AppError::ConversationNotFound(id.to_string());
    let uuid = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
    core.store.dialogues().get(uuid).await?.ok_or_else(not_found)
}

/// The live actor of an active conversation.
async fn session(core: &Core, d: &Dialogue) -> Result<actix::Addr<DialogueSession>, AppError> {
    let mut personas = Vec::new();
    for id in d.participants() {
        personas.push(core.persona_by_id(id).await?);
    }
    Ok(core
        .registry
        .send(DialogueFor {
            dialogue: d.clone(),
            personas,
        })
        .await?)
}

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

/// Starts a conversation of the personas `p` names (each must be willing to converse); its actor runs from now.
pub async fn start(core: &Core, p: StartParams) -> Result<Started, AppError> {
    let (keys, field) = match p.participants {
        Some(all) => (all, "participants"),
        None => (
            vec![p.persona1_id.unwrap_or_default(), p.persona2_id.unwrap_or_default()],
            "persona2_id",
        ),
    };
    let mut personas: Vec<Persona> = Vec::with_capacity(keys.len());
    for key in &keys {
        let persona = core.resolve_persona(key).await?;
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
        core.ask_persona(persona, CheckConverse).await??;
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
    core.store.dialogues().insert(dialogue.clone()).await?;
    session(core, &dialogue).await?;
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

impl Input for TurnParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("conversation_id", &self.conversation_id)
    }
}

/// Where a turn's reply goes while it is made: the sink for (conversation, speaker named, if any).
pub type SinkFor = Box<dyn FnOnce(Uuid, Option<Uuid>) -> ChunkSink + Send>;

/// A turn taken, with the conversation's personas (whom it concerns).
pub struct TurnOutcome {
    /// The turn.
    pub taken: TurnTaken,
    /// Every persona of the conversation.
    pub participants: Vec<Uuid>,
}

/// Lets the next persona (or the one `speaker` names) speak in the conversation `conversation_id`: the reply's
/// chunks go to `sink` while it is made; `cancel` stops it (the caller went away).
pub async fn turn(
    core: &Core,
    conversation_id: &str,
    speaker: Option<&str>,
    sink: Option<SinkFor>,
    cancel: CancellationToken,
) -> Result<TurnOutcome, AppError> {
    let d = load(core, conversation_id).await?;
    if !d.active() {
        return Err(AppError::Conflict(format!("Conversation {} has ended", d.id)));
    }
    let speaker: Option<Uuid> = match speaker.filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(core.resolve_persona(key).await?.id),
        None => None,
    };
    let addr = session(core, &d).await?;
    let report = addr
        .send(TakeTurn {
            speaker,
            sink: sink.map(|make| make(d.id, speaker)),
            cancel,
            timeout: Duration::from_secs(core.settings.current().server.stream_timeout_secs),
        })
        .await??;
    let speaker_name = core.persona_by_id(report.turn.speaker_id).await?.name;
    Ok(TurnOutcome {
        participants: report.dialogue.participants().to_vec(),
        taken: TurnTaken {
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
        },
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

impl Input for EndParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("conversation_id", &self.conversation_id)
    }
}

/// A conversation ended, with its personas when this call ended it (it was still active).
pub struct EndOutcome {
    /// The end.
    pub ended: Ended,
    /// The conversation's personas, when it was active until this call; `None` when it had ended before.
    pub ended_now: Option<Vec<Uuid>>,
}

/// Ends the conversation `conversation_id` for `reason` (ending an ended one answers how it ended).
pub async fn end(core: &Core, conversation_id: &str, reason: String) -> Result<EndOutcome, AppError> {
    let d = load(core, conversation_id).await?;
    let addr = session(core, &d).await?;
    let report = addr.send(EndDialogue(reason)).await??;
    Ok(EndOutcome {
        ended_now: d.active().then(|| d.participants().to_vec()),
        ended: Ended {
            conversation_id: d.id,
            ended: true,
            final_stats: FinalStats::from(&report),
            reason: report.reason,
            relationship: report.relationship,
        },
    })
}

/// A conversation named by id.
#[derive(Deserialize, JsonSchema)]
pub struct ConversationRef {
    /// The conversation.
    pub conversation_id: String,
}

impl Input for ConversationRef {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("conversation_id", &self.conversation_id)
    }
}

/// The state of the conversation `conversation_id`.
pub async fn status(core: &Core, conversation_id: &str) -> Result<DialogueStatus, AppError> {
    Ok(status_of(&load(core, conversation_id).await?))
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

impl Input for ListParams {}

/// The conversations (of the persona `p.persona_id` names, if any; only active ones when `p.active_only`).
pub async fn list(core: &Core, p: &ListParams) -> Result<DialogueList, AppError> {
    let persona = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(core.resolve_persona(key).await?.id),
        None => None,
    };
    let all = core.store.dialogues().list(persona, p.active_only).await?;
    let rows: Vec<DialogueStatus> = all.iter().map(status_of).collect();
    Ok(DialogueList {
        total: rows.len(),
        conversations: rows,
    })
}
