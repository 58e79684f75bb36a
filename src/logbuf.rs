//! The recent log lines, kept in memory for the admin (`GET /admin/api/v1/logs`) and fanned out live
//! (`/logs/stream`): a `tracing` layer writing into a ring buffer and a broadcast channel.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// One log line.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LogLine {
    /// RFC 3339 time.
    pub time: String,
    /// ERROR, WARN, INFO, DEBUG or TRACE.
    pub level: String,
    /// The module that logged it.
    pub target: String,
    /// The message.
    pub message: String,
    /// The other fields, `key=value` separated by spaces.
    pub fields: String,
}

/// The ring buffer and the live channel.
pub struct LogBuffer {
    lines: Mutex<VecDeque<LogLine>>,
    capacity: usize,
    live: broadcast::Sender<LogLine>,
}

static GLOBAL: OnceLock<LogBuffer> = OnceLock::new();

/// The process's buffer, made with `capacity` lines on first use (later calls keep the first capacity).
pub fn global(capacity: usize) -> &'static LogBuffer {
    GLOBAL.get_or_init(|| LogBuffer {
        lines: Mutex::new(VecDeque::with_capacity(capacity.min(10_000))),
        capacity: capacity.max(1),
        live: broadcast::channel(1024).0,
    })
}

/// The buffer, when logging was set up with it.
pub fn installed() -> Option<&'static LogBuffer> {
    GLOBAL.get()
}

/// Severity rank: 0 for ERROR … 4 for TRACE.
fn rank(level: &str) -> u8 {
    match level.to_ascii_uppercase().as_str() {
        "ERROR" => 0,
        "WARN" => 1,
        "INFO" => 2,
        "DEBUG" => 3,
        _ => 4,
    }
}

/// Which lines a reader wants: at least this severe (`level`), from targets starting with `target`.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Least severe level wanted (`warn` keeps WARN and ERROR).
    pub level: Option<String>,
    /// Target prefix, e.g. `persona_mcp::web`.
    pub target: Option<String>,
}

impl LogFilter {
    /// True when `line` passes.
    pub fn keeps(&self, line: &LogLine) -> bool {
        self.level.as_deref().is_none_or(|l| rank(&line.level) <= rank(l))
            && self.target.as_deref().is_none_or(|t| line.target.starts_with(t))
    }

    /// The level names this accepts, for checking a query.
    pub fn valid_level(level: &str) -> bool {
        matches!(
            level.to_ascii_lowercase().as_str(),
            "error" | "warn" | "info" | "debug" | "trace"
        )
    }
}

impl LogBuffer {
    fn push(&self, line: LogLine) {
        {
            let mut lines = crate::locks::lock(&self.lines);
            if lines.len() == self.capacity {
                lines.pop_front();
            }
            lines.push_back(line.clone());
        }
        let _ = self.live.send(line);
    }

    /// The newest `n` lines that pass `filter`, oldest first.
    pub fn tail(&self, n: usize, filter: &LogFilter) -> Vec<LogLine> {
        let lines = crate::locks::lock(&self.lines);
        let mut out: Vec<LogLine> = lines
            .iter()
            .rev()
            .filter(|l| filter.keeps(l))
            .take(n)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// Every line logged from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(
                self.rest,
                "{}{}={}",
                if self.rest.is_empty() { "" } else { " " },
                field.name(),
                value
            );
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(
                self.rest,
                "{}{}={:?}",
                if self.rest.is_empty() { "" } else { " " },
                field.name(),
                value
            );
        }
    }
}

/// The layer feeding a buffer.
pub struct BufferLayer(&'static LogBuffer);

/// A layer writing every event it sees into `buffer`.
pub fn layer(buffer: &'static LogBuffer) -> BufferLayer {
    BufferLayer(buffer)
}

impl<S: Subscriber> Layer<S> for BufferLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        self.0.push(LogLine {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            level: level_name(meta.level()).to_string(),
            target: meta.target().to_string(),
            message: fields.message,
            fields: fields.rest,
        });
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(level: &str, target: &str) -> LogLine {
        LogLine {
            time: String::new(),
            level: level.into(),
            target: target.into(),
            message: "m".into(),
            fields: String::new(),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_filters_by_level_and_target() {
        let buf = LogBuffer {
            lines: Mutex::new(VecDeque::new()),
            capacity: 3,
            live: broadcast::channel(8).0,
        };
        for (level, target) in [
            ("INFO", "a"),
            ("WARN", "persona_mcp::web"),
            ("DEBUG", "b"),
            ("ERROR", "persona_mcp::llm"),
        ] {
            buf.push(line(level, target));
        }
        assert_eq!(buf.tail(10, &LogFilter::default()).len(), 3, "the oldest went");
        let warn = LogFilter {
            level: Some("warn".into()),
            target: None,
        };
        let levels: Vec<String> = buf.tail(10, &warn).into_iter().map(|l| l.level).collect();
        assert_eq!(levels, ["WARN", "ERROR"]);
        let web = LogFilter {
            level: None,
            target: Some("persona_mcp::web".into()),
        };
        assert_eq!(buf.tail(10, &web).len(), 1);
        assert_eq!(buf.tail(1, &LogFilter::default())[0].level, "ERROR");
    }
}
