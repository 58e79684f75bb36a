//! Results of `system.config_get` and `system.config_set`.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// `system.config_get`.
#[derive(Serialize, JsonSchema)]
pub struct ConfigView {
    /// The merged settings in force, by section, secrets redacted.
    pub settings: Value,
    /// Every setting by dotted key, in key order.
    pub keys: Vec<ConfigKey>,
    /// The `--config` file SIGHUP re-reads (null: `persona-mcp.toml` in the working directory, if any).
    pub config_file: Option<String>,
}

/// One setting.
#[derive(Serialize, JsonSchema)]
pub struct ConfigKey {
    /// Dotted key, e.g. `llm.temperature`.
    pub key: String,
    /// Its value in force (`<redacted>` for a secret that is set).
    pub value: Value,
    /// It can change while the server runs (`system.config_set`, SIGHUP); the others need a restart.
    pub live: bool,
}

/// `system.config_set`.
#[derive(Serialize, JsonSchema)]
pub struct ConfigChanged {
    /// The key.
    pub key: String,
    /// The value before.
    pub previous: Value,
    /// The value in force now.
    pub value: Value,
    /// False when the value was already in force.
    pub changed: bool,
}
