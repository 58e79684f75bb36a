//! `state.*`: save, load, verify, list and delete state files, over [`crate::ops::state_files`].

use super::context::Ctx;
use super::params::{session, NoParams};
use super::router::Router;
use crate::error::AppError;
use crate::ops::state_files::{
    self, DeleteParams, DeleteResult, ListResult, LoadParams, LoadResult, PathParams, SaveResult, VerifyResult,
};

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "state.save",
        "Write a snapshot of everything to a state file in the data directory",
        save,
    );
    r.method(
        "state.load",
        "Replace everything with a state file (needs a path or confirm: true)",
        load_state,
    );
    r.method("state.verify", "Check a state file without loading it", verify);
    r.method("state.list", "The state files in the data directory", list);
    r.method("state.delete", "Delete a state file by name", delete);
}

async fn save(ctx: Ctx, p: PathParams) -> Result<SaveResult, AppError> {
    state_files::save(&ctx.app, &session(&ctx), p).await
}

async fn load_state(ctx: Ctx, p: LoadParams) -> Result<LoadResult, AppError> {
    let loaded = state_files::load_state(&ctx.app, &session(&ctx), p).await?;
    // The current persona is gone when the loaded state does not hold it.
    if loaded.state_loaded && loaded.current_persona_id.is_none() {
        ctx.conn.set_current_persona(None);
    }
    Ok(loaded)
}

async fn verify(ctx: Ctx, p: PathParams) -> Result<VerifyResult, AppError> {
    state_files::verify(&ctx.app, p).await
}

async fn list(ctx: Ctx, _: NoParams) -> Result<ListResult, AppError> {
    state_files::list(&ctx.app)
}

async fn delete(ctx: Ctx, p: DeleteParams) -> Result<DeleteResult, AppError> {
    state_files::delete(&ctx.app, p)
}
