//! Percentiles of measured durations.

use std::time::Duration;

/// The nearest-rank `q` percentile (0..=1) of sorted samples; `None` without samples.
pub fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// [`percentile`] in milliseconds.
pub fn percentile_ms(sorted: &[Duration], q: f64) -> Option<f64> {
    percentile(sorted, q).map(|d| d.as_secs_f64() * 1000.0)
}
