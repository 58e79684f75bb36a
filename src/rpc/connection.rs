//! One client connection's state (current persona, session id, running streams) and where its frames go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::locks::lock;
use crate::presence::events::{Change, Subscription};

/// One outgoing text frame. Cloning it shares its bytes, so a broadcast is serialised once for all recipients;
/// a `String` becomes one without a copy.
pub type Frame = bytestring::ByteString;

/// Where a connection's outgoing frames go (the WebSocket actor, stdout, an SSE stream…).
pub trait Outbox: Send + Sync {
    /// Queues one text frame; frames are delivered in the order they were queued.
    fn send(&self, frame: Frame);

    /// Queues a streamed chunk whose token arrived from the model at `received`; transports that can tell when
    /// the frame reached the socket record the time in between.
    fn send_chunk(&self, frame: Frame, received: std::time::Instant) {
        let _ = received;
        self.send(frame);
    }
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// One client connection's state. Shared by the transport and every request running on it.
pub struct Connection {
    /// Process-unique number.
    pub id: u64,
    session_id: Mutex<String>,
    current_persona: Mutex<Option<Uuid>>,
    streams: Mutex<HashMap<String, CancellationToken>>,
    /// Cancelled when the client goes away: every stream of the connection stops.
    pub closed: CancellationToken,
    outbox: Arc<dyn Outbox>,
    /// Receives `visual.update` broadcasts.
    pub visual_subscribed: AtomicBool,
    /// What `state.changed` notifications the client asked for (`state.subscribe`); none until it asks.
    state_subscription: Mutex<Option<Subscription>>,
}

impl Connection {
    /// A new connection with a fresh session id.
    pub fn new(outbox: Arc<dyn Outbox>) -> Self {
        Self {
            id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
            session_id: Mutex::new(Uuid::new_v4().to_string()),
            current_persona: Mutex::new(None),
            streams: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
            outbox,
            visual_subscribed: AtomicBool::new(false),
            state_subscription: Mutex::new(None),
        }
    }

    /// Queues a frame for the client.
    pub fn send(&self, frame: impl Into<Frame>) {
        self.outbox.send(frame.into());
    }

    /// Queues a streamed chunk frame (see [`Outbox::send_chunk`]).
    pub fn send_chunk(&self, frame: impl Into<Frame>, received: std::time::Instant) {
        self.outbox.send_chunk(frame.into(), received);
    }

    /// The session id chat conversations are stored under.
    pub fn session_id(&self) -> String {
        lock(&self.session_id).clone()
    }

    /// Adopts a session id sent by the client, so that its stored conversations resume.
    pub fn resume_session(&self, session_id: &str) {
        let trimmed = session_id.trim();
        if !trimmed.is_empty() && trimmed.len() <= 128 {
            *lock(&self.session_id) = trimmed.to_string();
        }
    }

    /// The persona chosen with `persona.switch`.
    pub fn current_persona(&self) -> Option<Uuid> {
        *lock(&self.current_persona)
    }

    /// Sets (or clears) the current persona.
    pub fn set_current_persona(&self, persona: Option<Uuid>) {
        *lock(&self.current_persona) = persona;
    }

    /// Subscribes to `state.changed` notifications (replacing an earlier subscription), or unsubscribes.
    pub fn set_state_subscription(&self, subscription: Option<Subscription>) {
        *lock(&self.state_subscription) = subscription;
    }

    /// True when the client subscribed to changes of this kind about one of these personas.
    pub fn wants_state(&self, personas: &[Uuid], changes: &[Change]) -> bool {
        lock(&self.state_subscription)
            .as_ref()
            .is_some_and(|s| s.wants(personas, changes))
    }

    /// True when the client subscribed to any state changes.
    pub fn state_subscribed(&self) -> bool {
        lock(&self.state_subscription).is_some()
    }

    /// Registers a running stream; the token is cancelled by `persona.chat_cancel` or disconnect.
    pub fn start_stream(&self, stream_id: &str) -> CancellationToken {
        let token = self.closed.child_token();
        lock(&self.streams).insert(stream_id.to_string(), token.clone());
        token
    }

    /// Forgets a finished stream.
    pub fn finish_stream(&self, stream_id: &str) {
        lock(&self.streams).remove(stream_id);
    }

    /// Cancels a running stream of this connection; false when there is none with this id.
    pub fn cancel_stream(&self, stream_id: &str) -> bool {
        match lock(&self.streams).remove(stream_id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}
