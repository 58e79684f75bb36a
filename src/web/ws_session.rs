//! `WsSession`: one WebSocket connection. It owns the `actix_ws::Session`, takes the client's frames as a
//! stream, runs each request concurrently through the router, writes every outgoing frame in order, enforces
//! the rate limit, the idle timeout and the keepalive (pings, and a close when they go unanswered), and cancels
//! the connection's streams when the client goes away.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use super::frame_limit;
use crate::app::Core;
use crate::error::AppError;
use crate::rpc::context::{Connection, Frame, Outbox};
use crate::rpc::framing::{failure, RpcError};
use crate::web::Gateway;

/// The actor.
pub struct WsSession {
    session: actix_ws::Session,
    app: Arc<Gateway>,
    conn: Option<Arc<Connection>>,
    limiter: DefaultDirectRateLimiter,
    /// The (per second, burst) the limiter was made for; a live settings change makes a new one.
    quota: (u32, u32),
    /// When the client last sent a frame other than a pong (the idle timeout's measure).
    last_seen: Instant,
    /// The first ping sent since the client was last heard from (any frame, a pong included), while unanswered.
    pinged: Option<Instant>,
    /// A close frame is being written; nothing else is.
    closing: bool,
    /// Requests of this connection still running (each request of a batch counts).
    in_flight: usize,
    /// The server is shutting down: close (1001) as soon as no request runs.
    draining: bool,
    _permit: OwnedSemaphorePermit,
}

/// One text frame to write to the client.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Outgoing {
    frame: Frame,
    /// For a streamed chunk: when its token arrived from the model.
    received: Option<Instant>,
}

impl Outgoing {
    fn frame(frame: impl Into<Frame>) -> Self {
        Self {
            frame: frame.into(),
            received: None,
        }
    }
}

struct ActorOutbox(Addr<WsSession>);

impl Outbox for ActorOutbox {
    fn send(&self, frame: Frame) {
        self.0.do_send(Outgoing::frame(frame));
    }

    fn send_chunk(&self, frame: Frame, received: Instant) {
        self.0.do_send(Outgoing {
            frame,
            received: Some(received),
        });
    }
}

/// The rate limit in force: (requests per second, burst).
fn rate_quota(app: &Core) -> (u32, u32) {
    let s = app.settings.current();
    (s.server.rate_limit_per_second, s.server.rate_limit_burst)
}

/// A token bucket for `(per_second, burst)`.
fn limiter((per_second, burst): (u32, u32)) -> DefaultDirectRateLimiter {
    let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst))
}

impl WsSession {
    /// A session for an accepted upgrade; `permit` holds its connection slot.
    pub fn new(session: actix_ws::Session, app: Arc<Gateway>, permit: OwnedSemaphorePermit) -> Self {
        let quota = rate_quota(&app);
        Self {
            session,
            limiter: limiter(quota),
            quota,
            app,
            conn: None,
            last_seen: Instant::now(),
            pinged: None,
            closing: false,
            in_flight: 0,
            draining: false,
            _permit: permit,
        }
    }

    fn conn(&self) -> Option<Arc<Connection>> {
        self.conn.clone()
    }

