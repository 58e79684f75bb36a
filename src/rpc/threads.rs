//! `conversation.threads`: the topic threads of a session's chat conversations (the connection's session, or the
//! one its `session_id` param resumes, as on every method), from [`crate::ops::conversation::threads`].

use super::context::Ctx;
use super::router::Router;
use crate::error::AppError;
use crate::ops::conversation::threads::{self, ThreadsParams};
use crate::ops::results::threads::ThreadList;

/// Registers the method.
pub fn register(r: &mut Router) {
    r.method(
        "conversation.threads",
        "Topic threads of this session's chat conversations (one persona, or all)",
        list,
    );
}

async fn list(ctx: Ctx, p: ThreadsParams) -> Result<ThreadList, AppError> {
    threads::threads(&ctx.app, ctx.conn.session_id(), p.persona_id.as_deref()).await
}
