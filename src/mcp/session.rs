//! What MCP remembers between requests: the handshake and log level of each connection, its calls in flight
//! (for `notifications/cancelled`), where a call's notifications go on transports that answer each request on
//! its own stream, the persona behind each session handle (for the stateless revision), and the Streamable
//! HTTP sessions (`Mcp-Session-Id`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::log_level::LogLevel;
use crate::locks::lock;
use crate::rpc::context::{Connection, Ctx, Frame, Outbox};
use crate::rpc::hub::Hub;

/// How long a session handle keeps its current persona without being used.
const HANDLE_TTL: Duration = Duration::from_secs(24 * 3600);
/// Most session handles remembered; the least recently used go first.
const MAX_HANDLES: usize = 10_000;

/// The key of a request id: its JSON text, so that `1` and `"1"` stay apart.
fn id_key(id: &Value) -> String {
    id.to_string()
}

/// The handshake a client made with `initialize`.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The negotiated protocol version.
    pub version: String,
}

/// One connection's MCP state.
pub struct Session {
    handshake: Mutex<Option<Handshake>>,
    log_level: Mutex<Option<LogLevel>>,
    in_flight: Mutex<HashMap<String, CancellationToken>>,
    closed: CancellationToken,
}

impl Session {
    /// The handshake, once `initialize` was answered.
    pub fn handshake(&self) -> Option<Handshake> {
        lock(&self.handshake).clone()
    }

    /// Records the handshake.
    pub fn set_handshake(&self, handshake: Handshake) {
        *lock(&self.handshake) = Some(handshake);
    }

    /// The level set with `logging/setLevel`: log notifications at or above it are sent.
    pub fn log_level(&self) -> Option<LogLevel> {
        *lock(&self.log_level)
    }

    /// Sets the log level.
    pub fn set_log_level(&self, level: LogLevel) {
        *lock(&self.log_level) = Some(level);
    }

    /// Registers a call in flight under its request id; the guard forgets it when dropped.
    pub fn begin(self: &Arc<Self>, id: &Value) -> InFlight {
        let token = self.closed.child_token();
        lock(&self.in_flight).insert(id_key(id), token.clone());
        InFlight {
            session: self.clone(),
            key: id_key(id),
            token,
        }
    }

    /// Cancels the call in flight under `id`; false when there is none.
    pub fn cancel(&self, id: &Value) -> bool {
        match lock(&self.in_flight).remove(&id_key(id)) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// A call in flight; dropping it forgets the call.
pub struct InFlight {
    session: Arc<Session>,
    key: String,
    token: CancellationToken,
}

impl InFlight {
    /// Cancelled by `notifications/cancelled` or when the connection goes away.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.session.in_flight).remove(&self.key);
    }
}

/// Sends frames to the connection itself.
struct ConnectionOutbox(Arc<Connection>);

impl Outbox for ConnectionOutbox {
    fn send(&self, frame: Frame) {
        self.0.send(frame);
    }
}

/// A Streamable HTTP session (`Mcp-Session-Id`): its connection, the standalone SSE stream (`GET /mcp`) that
/// carries what belongs to no request, and its connection slot.
pub struct TransportSession {
    /// The connection every request of the session runs on.
    pub conn: Arc<Connection>,
    /// The standalone stream, when the client has one open.
    pub standalone: Arc<StandaloneOutbox>,
    last_seen: Mutex<Instant>,
    _permit: OwnedSemaphorePermit,
}

impl TransportSession {
    /// A session for a new connection whose frames go to `standalone`; `permit` holds its connection slot.
    pub fn new(conn: Arc<Connection>, standalone: Arc<StandaloneOutbox>, permit: OwnedSemaphorePermit) -> Self {
        Self {
            conn,
            standalone,
            last_seen: Mutex::new(Instant::now()),
            _permit: permit,
        }
    }

    /// Notes activity, which keeps the session from expiring.
    pub fn touch(&self) {
        *lock(&self.last_seen) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        lock(&self.last_seen).elapsed()
    }
}

/// The outbox of a Streamable HTTP session: frames go to its standalone SSE stream while one is open, and are
/// dropped otherwise (request-related frames are routed to the request's own stream, see
/// [`McpState::route`]).
#[derive(Default)]
pub struct StandaloneOutbox {
    stream: Mutex<Option<UnboundedSender<Frame>>>,
}

impl StandaloneOutbox {
    /// Directs frames to a newly opened stream (the previous one, if any, ends).
    pub fn open(&self, stream: UnboundedSender<Frame>) {
        *lock(&self.stream) = Some(stream);
    }