    /// Admits a frame of `n` requests. The rate limit stops floods, not clients that wait for their answers:
    /// while fewer than `server.rate_limit_in_flight` requests of the connection run, requests cost nothing; the
    /// ones beyond are taken from the bucket. Otherwise answers why not: -32005 with how long to wait, or -32600
    /// for a batch larger than the free requests and the bucket together, which no wait would let through.
    fn admit(&mut self, n: usize) -> Result<(), RpcError> {
        let quota = rate_quota(&self.app);
        if quota != self.quota {
            self.limiter = limiter(quota);
            self.quota = quota;
        }
        let free = self.app.settings.current().server.rate_limit_in_flight as usize;
        let burst = self.quota.1 as usize;
        if n > free + burst {
            return Err(RpcError::invalid_request(&format!(
                "batch larger than the rate limit lets through ({})",
                free + burst
            )));
        }
        let charged = n.saturating_sub(free.saturating_sub(self.in_flight)).min(burst);
        let Some(charged) = NonZeroU32::new(charged as u32) else {
            return Ok(());
        };
        match self.limiter.check_n(charged) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(RpcError::from(AppError::RateLimited {
                retry_after_ms: not_until.wait_time_from(DefaultClock::default().now()).as_millis() as u64 + 1,
            })),
            Err(e) => Err(RpcError::from(AppError::Internal(format!("rate limit: {e}")))),
        }
    }

    fn on_text(&mut self, text: String, ctx: &mut Context<Self>) {
        let Some(conn) = self.conn() else { return };
        let max_batch = self.app.settings.current().server.max_batch;
        // Only a batch needs parsing here (to count its requests); the dispatcher parses every frame anyway. A batch
        // over `max_batch` is refused whole by the dispatcher, so it costs one token, not one per request.
        let count = match text.trim_start().starts_with('[') {
            true => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(items)) if items.len() <= max_batch => items.len(),
                _ => 1,
            },
            false => 1,
        };
        if let Err(e) = self.admit(count) {
            let id = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(o)) => o.get("id").cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
            ctx.notify(Outgoing::frame(failure(&id, e).to_string()));
            return;
        }
        let rpc = self.app.ctx(conn.clone());
        let app = self.app.clone();
        let me = ctx.address();
        self.in_flight += count;
        actix::spawn(async move {
            if let Some(answer) = app.mcp.handle_text(&rpc, &text, max_batch).await {
                conn.send(answer.into_text());
            }
            me.do_send(Answered(count));
        });
    }

    /// Pings the client; the first ping since it was last heard from closes the connection unless something (a
    /// pong, any frame) arrives within `timeout`. The ping is not waited for: a client that reads nothing must not
    /// stall the actor.
    fn ping(&mut self, ctx: &mut Context<Self>, timeout: Duration) {
        if self.closing {
            return;
        }
        let mut session = self.session.clone();
        ctx.spawn(
            async move {
                let _ = session.ping(b"").await;
            }
            .into_actor(self),
        );
        if self.pinged.is_none() {
            let at = Instant::now();
            self.pinged = Some(at);
            ctx.run_later(timeout, move |act, ctx| {
                if act.pinged == Some(at) {
                    tracing::debug!("closing a connection that stopped answering pings");
                    act.close(ctx, CloseCode::Normal, "no answer to ping", None);
                }
            });
        }
    }

    /// Closes with 1001 once the server is shutting down and no request of this connection runs.
    fn close_if_drained(&mut self, ctx: &mut Context<Self>) {
        if self.draining && self.in_flight == 0 {
            self.close(ctx, CloseCode::Away, "server shutting down", None);
        }
    }

    /// Writes `last` (an error frame), then the close frame, and only then stops: an actor that stops first never
    /// writes them (actix polls no `wait` future of a stopping actor), and the client would see a bare TCP close.
    fn close(&mut self, ctx: &mut Context<Self>, code: CloseCode, why: &str, last: Option<String>) {
        if self.closing {
            return;
        }
        self.closing = true;
        let mut session = self.session.clone();
        let reason = CloseReason {
            code,
            description: Some(why.to_string()),
        };
        ctx.wait(
            async move {
                if let Some(frame) = last {
                    let _ = session.text(frame).await;
                }
                let _ = session.close(Some(reason)).await;
            }
            .into_actor(self)
            .map(|(), _, ctx| ctx.stop()),
        );
    }
}

