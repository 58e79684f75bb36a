//! Matrix bot operations (SURFACES.md "Matrix bots"): list, get, create, update, delete, start, stop, restart and
//! logs of the bots the `BotSupervisor` keeps and runs. Passwords and access tokens go in and never come out.

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::input::{non_empty, Input};
use super::results::bot::{BotDeleted, BotList, BotLogLines};
use crate::actors::bot_supervisor::{BotCommand, BotLogs, BotView, Command, CreateBot, DeleteBot, ListBots, UpdateBot};
use crate::app::Core;
use crate::domain::bot::{is_allowlist_entry, is_user_id, Bot, BotSecrets, ReplyMode};
use crate::error::AppError;

/// One bot.
#[derive(Deserialize, JsonSchema)]
pub struct BotIdParams {
    /// The bot's id (`bot.create` answers it).
    pub bot_id: String,
}
impl Input for BotIdParams {
    fn validate(&self) -> Result<(), AppError> {
        bot_id(&self.bot_id).map(drop)
    }
}

/// The bot id `s` gives (-32602 naming `bot_id` unless it is a UUID).
fn bot_id(s: &str) -> Result<Uuid, AppError> {
    non_empty("bot_id", s)?;
    Uuid::parse_str(s.trim()).map_err(|_| AppError::invalid("bot_id", "bot_id must be a bot id (a UUID)"))
}

/// `bot.create` params.
#[derive(Deserialize, JsonSchema)]
pub struct CreateParams {
    /// The persona that speaks through the bot (id or name).
    pub persona_id: String,
    /// Homeserver base URL, e.g. `https://matrix.example.org`.
    pub homeserver: String,
    /// The bot's Matrix user id, `@name:server`.
    pub user_id: String,
    /// Password (write-only).
    #[serde(default)]
    pub password: Option<String>,
    /// Access token, used instead of the password (write-only).
    #[serde(default)]
    pub access_token: Option<String>,
    /// Rooms to join (ids or aliases); empty: only rooms it is invited to.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Who may invite it: user ids or `*:server`; empty: users of its own homeserver.
    #[serde(default)]
    pub invite_allowlist: Vec<String>,
    /// `mention` (named, or in a direct chat) or `all` (every message in its rooms).
    #[serde(default)]
    pub reply_mode: ReplyMode,
    /// Started at boot and restarted when it exits (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Ok when `ok`, else -32602 on `field` with `message`.
fn check(ok: bool, field: &str, message: &str) -> Result<(), AppError> {
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(field, message))
    }
}

fn check_homeserver(url: &str) -> Result<(), AppError> {
    let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    check(
        ok,
        "homeserver",
        "homeserver must be an http(s) URL such as https://matrix.example.org",
    )
}

fn check_user_id(user_id: &str) -> Result<(), AppError> {
    check(
        is_user_id(user_id),
        "user_id",
        "user_id must be a Matrix user id such as @aria:example.org",
    )
}

fn check_rooms(rooms: &[String]) -> Result<(), AppError> {
    let ok = rooms
        .iter()
        .all(|r| (r.starts_with('!') || r.starts_with('#')) && r.contains(':'));
    check(
        ok,
        "rooms",
        "rooms must be room ids (!id:server) or aliases (#name:server)",
    )
}

fn check_allowlist(list: &[String]) -> Result<(), AppError> {
    check(
        list.iter().all(|e| is_allowlist_entry(e)),
        "invite_allowlist",
        "invite_allowlist entries must be user ids (@name:server), *:server or *",
    )
}

fn secrets(password: &Option<String>, access_token: &Option<String>) -> Option<BotSecrets> {
    let given = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
    let s = BotSecrets {
        password: given(password),
        access_token: given(access_token),
    };
    s.is_usable().then_some(s)
}

impl Input for CreateParams {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("persona_id", &self.persona_id)?;
        non_empty("homeserver", &self.homeserver)?;
        check_homeserver(&self.homeserver)?;
        non_empty("user_id", &self.user_id)?;
        check_user_id(&self.user_id)?;
        if secrets(&self.password, &self.access_token).is_none() {
            return Err(AppError::invalid("password", "password or access_token is required"));
        }
        check_rooms(&self.rooms)?;
        check_allowlist(&self.invite_allowlist)
    }
}

