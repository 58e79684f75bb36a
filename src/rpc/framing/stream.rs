//! The old protocol's stream frames (`persona.chat_stream`, PROTOCOL.md "Streaming"): several JSON-RPC responses
//! under the request's id, each a `result` with `event_type`, `stream_id`, `timestamp`, `data` and some of
//! `data`'s fields copied up beside it; a `stream_error` carries an `error` beside its `result`.

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{RpcError, JSONRPC};
use crate::rpc::results::chat::StreamComplete;

/// `stream_start`: who answers what, within which budget.
#[derive(Debug, Serialize)]
pub struct StreamStart {
    /// The persona that answers.
    pub persona_id: Uuid,
    /// Its name.
    pub persona_name: String,
    /// The message it answers.
    pub message: String,
    /// Most tokens the reply may use.
    pub token_budget: u32,
}

/// `stream_chunk`: one piece of the reply.
#[derive(Debug, Serialize)]
pub struct StreamChunk<'a> {
    /// The text.
    pub chunk: &'a str,
    /// 1-based.
    pub chunk_number: usize,
    /// Characters sent so far.
    pub total_length: usize,
}

/// What was sent of a reply cut short.
#[derive(Debug, Serialize)]
pub struct Partial {
    /// The reply so far.
    pub partial_response: String,
    /// Chunks sent.
    pub chunk_count: usize,
}

/// `stream_cancelled`: the client stopped the stream.
#[derive(Debug, Serialize)]
pub struct StreamCancelled {
    /// Always "Client cancelled".
    pub reason: &'static str,
    /// What was sent before.
    #[serde(flatten)]
    pub partial: Partial,
}

impl StreamCancelled {
    /// Cancelled by the client after `partial`.
    pub fn by_client(partial: Partial) -> Self {
        Self {
            reason: "Client cancelled",
            partial,
        }
    }
}

/// `stream_error`'s data: the reason, and for a reply that failed midway what of it was sent.
#[derive(Debug, Serialize)]
pub struct StreamFailed {
    /// The reason (the error's wording).
    pub error: String,
    /// `true` when the reply failed midway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial: Option<bool>,
    /// What was sent before it failed.
    #[serde(flatten)]
    pub sent: Option<Partial>,
}

impl StreamFailed {
    /// Failed before anything or without a reply to keep.
    pub fn because(reason: String) -> Self {
        Self {
            error: reason,
            partial: None,
            sent: None,
        }
    }

    /// Failed midway, after `sent`.
    pub fn midway(reason: String, sent: Partial) -> Self {
        Self {
            error: reason,
            partial: Some(true),
            sent: Some(sent),
        }
    }
}

/// What one frame reports: its `event_type` and `data`.
#[derive(Debug, Serialize)]
#[serde(tag = "event_type", content = "data")]
pub enum StreamEvent<'a> {
    /// The turn began.
    #[serde(rename = "stream_start")]
    Start(StreamStart),
    /// A piece of the reply.
    #[serde(rename = "stream_chunk")]
    Chunk(StreamChunk<'a>),
    /// The reply is whole.
    #[serde(rename = "stream_complete")]
    Complete(StreamComplete),
    /// The client stopped it.
    #[serde(rename = "stream_cancelled")]
    Cancelled(StreamCancelled),
    /// It failed (before it began, midway, or on the stream timeout).
    #[serde(rename = "stream_error")]
    Error(StreamFailed),
}

/// The fields of `data` the old server copied up into `result`.
#[derive(Debug, Default, Serialize)]
struct CopiedUp<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    persona_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_response: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens_used: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_time: Option<f64>,
}

impl StreamEvent<'_> {
    fn copied_up(&self) -> CopiedUp<'_> {
        match self {
            Self::Start(s) => CopiedUp {
                persona_id: Some(s.persona_id),
                ..CopiedUp::default()
            },
            Self::Chunk(c) => CopiedUp {
                chunk: Some(c.chunk),
                ..CopiedUp::default()
            },
            Self::Complete(c) => CopiedUp {
                persona_id: Some(c.persona_id),
                full_response: Some(&c.full_response),
                tokens_used: Some(c.tokens_used),
                processing_time: Some(c.processing_time),
                ..CopiedUp::default()
            },
            Self::Cancelled(_) | Self::Error(_) => CopiedUp::default(),
        }
    }
}

/// A frame's `result`.
#[derive(Serialize)]
struct EventResult<'a> {
    #[serde(flatten)]
    event: &'a StreamEvent<'a>,
    stream_id: &'a str,
    timestamp: String,
    #[serde(flatten)]
    copied_up: CopiedUp<'a>,
}

/// A `stream_error` frame's `error`: its `data` is the reason plus the cause's own data.
#[derive(Serialize)]
struct FrameError<'a> {
    code: i64,
    message: &'a str,
    data: ErrorData<'a>,
}

#[derive(Serialize)]
struct ErrorData<'a> {
    error: &'a str,
    #[serde(flatten)]
    cause: Option<&'a Map<String, Value>>,
}

/// One frame.
#[derive(Serialize)]
struct Frame<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: EventResult<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<FrameError<'a>>,
}

/// Builds the frames of one stream: they answer one request under its id.
#[derive(Debug, Clone)]
pub struct StreamFrames {
    id: Value,
    stream_id: String,
}

impl StreamFrames {
    /// The frames of a new stream (a fresh `stream_id`) answering request `id`.
    pub fn new(id: Value) -> Self {
        Self {
            id,
            stream_id: Uuid::new_v4().to_string(),
        }
    }

    /// The stream's id (what `persona.chat_cancel` names).
    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// A frame reporting `event`.
    pub fn event(&self, event: &StreamEvent<'_>) -> String {
        self.frame(event, None)
    }

    /// A `stream_error` frame: `error.message` is `message`, `error.code` and the rest of `error.data` the cause's,
    /// `result.data` is `failed`.
    pub fn error(&self, message: &str, cause: &RpcError, failed: StreamFailed) -> String {
        let reason = failed.error.clone();
        let error = FrameError {
            code: cause.code,
            message,
            data: ErrorData {
                error: &reason,
                cause: cause.data.as_ref().and_then(Value::as_object),
            },
        };
        self.frame(&StreamEvent::Error(failed), Some(error))
    }

    fn frame(&self, event: &StreamEvent<'_>, error: Option<FrameError<'_>>) -> String {
        let frame = Frame {
            jsonrpc: JSONRPC,
            id: &self.id,
            result: EventResult {
                event,
                stream_id: &self.stream_id,
                timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                copied_up: event.copied_up(),
            },
            error,
        };
        serde_json::to_string(&frame).unwrap_or_else(|e| {
            tracing::error!(error = %e, "stream frame not serialisable");
            String::new()
        })
    }
}
