//! `visual.*`: updates broadcast to subscribed clients (`visual.update`, `visual.subscribe`), and the visual
//! context of personas: `visual.update {type: "scene", data: {description, persona_id?}}` sets the scene a
//! persona (or every persona) sees, written into its next prompts until replaced; `visual.get` reads it. A scene
//! update without a `description` (what old clients send) is only broadcast.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::context::Ctx;
use super::framing::notification;
use super::results::live::VisualContext;
use super::router::{Params, Router};
use crate::domain::scene::Scene;
use crate::error::AppError;
use crate::ops::results::system::{Subscribed, VisualUpdated};
use crate::ops::scene;

/// The update type that sets a scene.
pub const SCENE: &str = "scene";

/// Registers the namespace.
pub fn register(r: &mut Router) {
    r.method(
        "visual.update",
        "Broadcast a visual update to subscribed clients; type \"scene\" with data {description, persona_id?} also sets the scene that persona (or every persona) sees in its next prompts",
        visual_update,
    );
    r.method(
        "visual.subscribe",
        "Receive (or stop receiving) visual.update broadcasts",
        visual_subscribe,
    );
    r.method(
        "visual.get",
        "The scene a persona sees now (persona_id), or the shared scene, and every stored scene",
        visual_get,
    );
}

/// `visual.update` params.
#[derive(Deserialize, JsonSchema)]
pub struct VisualUpdateParams {
    /// Kind of update; "scene" sets a scene (`data.description`, `data.persona_id?`).
    #[serde(default = "general", rename = "type")]
    pub update_type: String,
    /// Payload for the clients.
    #[serde(default)]
    pub data: Map<String, Value>,
}

impl Params for VisualUpdateParams {
    fn validate(&self) -> Result<(), AppError> {
        if self.update_type != SCENE {
            return Ok(());
        }
        match self.data.get("description") {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(_) => {
                return Err(AppError::invalid(
                    "data.description",
                    "data.description must be a string",
                ))
            }
        }
        match self.data.get("persona_id") {
            None | Some(Value::Null | Value::String(_)) => Ok(()),
            Some(_) => Err(AppError::invalid("data.persona_id", "data.persona_id must be a string")),
        }
    }
}

fn general() -> String {
    "general".into()
}

/// Stores the scene a `visual.update` of type "scene" describes (an empty description removes it).
async fn set_scene(ctx: &Ctx, data: &Map<String, Value>) -> Result<Scene, AppError> {
    let persona = data.get("persona_id").and_then(Value::as_str);
    let description = data.get("description").and_then(Value::as_str).unwrap_or("");
    scene::set(&ctx.app, persona, description).await
}

/// The params of a `visual.update` notification: the update as the sender gave it, when and from whom.
#[derive(Serialize)]
struct Broadcast<'a> {
    update_type: &'a str,
    data: &'a Map<String, Value>,
    timestamp: DateTime<Utc>,
    source_session: String,
}

async fn visual_update(ctx: Ctx, p: VisualUpdateParams) -> Result<VisualUpdated, AppError> {
    let scene = match p.update_type.as_str() {
        SCENE if p.data.get("description").is_some_and(Value::is_string) => Some(set_scene(&ctx, &p.data).await?),
        _ => None,
    };
    let timestamp = Utc::now();
    let update = Broadcast {
        update_type: &p.update_type,
        data: &p.data,
        timestamp,
        source_session: ctx.conn.session_id(),
    };
    let frame = notification("visual.update", update).to_string();
    let recipients = ctx.hub.broadcast(frame, |c| {
        c.id != ctx.conn.id && c.visual_subscribed.load(std::sync::atomic::Ordering::Relaxed)
    });
    Ok(VisualUpdated {
        visual_updated: true,
        update_type: p.update_type,
        timestamp,
        recipients,
        scene,
    })
}

/// `visual.subscribe` params.
#[derive(Deserialize, JsonSchema)]
pub struct SubscribeParams {
    /// False to unsubscribe.
    #[serde(default = "yes")]
    pub subscribe: bool,
}
impl Params for SubscribeParams {}

fn yes() -> bool {
    true
}

async fn visual_subscribe(ctx: Ctx, p: SubscribeParams) -> Result<Subscribed, AppError> {
    ctx.conn
        .visual_subscribed
        .store(p.subscribe, std::sync::atomic::Ordering::Relaxed);
    Ok(Subscribed {
        subscribed: p.subscribe,
    })
}

/// `visual.get` params.
#[derive(Deserialize, JsonSchema)]
pub struct GetParams {
    /// The persona (id or name); default: the shared scene.
    #[serde(default)]
    pub persona_id: Option<String>,
}
impl Params for GetParams {}

async fn visual_get(ctx: Ctx, p: GetParams) -> Result<VisualContext, AppError> {
    let scenes = ctx.app.store.scenes();
    let (persona_id, scene) = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(key) => {
            let persona = ctx.app.resolve_persona(key).await?;
            (Some(persona.id), scenes.seen_by(persona.id).await?)
        }
        None => (None, scenes.stored(None).await?),
    };
    Ok(VisualContext {
        persona_id,
        scene,
        scenes: scenes.list().await?,
    })
}
