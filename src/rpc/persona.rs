//! `persona.*` (except chat): list, get, switch, create, update, delete, status, over [`crate::ops::persona`].

use super::context::Ctx;
use super::params::{acting, MaybePersona, NoParams, PersonaRef};
use super::router::Router;
use crate::error::AppError;
use crate::ops::persona::fields::{CreateParams, UpdateParams};
use crate::ops::persona::{self, card};
use crate::ops::results::persona::{Created, Deleted, PersonaCard, PersonaList, Status, Switched, Updated};

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method("persona.list", "List all personas with their availability", list);
    r.method("persona.get", "Get a persona's card", get);
    r.method(
        "persona.switch",
        "Make a persona the connection's current persona",
        switch,
    );
    r.method("persona.create", "Create a persona", create);
    r.method("persona.update", "Change fields of a persona", update);
    r.method(
        "persona.delete",
        "Delete a persona and everything it owns (its Matrix bots are stopped and deleted)",
        delete,
    );
    r.method(
        "persona.status",
        "A persona's card, interaction state and memory stats (persona_id, or the connection's current persona)",
        status,
    );
    r.method(
        "persona.import_card",
        "Create a persona from a Character Card V2/V3 (card JSON, or png_base64); character_book entries become \
         lore memories",
        import_card,
    );
    r.method(
        "persona.export_card",
        "A persona as a Character Card (spec v2 or v3; format json, or png with the avatar and both card chunks, \
         as png_base64)",
        export_card,
    );
}

async fn list(ctx: Ctx, _: NoParams) -> Result<PersonaList, AppError> {
    persona::list(&ctx.app).await
}

async fn get(ctx: Ctx, p: PersonaRef) -> Result<PersonaCard, AppError> {
    persona::get(&ctx.app, &p.persona_id).await
}

async fn switch(ctx: Ctx, p: PersonaRef) -> Result<Switched, AppError> {
    let switched = persona::switch(&ctx.app, &p.persona_id, ctx.conn.session_id()).await?;
    ctx.conn.set_current_persona(Some(switched.persona_id));
    Ok(switched)
}

async fn create(ctx: Ctx, p: CreateParams) -> Result<Created, AppError> {
    persona::create(&ctx.app, p).await
}

async fn update(ctx: Ctx, p: UpdateParams) -> Result<Updated, AppError> {
    persona::update(&ctx.app, p).await
}

async fn delete(ctx: Ctx, p: PersonaRef) -> Result<Deleted, AppError> {
    let deleted = persona::delete(&ctx.app, &p.persona_id).await?;
    if ctx.conn.current_persona() == Some(deleted.persona_id) {
        ctx.conn.set_current_persona(None);
    }
    Ok(deleted)
}

async fn status(ctx: Ctx, p: MaybePersona) -> Result<Status, AppError> {
    persona::status(&ctx.app, acting(&ctx, p.persona_id.as_deref())).await
}

async fn import_card(ctx: Ctx, p: card::ImportParams) -> Result<card::CardImported, AppError> {
    card::import(&ctx.app, p).await
}

async fn export_card(ctx: Ctx, p: card::ExportParams) -> Result<card::CardExported, AppError> {
    card::export(&ctx.app, p).await
}
