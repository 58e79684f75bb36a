//! `/logs`: the newest lines of the server's log, and every new line live as Server-Sent Events, filtered by level
//! and target.

use actix_web::{get, web, HttpResponse};
use futures_util::stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::AppError;
use crate::logbuf::{self, LogFilter, LogLine};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(tail).service(live);
}

/// `GET /logs`.
#[derive(Serialize, JsonSchema)]
pub struct LogTail {
    /// The newest lines that pass the filters, oldest first.
    pub lines: Vec<LogLine>,
}

/// `?lines=&level=&target=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// How many of the newest lines (1..=5000, default 200).
    #[serde(default)]
    pub lines: Option<usize>,
    /// Least severe level wanted: error, warn, info, debug, trace.
    #[serde(default)]
    pub level: Option<String>,
    /// Target prefix, e.g. `persona_mcp::web`.
    #[serde(default)]
    pub target: Option<String>,
}

impl LogQuery {
    fn filter(&self) -> Result<LogFilter, AppError> {
        let level = self.level.clone().filter(|l| !l.is_empty());
        if level.as_deref().is_some_and(|l| !LogFilter::valid_level(l)) {
            return Err(AppError::invalid(
                "level",
                "level must be error, warn, info, debug or trace",
            ));
        }
        Ok(LogFilter {
            level,
            target: self.target.clone().filter(|t| !t.is_empty()),
        })
    }
}

fn buffer() -> Result<&'static logbuf::LogBuffer, WebError> {
    logbuf::installed()
        .ok_or_else(|| AppError::Internal("logging was set up without the admin log buffer".into()).into())
}

#[utoipa::path(tag = "logs", params(LogQuery),
    responses((status = 200, description = "The newest log lines", body = LogTail)))]
#[get("/logs")]
async fn tail(query: web::Query<LogQuery>) -> Result<HttpResponse, WebError> {
    let filter = query.filter()?;
    let n = query.lines.unwrap_or(200);
    if !(1..=5000).contains(&n) {
        return Err(AppError::invalid("lines", "lines must be between 1 and 5000").into());
    }
    Ok(HttpResponse::Ok().json(LogTail {
        lines: buffer()?.tail(n, &filter),
    }))
}

#[utoipa::path(tag = "logs", params(LogQuery),
    responses((status = 200, description = "Server-Sent Events: one `data:` event per new log line (`lines` is ignored)",
        content((LogLine = "text/event-stream")))))]
#[get("/logs/stream")]
async fn live(query: web::Query<LogQuery>) -> Result<HttpResponse, WebError> {
    let filter = query.filter()?;
    let rx = buffer()?.subscribe();
    Ok(sse(rx, move |line| {
        filter
            .keeps(line)
            .then(|| serde_json::to_string(line).unwrap_or_default())
    }))
}

/// A Server-Sent Events answer with one event per value received that `event` turns into data (values it
/// answers `None` for are skipped); a tail that fell behind gets a `lagged` event saying how many it missed.
pub fn sse<T, F>(rx: broadcast::Receiver<T>, event: F) -> HttpResponse
where
    T: Clone + Send + 'static,
    F: Fn(&T) -> Option<String> + 'static,
{
    let events = stream::unfold((rx, event), |(mut rx, event)| async move {
        loop {
            let frame = match rx.recv().await {
                Ok(value) => match event(&value) {
                    Some(data) => format!("data: {data}\n\n"),
                    None => continue,
                },
                Err(RecvError::Lagged(n)) => format!("event: lagged\ndata: {{\"skipped\":{n}}}\n\n"),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok::<_, actix_web::Error>(web::Bytes::from(frame)), (rx, event)));
        }
    });
    let opening = stream::once(async { Ok::<_, actix_web::Error>(web::Bytes::from_static(b": connected\n\n")) });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures_util::StreamExt::chain(opening, events))
}
