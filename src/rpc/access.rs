//! What every finished call leaves behind: its count and latency in the metrics, and — unless `logging.access` is
//! off — one `info` line on the [`TARGET`] target naming the call, the persona it acted for, its duration and its
//! outcome. Access lines never hold params, message contents or secrets. The JSON-RPC router, MCP dispatch and the
//! HTTP middleware (`web::access`) all write through here, so the outcome is worked out in one place.

use std::time::Instant;

use serde_json::Value;

use super::context::Ctx;
use super::framing::{RpcError, INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND};
use crate::app::Core;

/// The `tracing` target of access lines (`logging.level = "info,persona_mcp::access=off"` silences them too).
pub const TARGET: &str = "persona_mcp::access";

/// Longest client-given name (an unknown method, a persona id) written into a line, in characters.
const MAX_NAME_CHARS: usize = 128;

/// How a call ended.
#[derive(Debug, Clone, Copy)]
pub enum Ending<'a> {
    /// Answered (or streamed to its end).
    Answered,
    /// Cancelled by the client; nothing was sent.
    Cancelled,
    /// Refused or failed with this error.
    Failed(&'a RpcError),
}

impl Ending<'_> {
    /// The `outcome` label of the metrics and of the access line.
    pub fn outcome(self) -> &'static str {
        match self {
            Self::Answered => "ok",
            Self::Cancelled => "cancelled",
            Self::Failed(e) => match e.code {
                INVALID_PARAMS => "invalid_params",
                METHOD_NOT_FOUND => "method_not_found",
                INTERNAL_ERROR => "internal_error",
                _ => "app_error",
            },
        }
    }

    fn code(self) -> Option<i64> {
        match self {
            Self::Failed(e) => Some(e.code),
            _ => None,
        }
    }
}

/// A call from its arrival: when it started, and the persona it acts for when its access line will be written.
pub struct Call {
    started: Instant,
    /// `Some` when the access log is on; then the persona, if the call has one.
    logged: Option<Option<String>>,
}

impl Call {
    /// A call with `params` arriving on `ctx`'s connection now. Its persona is `persona_id` (of the params, or
    /// of a `tools/call`'s arguments), else the connection's current persona.
    pub fn start(ctx: &Ctx, params: &Value) -> Self {
        let logged = access_on(&ctx.app).then(|| {
            let named = params
                .get("persona_id")
                .or_else(|| params.get("arguments")?.get("persona_id"))
                .and_then(Value::as_str);
            match named {
                Some(name) => Some(short(name).to_string()),
                None => ctx.conn.current_persona().map(|id| id.to_string()),
            }
        });
        Self {
            started: Instant::now(),
            logged,
        }
    }

    /// Counts the call under `metric` (`requests_total`, `request_duration_seconds`) and writes its access line
    /// for `method`.
    pub fn finish(self, app: &Core, metric: &str, method: &str, ending: Ending<'_>) {
        app.metrics.record_request(metric, ending.outcome(), self.started);
        if let Some(persona) = self.logged {
            line(
                method,
                persona.as_deref(),
                self.started,
                ending.outcome(),
                ending.code(),
            );
        }
    }
}

/// True when access lines are written (`logging.access`, live).
pub fn access_on(app: &Core) -> bool {
    app.settings.current().logging.access
}

/// Writes one access line: `call` (a method, or an HTTP method and route), the persona, the time since `started`,
/// the outcome and the error code (for HTTP: the status).
pub fn line(call: &str, persona: Option<&str>, started: Instant, outcome: &str, code: Option<i64>) {
    let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    tracing::info!(target: TARGET, persona, ms, outcome, code, "{}", short(call).escape_debug());
}

/// `name` cut to [`MAX_NAME_CHARS`] characters.
fn short(name: &str) -> &str {
    name.char_indices()
        .nth(MAX_NAME_CHARS)
        .map_or(name, |(at, _)| &name[..at])
}