/// `bot.update` params: the bot and any field of `bot.create`. New credentials replace the stored ones.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateParams {
    /// The bot.
    pub bot_id: String,
    /// Persona id or name.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Homeserver base URL.
    #[serde(default)]
    pub homeserver: Option<String>,
    /// Matrix user id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// New password (write-only).
    #[serde(default)]
    pub password: Option<String>,
    /// New access token (write-only).
    #[serde(default)]
    pub access_token: Option<String>,
    /// Rooms to join.
    #[serde(default)]
    pub rooms: Option<Vec<String>>,
    /// Who may invite it.
    #[serde(default)]
    pub invite_allowlist: Option<Vec<String>>,
    /// `mention` or `all`.
    #[serde(default)]
    pub reply_mode: Option<ReplyMode>,
    /// Started at boot.
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl Input for UpdateParams {
    fn validate(&self) -> Result<(), AppError> {
        bot_id(&self.bot_id)?;
        if let Some(h) = &self.homeserver {
            check_homeserver(h)?;
        }
        if let Some(u) = &self.user_id {
            check_user_id(u)?;
        }
        if let Some(r) = &self.rooms {
            check_rooms(r)?;
        }
        if let Some(a) = &self.invite_allowlist {
            check_allowlist(a)?;
        }
        Ok(())
    }
}

/// `bot.logs` params.
#[derive(Deserialize, JsonSchema)]
pub struct LogsParams {
    /// The bot.
    pub bot_id: String,
    /// How many of the last lines (1..1000, default 100).
    #[serde(default = "LogsParams::default_lines")]
    pub lines: i64,
}

impl LogsParams {
    /// Lines given when the caller names no count.
    pub const DEFAULT_LINES: i64 = 100;

    fn default_lines() -> i64 {
        Self::DEFAULT_LINES
    }
}

impl Input for LogsParams {
    fn validate(&self) -> Result<(), AppError> {
        bot_id(&self.bot_id)?;
        if !(1..=1000).contains(&self.lines) {
            return Err(AppError::invalid(
                "lines",
                "lines must be an integer between 1 and 1000",
            ));
        }
        Ok(())
    }
}

/// Every bot with its status.
pub async fn list(core: &Core) -> Result<BotList, AppError> {
    let bots = core.bots.send(ListBots).await??;
    Ok(BotList {
        total_count: bots.len(),
        bots,
    })
}

/// Runs `command` on the bot `id` names; answers its view after it.
pub async fn command(core: &Core, id: &str, command: BotCommand) -> Result<BotView, AppError> {
    let bot_id = bot_id(id)?;
    core.bots.send(Command { bot_id, command }).await?
}

/// Creates a bot (started at once when enabled).
pub async fn create(core: &Core, p: CreateParams) -> Result<BotView, AppError> {
    let persona = core.resolve_persona(&p.persona_id).await?;
    let secrets = secrets(&p.password, &p.access_token).ok_or_else(|| AppError::required("password"))?;
    let now = Utc::now();
    let bot = Bot {
        id: Uuid::new_v4(),
        persona_id: persona.id,
        homeserver: p.homeserver.trim().to_string(),
        user_id: p.user_id.trim().to_string(),
        rooms: p.rooms,
        invite_allowlist: p.invite_allowlist,
        reply_mode: p.reply_mode,
        enabled: p.enabled.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    core.bots.send(CreateBot { bot, secrets }).await?
}

/// Changes a bot's settings or credentials (a running bot restarts).
pub async fn update(core: &Core, p: UpdateParams) -> Result<BotView, AppError> {
    let mut bot = command(core, &p.bot_id, BotCommand::Get).await?.bot;
    if let Some(persona) = &p.persona_id {
        bot.persona_id = core.resolve_persona(persona).await?.id;
    }
    if let Some(h) = p.homeserver {
        bot.homeserver = h.trim().to_string();
    }
    if let Some(u) = p.user_id {
        bot.user_id = u.trim().to_string();
    }
    if let Some(r) = p.rooms {
        bot.rooms = r;
    }
    if let Some(a) = p.invite_allowlist {
        bot.invite_allowlist = a;
    }
    if let Some(m) = p.reply_mode {
        bot.reply_mode = m;
    }
    if let Some(e) = p.enabled {
        bot.enabled = e;
    }
    bot.updated_at = Utc::now();
    let secrets = secrets(&p.password, &p.access_token);
    core.bots.send(UpdateBot { bot, secrets }).await?
}

/// Stops and deletes a bot.
pub async fn delete(core: &Core, bot: &str) -> Result<BotDeleted, AppError> {
    let id = bot_id(bot)?;
    core.bots.send(DeleteBot(id)).await??;
    Ok(BotDeleted {
        bot_id: id,
        deleted: true,
    })
}

/// The last `p.lines` log lines of a bot.
pub async fn logs(core: &Core, p: &LogsParams) -> Result<BotLogLines, AppError> {
    let id = bot_id(&p.bot_id)?;
    let lines = core
        .bots
        .send(BotLogs {
            bot_id: id,
            lines: p.lines as usize,
        })
        .await??;
    Ok(BotLogLines { bot_id: id, lines })
}
