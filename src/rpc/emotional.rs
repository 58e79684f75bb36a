//! `emotional.*`: read and set a persona's emotional state, over [`crate::ops::persona::emotions`].

use uuid::Uuid;

use super::context::Ctx;
use super::live::{self, Changed, Detail};
use super::params::{acting, MaybePersona};
use super::router::Router;
use crate::error::AppError;
use crate::ops::persona::emotions::{self, UpdateStateParams};
use crate::ops::results::persona::{Emotions, EmotionsUpdated};
use crate::presence::events::Change;

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "emotional.get_state",
        "A persona's emotional state (persona_id, or the connection's current persona): mood, energy, stress, curiosity, social battery",
        get_state,
    );
    r.method(
        "emotional.update_state",
        "Set fields of a persona's emotional state (persona_id, or the connection's current persona) and/or change them by deltas (values are clamped)",
        update_state,
    );
}

async fn get_state(ctx: Ctx, p: MaybePersona) -> Result<Emotions, AppError> {
    emotions::get(&ctx.app, acting(&ctx, p.persona_id.as_deref())).await
}

async fn update_state(ctx: Ctx, p: UpdateStateParams) -> Result<EmotionsUpdated, AppError> {
    let who = p.persona_id.clone();
    let updated = emotions::update(&ctx.app, acting(&ctx, who.as_deref()), p).await?;
    announce(&ctx, updated.persona_id);
    Ok(updated)
}

/// Tells `state.changed` subscribers that the persona's emotional state was set.
pub fn announce(ctx: &Ctx, persona: Uuid) {
    live::publish(
        ctx,
        Changed {
            personas: vec![persona],
            changes: vec![Change::EmotionalState],
            detail: Detail::Source("emotional.update_state"),
        },
    );
}
