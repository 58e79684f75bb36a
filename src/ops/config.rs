//! The settings in force, and live changes to them (SURFACES.md "Configuration").

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::app::Core;
use crate::error::AppError;
use crate::live::LiveError;
use crate::ops::input::Input;
use crate::ops::results::config::{ConfigChanged, ConfigKey, ConfigView};

/// `system.config_set` params.
#[derive(Deserialize, JsonSchema)]
pub struct ConfigSetParams {
    /// Dotted key as `system.config_get` lists it, e.g. `llm.temperature`.
    pub key: String,
    /// The new value (a string is read as a number or boolean where the setting is one).
    pub value: Value,
}
impl Input for ConfigSetParams {}

/// The settings in force (secrets redacted), and per key whether it can change live.
pub fn get(core: &Core) -> Result<ConfigView, AppError> {
    let live = &core.settings;
    let settings = serde_json::to_value(live.current().redacted())
        .map_err(|e| AppError::Internal(format!("serialising settings: {e}")))?;
    let keys = live
        .keys()
        .into_iter()
        .map(|(key, value, live)| ConfigKey { key, value, live })
        .collect();
    Ok(ConfigView {
        settings,
        keys,
        config_file: live.file().map(|f| f.display().to_string()),
    })
}

/// Changes one live setting at once (others are refused: they need a restart).
pub fn set(core: &Core, p: ConfigSetParams) -> Result<ConfigChanged, AppError> {
    let change = core.settings.set(&p.key, p.value).map_err(refusal)?;
    Ok(ConfigChanged {
        changed: change.old != change.new,
        key: change.key,
        previous: change.old,
        value: change.new,
    })
}

/// A refused change as -32602 naming the key.
fn refusal(e: LiveError) -> AppError {
    AppError::invalid(e.key(), e.to_string())
}