/// The close code and -32600 reason for a broken frame: 1009 when it is too large, 1007 when a text frame is not
/// UTF-8, else 1002.
fn close_for(error: &ProtocolError) -> (CloseCode, &'static str) {
    match error {
        ProtocolError::Overflow => (CloseCode::Size, "frame too large"),
        ProtocolError::Io(e) if frame_limit::is_overflow(e) => (CloseCode::Size, "frame too large"),
        ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            (CloseCode::Invalid, "text frame is not valid UTF-8")
        }
        _ => (CloseCode::Protocol, "protocol error"),
    }
}

/// A frame of the connection, of this many requests, has been answered.
#[derive(Message)]
#[rtype(result = "()")]
struct Answered(usize);

impl Handler<Answered> for WsSession {
    type Result = ();
    fn handle(&mut self, Answered(count): Answered, ctx: &mut Context<Self>) {
        self.in_flight = self.in_flight.saturating_sub(count);
        self.close_if_drained(ctx);
    }
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let conn = Arc::new(Connection::new(Arc::new(ActorOutbox(ctx.address()))));
        self.app.hub.add(conn.clone());
        self.app.metrics.connections.inc();
        self.conn = Some(conn);
        let going_away = self.app.hub.going_away();
        ctx.spawn(
            async move { going_away.cancelled().await }
                .into_actor(self)
                .map(|(), act, ctx| {
                    act.draining = true;
                    act.close_if_drained(ctx);
                }),
        );
        let idle = Duration::from_secs(self.app.settings.current().server.idle_timeout_secs);
        ctx.run_interval(Duration::from_secs(5).min(idle), move |act, ctx| {
            if act.last_seen.elapsed() >= idle {
                tracing::debug!("closing idle connection");
                act.close(ctx, CloseCode::Normal, "idle timeout", None);
            }
        });
        let settings = self.app.settings.current();
        let ping = Duration::from_secs(settings.server.ws_ping_interval_secs);
        let pong = Duration::from_secs(settings.server.ws_pong_timeout_secs);
        ctx.run_interval(ping, move |act, ctx| act.ping(ctx, pong));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        if let Some(conn) = self.conn.take() {
            conn.closed.cancel();
            self.app.hub.remove(conn.id);
        }
        self.app.metrics.connections.dec();
    }
}

impl Handler<Outgoing> for WsSession {
    type Result = ();
    fn handle(&mut self, msg: Outgoing, ctx: &mut Context<Self>) {
        let mut session = self.session.clone();
        ctx.wait(
            async move { session.text(msg.frame).await.is_ok() }
                .into_actor(self)
                .map(move |sent, act, ctx| {
                    if let Some(received) = msg.received {
                        act.app
                            .metrics
                            .stream_chunk_forward_seconds
                            .observe(received.elapsed().as_secs_f64());
                    }
                    if !sent {
                        ctx.stop();
                    }
                }),
        );
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Context<Self>) {
        self.pinged = None;
        if !matches!(item, Ok(AggregatedMessage::Pong(_))) {
            self.last_seen = Instant::now();
        }
        match item {
            Ok(AggregatedMessage::Text(text)) => self.on_text(text.to_string(), ctx),
            Ok(AggregatedMessage::Binary(_)) => {
                let e = RpcError::invalid_request("binary frames are not supported; send JSON text frames");
                ctx.notify(Outgoing::frame(failure(&Value::Null, e).to_string()));
            }
            Ok(AggregatedMessage::Ping(bytes)) => {
                let mut session = self.session.clone();
                ctx.wait(
                    async move {
                        let _ = session.pong(&bytes).await;
                    }
                    .into_actor(self),
                );
            }
            Ok(AggregatedMessage::Pong(_)) => {}
            Ok(AggregatedMessage::Close(reason)) => {
                let code = reason.as_ref().map_or(CloseCode::Normal, |r| r.code);
                self.close(ctx, code, "", None)
            }
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket protocol error");
                let (code, why) = close_for(&e);
                let frame = failure(&Value::Null, RpcError::invalid_request(why)).to_string();
                self.close(ctx, code, why, Some(frame));
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
