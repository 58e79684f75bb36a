//! `system.status` and `system.models`, over [`crate::ops::system`].

use super::context::Ctx;
use super::params::{session, NoParams};
use super::router::Router;
use crate::error::AppError;
use crate::ops::results::system::{Models, SystemStatus};
use crate::ops::system;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "system.status",
        "Server health, personas, connections and this session",
        status,
    );
    r.method(
        "system.models",
        "Models offered by the LLM backend, the model selection rules and which of their models exist",
        models,
    );
}

async fn status(ctx: Ctx, _: NoParams) -> Result<SystemStatus, AppError> {
    system::status(&ctx.app, session(&ctx), ctx.hub.count()).await
}

async fn models(ctx: Ctx, _: NoParams) -> Result<Models, AppError> {
    system::models(&ctx.app).await
}
