//! `relationship.*` and the legacy `persona.relationship`, over [`crate::ops::relationship`].

use super::context::Ctx;
use super::live::{self, Changed, Detail};
use super::params::{acting, MaybePersona, NoParams};
use super::router::Router;
use crate::domain::compatibility::CompatibilityReport;
use crate::error::AppError;
use crate::ops::relationship::{self, LegacyParams, PairParams, UpdateParams};
use crate::ops::results::relationship::{
    LegacyRelationship, RelationshipFound, RelationshipList, RelationshipStatsResult, RelationshipUpdated,
};
use crate::presence::events::Change;

/// Registers the namespace (and the legacy `persona.relationship`).
pub fn register(r: &mut Router) {
    r.method(
        "relationship.get",
        "The relationship between two personas (either order)",
        get,
    );
    r.method(
        "relationship.list",
        "Every relationship of a persona (persona_id, or the connection's current persona)",
        list,
    );
    r.method(
        "relationship.compatibility",
        "How well two personas are likely to get on, and how they should approach each other",
        compatibility,
    );
    r.method(
        "relationship.update",
        "Apply one interaction between two personas to their relationship",
        update,
    );
    r.method("relationship.stats", "Statistics over all relationships", stats);
    r.method(
        "persona.relationship",
        "A persona's relationship with another persona, or all of them (persona_id, or the connection's current persona) (legacy)",
        legacy,
    );
}

async fn get(ctx: Ctx, p: PairParams) -> Result<RelationshipFound, AppError> {
    relationship::get(&ctx.app, p).await
}

async fn list(ctx: Ctx, p: MaybePersona) -> Result<RelationshipList, AppError> {
    relationship::list(&ctx.app, acting(&ctx, p.persona_id.as_deref())).await
}

async fn compatibility(ctx: Ctx, p: PairParams) -> Result<CompatibilityReport, AppError> {
    relationship::compatibility(&ctx.app, p).await
}

async fn update(ctx: Ctx, p: UpdateParams) -> Result<RelationshipUpdated, AppError> {
    let updated = relationship::update(&ctx.app, p).await?;
    announce(&ctx, &updated);
    Ok(updated)
}

/// Tells `state.changed` subscribers of both personas that their relationship changed.
pub fn announce(ctx: &Ctx, updated: &RelationshipUpdated) {
    live::publish(
        ctx,
        Changed {
            personas: updated.personas.to_vec(),
            changes: vec![Change::Relationship],
            detail: Detail::Relationship(updated.updated_relationship.clone()),
        },
    );
}

async fn stats(ctx: Ctx, _: NoParams) -> Result<RelationshipStatsResult, AppError> {
    relationship::stats(&ctx.app).await
}

async fn legacy(ctx: Ctx, p: LegacyParams) -> Result<LegacyRelationship, AppError> {
    let who = acting(&ctx, p.persona_id.as_deref());
    relationship::legacy(&ctx.app, who, p.target_persona.as_deref()).await
}
