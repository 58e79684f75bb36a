//! The checks several sections share.

use std::ops::RangeInclusive;

use super::ConfigError;

/// `value` must be at least `min`.
pub(super) fn check_min(key: &str, value: usize, min: usize) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(key, value, &format!("a whole number ≥ {min}")));
    }
    Ok(())
}

/// `value` must lie in `range`; `allowed` says so in words.
pub(super) fn check_within<T: PartialOrd + ToString>(
    key: &str,
    value: T,
    range: RangeInclusive<T>,
    allowed: &str,
) -> Result<(), ConfigError> {
    if !range.contains(&value) {
        return Err(ConfigError::new(key, value, allowed));
    }
    Ok(())
}

/// A listener's `host` must not be blank.
pub(super) fn check_host(key: &str, host: &str) -> Result<(), ConfigError> {
    if host.trim().is_empty() {
        return Err(ConfigError::new(key, host, "a host name or IP address"));
    }
    Ok(())
}
