//! `/bots`: the Matrix bots (over `bot.*`): list, create, get, update, delete, start, stop, restart, logs, and
//! the live tail of a bot's log (Server-Sent Events).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::bridge::{call, App};
use crate::actors::bot_supervisor::FollowBotLogs;
use crate::error::AppError;
use crate::web::error::WebError;

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/bots", web::get().to(list))
        .route("/bots", web::post().to(create))
        .route("/bots/{bid}", web::get().to(get))
        .route("/bots/{bid}", web::patch().to(update))
        .route("/bots/{bid}", web::delete().to(delete))
        .route("/bots/{bid}/start", web::post().to(start))
        .route("/bots/{bid}/stop", web::post().to(stop))
        .route("/bots/{bid}/restart", web::post().to(restart))
        .route("/bots/{bid}/logs", web::get().to(logs))
        .route("/bots/{bid}/logs/stream", web::get().to(follow));
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

async fn list(app: App) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "bot.list", json!({})).await?))
}

async fn create(app: App, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Created().json(call(&app, "bot.create", body.into_inner()).await?))
}

async fn by_id(app: &App, method: &str, bid: &str) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(app, method, json!({ "bot_id": bid })).await?))
}

async fn get(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.get", &bid).await
}

async fn update(app: App, bid: Bid, body: web::Json<Value>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(call(&app, "bot.update", with_bot(body.into_inner(), &bid)).await?))
}

async fn delete(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.delete", &bid).await
}

async fn start(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.start", &bid).await
}

async fn stop(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.stop", &bid).await
}

async fn restart(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    by_id(&app, "bot.restart", &bid).await
}

/// `?lines=`.
#[derive(Debug, Deserialize)]
pub struct LinesQuery {
    /// How many of the newest lines.
    #[serde(default)]
    pub lines: Option<i64>,
}

async fn logs(app: App, bid: Bid, query: web::Query<LinesQuery>) -> Result<HttpResponse, WebError> {
    let mut params = json!({ "bot_id": bid.as_str() });
    if let Some(n) = query.lines {
        params["lines"] = json!(n);
    }
    Ok(HttpResponse::Ok().json(call(&app, "bot.logs", params).await?))
}

/// `GET /bots/{bid}/logs/stream`: every new log line of the bot, one event each (JSON string), as it is written.
async fn follow(app: App, bid: Bid) -> Result<HttpResponse, WebError> {
    let id = Uuid::parse_str(&bid).map_err(|_| AppError::BotNotFound(bid.to_string()))?;
    let rx = app.bots.send(FollowBotLogs(id)).await.map_err(AppError::from)??;
    Ok(super::logs::sse(rx, |line: &String| serde_json::to_string(line).ok()))
}
