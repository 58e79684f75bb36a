//! `/bots`: the Matrix bots (the bot operations, as `bot.*`): list, create, get, update, delete, start, stop, restart, logs, and
//! the live tail of a bot's log (Server-Sent Events).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::body::{input, with_path};
use super::App;
use crate::actors::bot_supervisor::{BotCommand, BotView, FollowBotLogs};
use crate::error::AppError;
use crate::ops::bot::{self, CreateParams, LogsParams, UpdateParams};
use crate::ops::input::Input;
use crate::ops::results::bot::{BotDeleted, BotList, BotLogLines};
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(delete)
        .service(start)
        .service(stop)
        .service(restart)
        .service(logs)
        .service(follow);
}

/// A bot path segment.
type Bid = web::Path<String>;

#[utoipa::path(tag = "bots", responses((status = 200, description = "As `bot.list`", body = BotList)))]
#[get("/bots")]
async fn list(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(bot::list(&app).await?))
}

#[utoipa::path(tag = "bots", request_body = CreateParams,
    responses((status = 201, description = "The new bot (secrets never shown)", body = BotView)))]
#[post("/bots")]
async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Created().json(bot::create(&app, input(body.into_inner())?).await?))
}

async fn command(app: &App, bid: &str, command: BotCommand) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(bot::command(app, bid, command).await?))
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.get`", body = BotView)))]
#[get("/bots/{bid}")]
async fn get(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    command(&app, &bid, BotCommand::Get).await
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), request_body = UpdateParams,
    responses((status = 200, description = "As `bot.update`", body = BotView)))]
#[patch("/bots/{bid}")]
async fn update(app: App, bid: Bid, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    let p: UpdateParams = input(with_path(body.into_inner(), &[("bot_id", &bid)]))?;
    Ok(HttpResponse::Ok().json(bot::update(&app, p).await?))
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "Stopped and deleted", body = BotDeleted)))]
#[delete("/bots/{bid}")]
async fn delete(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(bot::delete(&app, &bid).await?))
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.start`", body = BotView)))]
#[post("/bots/{bid}/start")]
async fn start(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    command(&app, &bid, BotCommand::Start).await
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.stop`", body = BotView)))]
#[post("/bots/{bid}/stop")]
async fn stop(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    command(&app, &bid, BotCommand::Stop).await
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.restart`", body = BotView)))]
#[post("/bots/{bid}/restart")]
async fn restart(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    command(&app, &bid, BotCommand::Restart).await
}

/// `?lines=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinesQuery {
    /// How many of the newest lines.
    #[serde(default)]
    pub lines: Option<i64>,
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id"), LinesQuery),
    responses((status = 200, description = "As `bot.logs`", body = BotLogLines)))]
#[get("/bots/{bid}/logs")]
async fn logs(app: App, bid: Bid, query: web::Query<LinesQuery>) -> Result<HttpResponse, WebError> {
    let p = LogsParams {
        bot_id: bid.into_inner(),
        lines: query.lines.unwrap_or(LogsParams::DEFAULT_LINES),
    };
    p.validate()?;
    Ok(HttpResponse::Ok().json(bot::logs(&app, &p).await?))
}

/// `GET /bots/{bid}/logs/stream`: every new log line of the bot, one event each (JSON string), as it is written.
#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")),
    responses((status = 200, description = "Server-Sent Events: one `data:` event per new line of the bot's log (a JSON string)",
        content((String = "text/event-stream")))))]
#[get("/bots/{bid}/logs/stream")]
async fn follow(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    let id = Uuid::parse_str(&bid).map_err(|_| AppError::BotNotFound(bid.to_string()))?;
    let rx = app.bots.send(FollowBotLogs(id)).await.map_err(AppError::from)??;
    Ok(super::logs::sse(rx, |line: &String| serde_json::to_string(line).ok()))
}
