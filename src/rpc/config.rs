//! `system.config_get` and `system.config_set`, over [`crate::ops::config`].

use super::context::Ctx;
use super::params::NoParams;
use super::router::Router;
use crate::error::AppError;
use crate::ops::config::{self, ConfigSetParams};
use crate::ops::results::config::{ConfigChanged, ConfigView};

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

async fn config_get(ctx: Ctx, _: NoParams) -> Result<ConfigView, AppError> {
    config::get(&ctx.app)
}

async fn config_set(ctx: Ctx, p: ConfigSetParams) -> Result<ConfigChanged, AppError> {
    config::set(&ctx.app, p)
}
