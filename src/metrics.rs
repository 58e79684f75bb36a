//! Prometheus metrics, rendered at `GET /metrics`.

use std::time::Instant;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: IntGauge,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    /// Seconds from a chat request to its first streamed chunk.
    pub stream_first_chunk_seconds: Histogram,
    /// Chunks streamed to clients.
    pub stream_chunks: IntCounter,
    /// Seconds from a chat request's arrival to the request to the model (the server's share before the first
    /// token).
    pub stream_setup_seconds: Histogram,
    /// Seconds from a token's arrival from the model to its frame reaching the client's socket (WebSocket).
    pub stream_chunk_forward_seconds: Histogram,
    /// Streams by how they ended.
    pub streams: IntCounterVec,
    /// Failed LLM calls.
    pub llm_errors: IntCounter,
    /// Seconds per LLM call, to its last token.
    pub llm_seconds: Histogram,
    /// Seconds a chat turn spends choosing its topic thread and gathering the thread's history.
    pub thread_step_seconds: Histogram,
    /// The threading step without its wait for the message's vector (the one memory recall started): its own work.
    pub thread_step_own_seconds: Histogram,
    /// Seconds a chat turn spends in each stage before its request to the model, by `stage`: `route` (request in →
    /// the turn starts in its conversation), `sections` (memory recall and the other prompt sections), `prompt`
    /// (model choice and prompt building, after threading).
    pub turn_stage_seconds: HistogramVec,
    /// Turns whose message vector missed `chat.thread_vector_wait_ms` (late, or not started under load): their
    /// thread was chosen by keywords.
    pub thread_vector_late: IntCounter,
}

const CHUNK_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1,
];
const FAST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("persona_mcp".into()), None).expect("static prefix is valid");
        let connections = IntGauge::new("connections", "Open WebSocket connections").expect("static metric");
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "JSON-RPC requests by method and outcome"),
            &["method", "outcome"],
        )
        .expect("static metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("request_duration_seconds", "JSON-RPC request latency").buckets(FAST_BUCKETS.to_vec()),
            &["method"],
        )
        .expect("static metric");
        let stream_first_chunk_seconds = Histogram::with_opts(
            HistogramOpts::new("stream_first_chunk_seconds", "Time to the first streamed chunk")
                .buckets(FAST_BUCKETS.to_vec()),
        )
        .expect("static metric");
        let stream_chunks = IntCounter::new("stream_chunks_total", "Chunks streamed").expect("static metric");
        let stream_setup_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "stream_setup_seconds",
                "Time from a chat request's arrival to the request to the model",
            )
            .buckets(CHUNK_BUCKETS.to_vec()),
        )
        .expect("static metric");
        let thread_step_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "thread_step_seconds",
                "Time a chat turn spends choosing its topic thread and gathering the thread's history",
            )
            .buckets(CHUNK_BUCKETS.to_vec()),
        )
        .expect("static metric");
        let thread_step_own_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "thread_step_own_seconds",
                "The threading step without its wait for the message's vector (the one memory recall started)",
            )
            .buckets(CHUNK_BUCKETS.to_vec()),
        )
        .expect("static metric");
        let turn_stage_seconds = HistogramVec::new(
            HistogramOpts::new(
                "turn_stage_seconds",
                "Time a chat turn spends in each stage before its request to the model (route, sections, prompt)",
            )
            .buckets(CHUNK_BUCKETS.to_vec()),
            &["stage"],
        )
        .expect("static metric");
        let thread_vector_late = IntCounter::new(
            "thread_vector_late_total",
            "Chat turns whose topic thread was chosen by keywords because the message's vector missed \
             chat.thread_vector_wait_ms",
        )
        .expect("static metric");
        let stream_chunk_forward_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "stream_chunk_forward_seconds",
                "Time from a token's arrival from the model to its frame on the client's socket",
            )
            .buckets(CHUNK_BUCKETS.to_vec()),
        )
        .expect("static metric");
        let streams =
            IntCounterVec::new(Opts::new("streams_total", "Streams by outcome"), &["outcome"]).expect("static metric");
        let llm_errors = IntCounter::new("llm_errors_total", "Failed LLM calls").expect("static metric");
        let llm_seconds = Histogram::with_opts(
            HistogramOpts::new("llm_call_seconds", "LLM call duration").buckets(FAST_BUCKETS.to_vec()),
        )
        .expect("static metric");
        for m in [
            Box::new(connections.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(requests.clone()),
            Box::new(request_seconds.clone()),
            Box::new(stream_first_chunk_seconds.clone()),
            Box::new(stream_chunks.clone()),
            Box::new(stream_chunk_forward_seconds.clone()),
            Box::new(stream_setup_seconds.clone()),
            Box::new(streams.clone()),
            Box::new(llm_errors.clone()),
            Box::new(llm_seconds.clone()),
            Box::new(thread_step_seconds.clone()),
            Box::new(thread_step_own_seconds.clone()),
            Box::new(turn_stage_seconds.clone()),
            Box::new(thread_vector_late.clone()),
        ] {
            registry.register(m).expect("metric names are unique");
        }
        Self {
            registry,
            connections,
            requests,
            request_seconds,
            stream_first_chunk_seconds,
            stream_chunks,
            stream_chunk_forward_seconds,
            stream_setup_seconds,
            streams,
            llm_errors,
            llm_seconds,
            thread_step_seconds,
            thread_step_own_seconds,
            turn_stage_seconds,
            thread_vector_late,
        }
    }

    /// Times a turn's `stage` (one of `route`, `sections`, `prompt`) from `since` to now.
    pub fn observe_stage(&self, stage: &str, since: Instant) {
        self.turn_stage_seconds
            .with_label_values(&[stage])
            .observe(since.elapsed().as_secs_f64());
    }

    /// Counts a finished request and its latency.
    pub fn record_request(&self, method: &str, outcome: &str, started: Instant) {
        self.requests.with_label_values(&[method, outcome]).inc();
        self.request_seconds
            .with_label_values(&[method])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Adds a collector kept by another part of the server (the bot supervisor's) to what `/metrics` renders.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) -> prometheus::Result<()> {
        self.registry.register(collector)
    }

    /// A JSON summary for the admin page: per metric, the total of counters and gauges, and the count, sum and
    /// mean of histograms (over every label).
    pub fn summary(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for family in self.registry.gather() {
            let metrics = family.get_metric();
            let value = match family.get_field_type() {
                prometheus::proto::MetricType::HISTOGRAM => {
                    let count: u64 = metrics.iter().map(|m| m.get_histogram().get_sample_count()).sum();
                    let sum: f64 = metrics.iter().map(|m| m.get_histogram().get_sample_sum()).sum();
                    let mean = if count > 0 { sum / count as f64 } else { 0.0 };
                    serde_json::json!({ "count": count, "sum": sum, "mean": mean })
                }
                prometheus::proto::MetricType::GAUGE => {
                    serde_json::json!(metrics.iter().map(|m| m.get_gauge().get_value()).sum::<f64>())
                }
                _ => serde_json::json!(metrics.iter().map(|m| m.get_counter().get_value()).sum::<f64>()),
            };
            out.insert(family.name().to_string(), value);
        }
        serde_json::Value::Object(out)
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
