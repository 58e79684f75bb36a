//! What the memory layer reports at `/metrics`: how long a chat turn's recall takes (and whether its vector half
//! made the deadline), and the background embedding backlog.

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntGauge};

/// Upper bounds in seconds: fine below 10 ms, where the recall deadline lives.
const RECALL_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The memory layer's metrics; unregistered until [`MemoryMetrics::collectors`] are added to a registry.
#[derive(Clone)]
pub struct MemoryMetrics {
    /// Seconds one chat turn's recall took, by `path`: `hybrid` (vector and keyword hits) or `keyword` (no query
    /// vector in time, or no embedder).
    recall_seconds: HistogramVec,
    /// Recalls that answered without their vector half because the query embedding missed the deadline.
    pub recall_vector_late: IntCounter,
    /// Recalls that answered without their vector half because the query embeddings already queued would have
    /// made this one miss the deadline: it was not started (load shedding).
    pub recall_vector_shed: IntCounter,
    /// Memories waiting for their vector in the background queue.
    pub embed_backlog: IntGauge,
    /// Memories left to the database sweep because the backlog was full.
    pub embed_deferred: IntCounter,
    /// Memories embedded and indexed by the background queue.
    pub embedded: IntCounter,
}

impl MemoryMetrics {
    /// Creates the metrics (not yet registered anywhere).
    pub fn new() -> Self {
        let recall_seconds = HistogramVec::new(
            HistogramOpts::new(
                "memory_recall_seconds",
                "Time one chat turn's memory recall took, by path (hybrid: vector and keyword; keyword: alone)",
            )
            .buckets(RECALL_BUCKETS.to_vec()),
            &["path"],
        )
        .expect("static metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("static metric");
        Self {
            recall_seconds,
            recall_vector_late: counter(
                "memory_recall_vector_late_total",
                "Recalls answered by keywords because the query embedding missed memory.recall_deadline_ms",
            ),
            recall_vector_shed: counter(
                "memory_recall_vector_shed_total",
                "Recalls answered by keywords without embedding the query: the query embeddings queued ahead \
                 would have made it miss memory.recall_deadline_ms",
            ),
            embed_backlog: IntGauge::new(
                "memory_embed_backlog",
                "Memories waiting in the background queue for their vector",
            )
            .expect("static metric"),
            embed_deferred: counter(
                "memory_embed_deferred_total",
                "Memories left to the database sweep because the embedding backlog was full",
            ),
            embedded: counter(
                "memory_embedded_total",
                "Memories embedded and indexed in the background",
            ),
        }
    }

    /// The histogram of one recall path.
    pub fn recall(&self, hybrid: bool) -> Histogram {
        self.recall_seconds
            .with_label_values(&[if hybrid { "hybrid" } else { "keyword" }])
    }

    /// Every metric, for a registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.recall_seconds.clone()),
            Box::new(self.recall_vector_late.clone()),
            Box::new(self.recall_vector_shed.clone()),
            Box::new(self.embed_backlog.clone()),
            Box::new(self.embed_deferred.clone()),
            Box::new(self.embedded.clone()),
        ]
    }
}

impl Default for MemoryMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_registers_once_under_its_name() {
        let metrics = MemoryMetrics::new();
        let registry = prometheus::Registry::new();
        for collector in metrics.collectors() {
            registry.register(collector).expect("unique names");
        }
        metrics.recall(true).observe(0.002);
        metrics.recall(false).observe(0.0001);
        metrics.embed_backlog.set(3);
        let names: Vec<String> = registry.gather().iter().map(|f| f.name().to_string()).collect();
        for name in [
            "memory_recall_seconds",
            "memory_recall_vector_late_total",
            "memory_recall_vector_shed_total",
            "memory_embed_backlog",
            "memory_embed_deferred_total",
            "memory_embedded_total",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
    }
}
