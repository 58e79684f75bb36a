//! The wall clock in whole seconds, for the actors' idle bookkeeping.

/// Seconds since the epoch (for idle bookkeeping).
pub fn epoch_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
