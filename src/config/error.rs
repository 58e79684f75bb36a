//! The one error of the config layer.

/// A setting that failed to load or validate, with its key, value and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {key} = {value:?}: {allowed}")]
pub struct ConfigError {
    /// Dotted key, e.g. `server.port`.
    pub key: String,
    /// The value that was given.
    pub value: String,
    /// What would be accepted.
    pub allowed: String,
}

impl ConfigError {
    /// The error for `key`, given `value`, naming what `allowed` would be accepted.
    pub(super) fn new(key: &str, value: impl ToString, allowed: &str) -> Self {
        Self {
            key: key.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}