    /// True while a stream is open.
    pub fn is_open(&self) -> bool {
        lock(&self.stream).as_ref().is_some_and(|s| !s.is_closed())
    }
}

impl Outbox for StandaloneOutbox {
    fn send(&self, frame: Frame) {
        let mut stream = lock(&self.stream);
        if stream.as_ref().is_some_and(|s| s.send(frame).is_err()) {
            *stream = None;
        }
    }
}

/// Routes of one request batch, removed when dropped.
pub struct RouteGuard {
    state: Arc<McpState>,
    keys: Vec<(u64, String)>,
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        let mut routes = lock(&self.state.routes);
        for key in &self.keys {
            routes.remove(key);
        }
    }
}

/// The MCP state shared by every transport. It lives in the router, so every transport reaches it.
#[derive(Default)]
pub struct McpState {
    sessions: Mutex<HashMap<u64, Arc<Session>>>,
    routes: Mutex<HashMap<(u64, String), Arc<dyn Outbox>>>,
    handles: Mutex<HashMap<String, (Uuid, Instant)>>,
    transports: Mutex<HashMap<String, Arc<TransportSession>>>,
}

impl McpState {
    /// The MCP state of a connection (made on first use; forgotten once the connection is closed).
    pub fn session(&self, conn: &Connection) -> Arc<Session> {
        let mut sessions = lock(&self.sessions);
        if let Some(s) = sessions.get(&conn.id) {
            return s.clone();
        }
        sessions.retain(|_, s| !s.closed.is_cancelled());
        let session = Arc::new(Session {
            handshake: Mutex::new(None),
            log_level: Mutex::new(None),
            in_flight: Mutex::new(HashMap::new()),
            closed: conn.closed.clone(),
        });
        sessions.insert(conn.id, session.clone());
        session
    }

    /// Sends the frames related to the requests `ids` of `conn` (progress, log messages) to `outbox` instead of
    /// the connection, until the guard is dropped: Streamable HTTP answers each POST on its own stream.
    pub fn route(self: &Arc<Self>, conn: &Connection, ids: &[Value], outbox: Arc<dyn Outbox>) -> RouteGuard {
        let keys: Vec<(u64, String)> = ids.iter().map(|id| (conn.id, id_key(id))).collect();
        let mut routes = lock(&self.routes);
        for key in &keys {
            routes.insert(key.clone(), outbox.clone());
        }
        RouteGuard {
            state: self.clone(),
            keys,
        }
    }

    /// Where the frames related to the request of `ctx` go.
    pub fn related(&self, ctx: &Ctx) -> Arc<dyn Outbox> {
        lock(&self.routes)
            .get(&(ctx.conn.id, id_key(&ctx.request_id)))
            .cloned()
            .unwrap_or_else(|| Arc::new(ConnectionOutbox(ctx.conn.clone())))
    }

    /// Remembers the current persona of a session handle (`session_id`), so that a later request that sends
    /// the handle gets it back even on another connection (stateless requests each get a new one).
    pub fn remember_persona(&self, session_id: &str, persona: Uuid) {
        let mut handles = lock(&self.handles);
        handles.insert(session_id.to_string(), (persona, Instant::now()));
        if handles.len() > MAX_HANDLES {
            handles.retain(|_, (_, used)| used.elapsed() < HANDLE_TTL);
            while handles.len() > MAX_HANDLES {
                let oldest = handles
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => handles.remove(&k),
                    None => break,
                };
            }
        }
    }

    /// The current persona last seen under a session handle.
    pub fn recall_persona(&self, session_id: &str) -> Option<Uuid> {
        let mut handles = lock(&self.handles);
        let (persona, used) = handles.get_mut(session_id)?;
        if used.elapsed() >= HANDLE_TTL {
            handles.remove(session_id);
            return None;
        }
        *used = Instant::now();
        Some(*persona)
    }

    /// Registers a Streamable HTTP session under a new id and its connection in `hub`, after closing the
    /// sessions idle for longer than `idle` without a standalone stream.
    pub fn open_transport(
        &self,
        session: TransportSession,
        idle: Duration,
        hub: &Hub,
    ) -> (String, Arc<TransportSession>) {
        let id = Uuid::new_v4().simple().to_string();
        let session = Arc::new(session);
        let mut transports = lock(&self.transports);
        transports.retain(|_, s| {
            let keep = s.standalone.is_open() || s.idle_for() < idle;
            if !keep {
                s.conn.closed.cancel();
                hub.remove(s.conn.id);
            }
            keep
        });
        transports.insert(id.clone(), session.clone());
        hub.add(session.conn.clone());
        (id, session)
    }

    /// The Streamable HTTP session with this id.
    pub fn transport(&self, id: &str) -> Option<Arc<TransportSession>> {
        lock(&self.transports).get(id).cloned()
    }

    /// Ends a Streamable HTTP session: its connection is closed and leaves `hub`. False when there is none.
    pub fn close_transport(&self, id: &str, hub: &Hub) -> bool {
        match lock(&self.transports).remove(id) {
            Some(session) => {
                session.conn.closed.cancel();
                hub.remove(session.conn.id);
                true
            }
            None => false,
        }
    }
}
