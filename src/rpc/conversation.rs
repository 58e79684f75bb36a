//! `conversation.*`: persona-to-persona conversations (start, turn, end, status, list). Each method calls its
//! operation ([`crate::ops::conversation::dialogue`]) and tells the connections subscribed with `state.subscribe`
//! what changed.

use super::results::live::Detail;
use serde::Serialize;
use uuid::Uuid;

use super::context::Ctx;
use super::framing::notification;
use super::live::{self, Changed};
use super::router::Router;
use crate::actors::turn::ChunkSink;
use crate::error::AppError;
use crate::ops::conversation::dialogue::{
    self, ConversationRef, EndParams, ListParams, SinkFor, StartParams, TurnParams,
};
use crate::ops::results::conversation::{DialogueList, DialogueStatus, Ended, Started, TurnTaken};
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

async fn start(ctx: Ctx, p: StartParams) -> Result<Started, AppError> {
    let started = dialogue::start(&ctx.app, p).await?;
    live::publish(
        &ctx,
        Changed {
            personas: started.participants.clone(),
            changes: vec![Change::Conversation],
            detail: Detail::conversation_started(started.conversation_id, started.topic.clone()),
        },
    );
    Ok(started)
}

/// The params of a `conversation.turn_chunk` notification.
#[derive(Serialize)]
struct TurnChunk<'a> {
    conversation_id: Uuid,
    speaker_id: Option<Uuid>,
    chunk: &'a str,
    chunk_number: usize,
    total_length: usize,
}

/// Sends each chunk of a turn's reply to the calling connection as a `conversation.turn_chunk` notification.
fn chunk_sink(ctx: &Ctx) -> SinkFor {
    let conn = ctx.conn.clone();
    Box::new(move |conversation_id, speaker_id| -> ChunkSink {
        Box::new(move |chunk: &str, chunk_number, total_length| {
            let params = TurnChunk {
                conversation_id,
                speaker_id,
                chunk,
                chunk_number,
                total_length,
            };
            let frame = notification("conversation.turn_chunk", params);
            conn.send(frame.to_string());
        })
    })
}

async fn turn(ctx: Ctx, p: TurnParams) -> Result<TurnTaken, AppError> {
    let sink = p.stream.then(|| chunk_sink(&ctx));
    let cancel = ctx.conn.closed.child_token();
    let outcome = dialogue::turn(&ctx.app, &p.conversation_id, p.speaker_id.as_deref(), sink, cancel).await?;
    let t = &outcome.taken;
    let mut changes = vec![Change::TurnCompleted, Change::Energy, Change::EmotionalState];
    if t.ended {
        changes.extend([Change::Conversation, Change::Relationship, Change::Availability]);
    }
    live::publish(
        &ctx,
        Changed {
            personas: outcome.participants.clone(),
            changes,
            detail: Detail::Turn(t.into()),
        },
    );
    Ok(outcome.taken)
}

async fn end(ctx: Ctx, p: EndParams) -> Result<Ended, AppError> {
    let outcome = dialogue::end(&ctx.app, &p.conversation_id, p.reason).await?;
    if let Some(personas) = outcome.ended_now {
        let e = &outcome.ended;
        live::publish(
            &ctx,
            Changed {
                personas,
                changes: vec![Change::Conversation, Change::Relationship, Change::Availability],
                detail: Detail::conversation_ended(e.conversation_id, e.reason.clone()),
            },
        );
    }
    Ok(outcome.ended)
}

async fn status(ctx: Ctx, p: ConversationRef) -> Result<DialogueStatus, AppError> {
    dialogue::status(&ctx.app, &p.conversation_id).await
}

async fn list(ctx: Ctx, p: ListParams) -> Result<DialogueList, AppError> {
    dialogue::list(&ctx.app, &p).await
}
