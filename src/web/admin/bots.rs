//! `/bots`: the Matrix bots (over `bot.*`): list, create, get, update, delete, start, stop, restart, logs, and
//! the live tail of a bot's log (Server-Sent Events).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::bridge::{call, App};
use crate::actors::bot_supervisor::{BotView, FollowBotLogs};
use crate::error::AppError;
use crate::rpc::bot::{CreateParams, UpdateParams};
use crate::rpc::results::bot::{BotDeleted, BotList, BotLogLines};
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

/// Puts `bot_id` into a JSON object body.
fn with_bot(body: Value, bid: &str) -> Value {
    match body {
        Value::Object(mut map) => {
            map.insert("bot_id".into(), json!(bid));
            Value::Object(map)
        }
        other => other,
    }
}

#[utoipa::path(tag = "bots", responses((status = 200, description = "As `bot.list`", body = BotList)))]
#[get("/bots")]
async fn list(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "bot.list", json!({})).await?))
}

#[utoipa::path(tag = "bots", request_body = CreateParams,
    responses((status = 201, description = "The new bot (secrets never shown)", body = BotView)))]
#[post("/bots")]
async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Created().json(call(&app, "bot.create", body.into_inner()).await?))
}

async fn by_id(app: &App, method: &str, bid: &str) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(app, method, json!({ "bot_id": bid })).await?))
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.get`", body = BotView)))]
#[get("/bots/{bid}")]
async fn get(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.get", &bid).await
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), request_body = UpdateParams,
    responses((status = 200, description = "As `bot.update`", body = BotView)))]
#[patch("/bots/{bid}")]
async fn update(app: App, bid: Bid, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "bot.update", with_bot(body.into_inner(), &bid)).await?))
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "Stopped and deleted", body = BotDeleted)))]
#[delete("/bots/{bid}")]
async fn delete(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.delete", &bid).await
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.start`", body = BotView)))]
#[post("/bots/{bid}/start")]
async fn start(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.start", &bid).await
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.stop`", body = BotView)))]
#[post("/bots/{bid}/stop")]
async fn stop(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.stop", &bid).await
}

#[utoipa::path(tag = "bots", params(("bid" = String, Path, description = "Bot id")), responses((status = 200, description = "As `bot.restart`", body = BotView)))]
#[post("/bots/{bid}/restart")]
async fn restart(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.restart", &bid).await
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
    let mut params = json!({ "bot_id": bid.as_str() });
    if let Some(n) = query.lines {
        params["lines"] = json!(n);
    }
    Ok(HttpResponse::Ok().json(call(&app, "bot.logs", params).await?))
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
