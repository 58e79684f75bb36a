//! One-to-one chat: `persona.chat`, `persona.chat_stream` (the old wire format of stream events),
//! `persona.chat_cancel`, and `conversation.send_message` for chat-platform bridges.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::context::Ctx;
use super::framing::stream::{
    Partial, StreamCancelled, StreamChunk, StreamEvent, StreamFailed, StreamFrames, StreamStart,
};
use super::images;
use super::live::{self, Changed, Detail};
use super::params::{non_empty, target_snapshot};
use super::results::chat::{Cancelled, ChatReply, MessageReply, StreamComplete};
use super::router::{parse_params, Params, Reply, Router};
use crate::actors::conversation::ConversationKey;
use crate::actors::persona::{now_secs, Snapshot};
use crate::actors::turn::{Chat, ChatOutcome, ChunkSink, TurnEnd};
use crate::domain::image::Image;
use crate::domain::persona::Persona;
use crate::error::AppError;
use crate::presence::events::Change;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "persona.chat",
        "Chat with a persona and get the whole reply (persona_id, or the connection's current persona)",
        chat,
    );
    r.streaming::<ChatParams, StreamComplete, _, _>(
        "persona.chat_stream",
        "Chat with a persona (persona_id, or the connection's current persona), streaming the reply chunk by chunk",
        chat_stream,
    );
    r.method(
        "persona.chat_cancel",
        "Cancel a running chat stream of this connection",
        chat_cancel,
    );
    r.method(
        "conversation.send_message",
        "Send a chat-platform message (room, sender) to a persona (persona_id, or the connection's current persona)",
        send_message,
    );
    r.progress("persona.chat", |ctx, params, sink, cancel| {
        reported(ctx, params, sink, cancel, |o, _| ChatReply::from(o))
    });
    r.progress("persona.chat_stream", |ctx, params, sink, cancel| {
        reported(ctx, params, sink, cancel, StreamComplete::of)
    });
}

/// `persona.chat` / `persona.chat_stream` params.
#[derive(Deserialize, JsonSchema)]
pub struct ChatParams {
    /// What to say.
    pub message: String,
    /// The persona that answers (id or name, case-insensitive); default: the connection's current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Most tokens the reply may use.
    #[serde(default)]
    pub token_budget: Option<i64>,
    /// Who sent it on a chat platform (bridges such as the Matrix bots); with `room_id`, picks the conversation.
    #[serde(default)]
    pub sender: Option<String>,
    /// The chat-platform room.
    #[serde(default)]
    pub room_id: Option<String>,
    /// The thread of the room the message is in (e.g. a Matrix thread's root event id): its own conversation.
    #[serde(default)]
    pub room_thread: Option<String>,
    /// Pictures sent with the message: base64 or `data:` URLs of PNG, JPEG, WebP or GIF images.
    #[serde(default)]
    pub images: Vec<String>,
}

impl Params for ChatParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("message", &self.message)?;
        if let Some(b) = self.token_budget.filter(|b| *b < 1) {
            return Err(AppError::invalid(
                "token_budget",
                format!("token_budget must be a positive integer, got {b}"),
            ));
        }
        Ok(())
    }
}

fn budget(ctx: &Ctx, requested: Option<i64>) -> Result<u32, AppError> {
    let settings = ctx.app.settings.current();
    let chat = &settings.chat;
    let b = requested.unwrap_or(i64::from(chat.default_token_budget));
    if b > i64::from(chat.max_token_budget) {
        return Err(AppError::invalid(
            "token_budget",
            format!("token_budget must be at most {}, got {b}", chat.max_token_budget),
        ));
    }
    Ok(b as u32)
}

fn check_length(ctx: &Ctx, field: &str, text: &str) -> Result<(), AppError> {
    let max = ctx.app.settings.current().chat.max_message_bytes;
    if text.len() > max {
        return Err(AppError::invalid(field, format!("{field} must be at most {max} bytes")));
    }
    Ok(())
}

fn timeout(ctx: &Ctx) -> Duration {
    Duration::from_secs(ctx.app.settings.current().server.stream_timeout_secs)
}

/// The conversation channel of a chat-platform message: one per room (or thread of a room) and sender; empty
/// for a direct chat.
fn bridge_channel(sender: &Option<String>, room_id: &Option<String>, room_thread: &Option<String>) -> String {
    if sender.is_none() && room_id.is_none() && room_thread.is_none() {
        return String::new();
    }
    let room = room_id.as_deref().unwrap_or("");
    let sender = sender.as_deref().unwrap_or("");
    match room_thread {
        Some(thread) => format!("room:{room}|thread:{thread}|sender:{sender}"),
        None => format!("room:{room}|sender:{sender}"),
    }
}

