//! `bot.*`: Matrix bots of personas; each method decodes its params and calls its bot operation
//! ([`crate::ops::bot`]).

pub use crate::ops::bot::{BotIdParams, CreateParams, LogsParams, UpdateParams};

use super::context::Ctx;
use super::params::NoParams;
use super::router::Router;
use crate::actors::bot_supervisor::{BotCommand, BotView};
use crate::error::AppError;
use crate::ops::bot;
use crate::ops::results::bot::{BotDeleted, BotList, BotLogLines};

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method("bot.list", "Every Matrix bot with its status", list);
    r.method("bot.get", "One Matrix bot with its status", get);
    r.method(
        "bot.create",
        "Create a Matrix bot for a persona (started at once when enabled)",
        create,
    );
    r.method(
        "bot.update",
        "Change a Matrix bot's settings or credentials (a running bot restarts)",
        update,
    );
    r.method("bot.delete", "Stop and delete a Matrix bot", delete);
    r.method("bot.start", "Start a Matrix bot's process", start);
    r.method(
        "bot.stop",
        "Stop a Matrix bot's process (SIGTERM, SIGKILL after 10 s)",
        stop,
    );
    r.method("bot.restart", "Stop and start a Matrix bot's process", restart);
    r.method("bot.logs", "The last log lines of a Matrix bot (at most 1000)", logs);
}

async fn list(ctx: Ctx, _: NoParams) -> Result<BotList, AppError> {
    bot::list(&ctx.app).await
}

async fn get(ctx: Ctx, p: BotIdParams) -> Result<BotView, AppError> {
    bot::command(&ctx.app, &p.bot_id, BotCommand::Get).await
}

async fn start(ctx: Ctx, p: BotIdParams) -> Result<BotView, AppError> {
    bot::command(&ctx.app, &p.bot_id, BotCommand::Start).await
}

async fn stop(ctx: Ctx, p: BotIdParams) -> Result<BotView, AppError> {
    bot::command(&ctx.app, &p.bot_id, BotCommand::Stop).await
}

async fn restart(ctx: Ctx, p: BotIdParams) -> Result<BotView, AppError> {
    bot::command(&ctx.app, &p.bot_id, BotCommand::Restart).await
}

async fn create(ctx: Ctx, p: CreateParams) -> Result<BotView, AppError> {
    bot::create(&ctx.app, p).await
}

async fn update(ctx: Ctx, p: UpdateParams) -> Result<BotView, AppError> {
    bot::update(&ctx.app, p).await
}

async fn delete(ctx: Ctx, p: BotIdParams) -> Result<BotDeleted, AppError> {
    bot::delete(&ctx.app, &p.bot_id).await
}

async fn logs(ctx: Ctx, p: LogsParams) -> Result<BotLogLines, AppError> {
    bot::logs(&ctx.app, &p).await
}
