//! Results of `bot.*` (the others answer the bot's view, `BotView`).

use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::actors::bot_supervisor::BotView;

/// `bot.list`.
#[derive(Serialize, JsonSchema)]
pub struct BotList {
    /// How many.
    pub total_count: usize,
    /// Every bot with its status.
    pub bots: Vec<BotView>,
}

/// `bot.delete`.
#[derive(Serialize, JsonSchema)]
pub struct BotDeleted {
    /// The bot.
    pub bot_id: Uuid,
    /// Always true.
    pub deleted: bool,
}

/// `bot.logs`.
#[derive(Serialize, JsonSchema)]
pub struct BotLogLines {
    /// The bot.
    pub bot_id: Uuid,
    /// Its last log lines, oldest first.
    pub lines: Vec<String>,
}