/// Runs a turn on the persona's conversation for this connection and channel.
async fn converse(ctx: &Ctx, persona: &Persona, channel: String, chat: Chat) -> Result<ChatOutcome, AppError> {
    let key = ConversationKey {
        session_id: ctx.conn.session_id(),
        persona: persona.id,
        channel,
    };
    let outcome = ctx.app.conversation(key, persona).await?.send(chat).await??;
    let mut changes = vec![Change::EmotionalState, Change::Energy];
    if !outcome.persona_state.is_available(now_secs()) {
        changes.push(Change::Availability);
    }
    live::publish(
        ctx,
        Changed {
            personas: vec![persona.id],
            changes,
            detail: Detail::Chat {
                conversation_id: outcome.conversation_id,
            },
        },
    );
    Ok(outcome)
}

/// A chat request checked and ready: the message, its token budget and the persona that answers.
struct PreparedChat {
    message: String,
    token_budget: u32,
    persona: Persona,
    snapshot: Option<Snapshot>,
    sender: Option<String>,
    room_id: Option<String>,
    channel: String,
    images: Vec<Image>,
}

async fn prepare(ctx: &Ctx, p: ChatParams) -> Result<PreparedChat, AppError> {
    check_length(ctx, "message", &p.message)?;
    let token_budget = budget(ctx, p.token_budget)?;
    ctx.app.memory.prepare_recall(&p.message);
    let (persona, snapshot) = target_snapshot(ctx, p.persona_id.as_deref()).await?;
    let images = images::accept(ctx, &p.images).await?;
    Ok(PreparedChat {
        message: p.message,
        token_budget,
        persona,
        snapshot,
        channel: bridge_channel(&p.sender, &p.room_id, &p.room_thread),
        sender: p.sender,
        room_id: p.room_id,
        images,
    })
}

/// Runs the turn on the connection's chat conversation, handing chunks to `sink` (if any), until it ends or
/// `cancel` fires (the partial reply is kept).
async fn run(
    ctx: &Ctx,
    chat: PreparedChat,
    sink: Option<ChunkSink>,
    cancel: CancellationToken,
) -> Result<(Persona, ChatOutcome), AppError> {
    let channel = chat.channel;
    let turn = Chat {
        message: chat.message,
        token_budget: chat.token_budget,
        sender: chat.sender,
        room_id: chat.room_id,
        images: chat.images,
        sink,
        cancel,
        timeout: timeout(ctx),
        requested_at: ctx.received,
        snapshot: chat.snapshot,
    };
    let o = converse(ctx, &chat.persona, channel, turn).await?;
    Ok((chat.persona, o))
}

async fn chat(ctx: Ctx, p: ChatParams) -> Result<ChatReply, AppError> {
    let prepared = prepare(&ctx, p).await?;
    let (_, o) = run(&ctx, prepared, None, ctx.conn.closed.child_token()).await?;
    Ok(ChatReply::from(&o.finished()?))
}

/// The progress entry of `persona.chat` and `persona.chat_stream` (MCP `tools/call` with a `progressToken`):
/// chunks go to `sink` instead of stream frames, and the result is shaped by `shape`, cut short or not.
async fn reported<R>(
    ctx: Ctx,
    params: Value,
    sink: ChunkSink,
    cancel: CancellationToken,
    shape: fn(&ChatOutcome, &Persona) -> R,
) -> Result<R, AppError> {
    let prepared = prepare(&ctx, parse_params(params)?).await?;
    let (persona, o) = run(&ctx, prepared, Some(sink), cancel).await?;
    Ok(shape(&o.finished()?, &persona))
}

