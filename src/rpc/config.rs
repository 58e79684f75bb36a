//! `system.config_get` and `system.config_set`: the settings in force, and live changes to them (SURFACES.md
//! "Configuration").

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::context::Ctx;
use super::params::NoParams;
use super::results::config::{ConfigChanged, ConfigKey, ConfigView};
use super::router::{Params, Router};
use crate::error::AppError;
use crate::live::LiveError;

/// Registers the methods.
pub fn register(r: &mut Router) {
    r.method(
        "system.config_get",
        "The settings in force (secrets redacted), and per key whether it can change live",
        config_get,
    );
    r.method(
        "system.config_set",
        "Change one live setting at once (others answer that they need a restart)",
        config_set,
    );
}

/// `system.config_set` params.
#[derive(Deserialize, JsonSchema)]
pub struct ConfigSetParams {
    /// Dotted key as `system.config_get` lists it, e.g. `llm.temperature`.
    pub key: String,
    /// The new value (a string is read as a number or boolean where the setting is one).
    pub value: Value,
}
impl Params for ConfigSetParams {}

async fn config_get(ctx: Ctx, _: NoParams) -> Result<ConfigView, AppError> {
    let live = &ctx.app.settings;
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

async fn config_set(ctx: Ctx, p: ConfigSetParams) -> Result<ConfigChanged, AppError> {
    let change = ctx.app.settings.set(&p.key, p.value).map_err(refusal)?;
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