async fn chat_stream(ctx: Ctx, params: Value) -> Result<Reply, AppError> {
    let frames = StreamFrames::new(ctx.request_id.clone());
    let prepared = async { prepare(&ctx, parse_params(params)?).await }.await;
    let prepared = match prepared {
        Ok(v) => v,
        Err(e) => {
            let reason = e.to_string();
            ctx.conn
                .send(frames.error("Streaming error", &e.into(), StreamFailed::because(reason)));
            return Ok(Reply::Sent);
        }
    };
    ctx.conn.send(frames.event(&StreamEvent::Start(StreamStart {
        persona_id: prepared.persona.id,
        persona_name: prepared.persona.name.clone(),
        message: prepared.message.clone(),
        token_budget: prepared.token_budget,
    })));
    let cancel: CancellationToken = ctx.conn.start_stream(frames.stream_id());
    let sink: ChunkSink = {
        let (conn, frames) = (ctx.conn.clone(), frames.clone());
        Box::new(move |chunk, chunk_number, total_length| {
            let received = Instant::now();
            let frame = frames.event(&StreamEvent::Chunk(StreamChunk {
                chunk,
                chunk_number,
                total_length,
            }));
            conn.send_chunk(frame, received);
        })
    };
    let started = Instant::now();
    let result = run(&ctx, prepared, Some(sink), cancel).await;
    ctx.conn.finish_stream(frames.stream_id());
    let (outcome, frame) = match result {
        Ok((
            _,
            ChatOutcome {
                failure: Some(failure),
                response,
                chunk_count,
                ..
            },
        )) => {
            let e = AppError::from(failure);
            tracing::warn!(stream_id = %frames.stream_id(), error = %e, "chat stream failed mid-reply");
            let sent = Partial {
                partial_response: response,
                chunk_count,
            };
            let failed = StreamFailed::midway(e.to_string(), sent);
            ("error", frames.error("Chat streaming failed", &e.into(), failed))
        }
        Ok((persona, o)) if matches!(o.end, TurnEnd::Complete | TurnEnd::BudgetReached) => (
            "complete",
            frames.event(&StreamEvent::Complete(StreamComplete::of(&o, &persona))),
        ),
        Ok((_, o)) if o.end == TurnEnd::Cancelled => {
            let sent = Partial {
                partial_response: o.response,
                chunk_count: o.chunk_count,
            };
            (
                "cancelled",
                frames.event(&StreamEvent::Cancelled(StreamCancelled::by_client(sent))),
            )
        }
        Ok(_) => {
            let e = AppError::StreamTimedOut {
                secs: ctx.app.settings.current().server.stream_timeout_secs,
            };
            let reason = e.to_string();
            (
                "timeout",
                frames.error(&reason, &e.into(), StreamFailed::because(reason.clone())),
            )
        }
        Err(e) => {
            tracing::warn!(stream_id = %frames.stream_id(), error = %e, "chat stream failed");
            let reason = e.to_string();
            (
                "error",
                frames.error("Chat streaming failed", &e.into(), StreamFailed::because(reason)),
            )
        }
    };
    ctx.app.metrics.streams.with_label_values(&[outcome]).inc();
    ctx.conn.send(frame);
    tracing::debug!(stream_id = %frames.stream_id(), elapsed_ms = started.elapsed().as_millis() as u64, "stream done");
    Ok(Reply::Sent)
}

/// `persona.chat_cancel` params.
#[derive(Deserialize, JsonSchema)]
pub struct CancelParams {
    /// The `stream_id` of a running stream of this connection.
    pub stream_id: String,
}
impl Params for CancelParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("stream_id", &self.stream_id)
    }
}

async fn chat_cancel(ctx: Ctx, p: CancelParams) -> Result<Cancelled, AppError> {
    let cancelled = ctx.conn.cancel_stream(&p.stream_id);
    Ok(Cancelled {
        cancelled,
        stream_id: p.stream_id,
    })
}

/// `conversation.send_message` params.
#[derive(Deserialize, JsonSchema)]
pub struct SendMessageParams {
    /// The message text.
    pub content: String,
    /// The persona that answers (id or name, case-insensitive); default: the connection's current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Who sent it on the chat platform.
    #[serde(default)]
    pub sender: Option<String>,
    /// The chat-platform room.
    #[serde(default)]
    pub room_id: Option<String>,
    /// The thread of the room the message is in (e.g. a Matrix thread's root event id): its own conversation.
    #[serde(default)]
    pub room_thread: Option<String>,
    /// Extra context from the bridge (kept for compatibility; not sent to the model).
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
    /// Pictures sent with the message: base64 or `data:` URLs of PNG, JPEG, WebP or GIF images.
    #[serde(default)]
    pub images: Vec<String>,
}
impl Params for SendMessageParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("content", &self.content)
    }
}

async fn send_message(ctx: Ctx, p: SendMessageParams) -> Result<MessageReply, AppError> {
    check_length(&ctx, "content", &p.content)?;
    ctx.app.memory.prepare_recall(&p.content);
    let (persona, snapshot) = target_snapshot(&ctx, p.persona_id.as_deref()).await?;
    let images = images::accept(&ctx, &p.images).await?;
    let channel = bridge_channel(&p.sender, &p.room_id, &p.room_thread);
    let turn = Chat {
        message: p.content,
        token_budget: ctx.app.settings.current().chat.default_token_budget,
        sender: p.sender,
        room_id: p.room_id,
        images,
        sink: None,
        cancel: ctx.conn.closed.child_token(),
        timeout: timeout(&ctx),
        requested_at: ctx.received,
        snapshot,
    };
    let started = Instant::now();
    let o = converse(&ctx, &persona, channel, turn).await?.finished()?;
    Ok(MessageReply {
        response: o.response,
        persona_id: o.persona_id,
        response_time_ms: started.elapsed().as_millis() as u64,
        memory_stored: o.memory_stored,
        conversation_id: o.conversation_id,
    })
}
