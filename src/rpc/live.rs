//! `state.subscribe` and the `state.changed` notifications it asks for: after a change to a persona (a chat
//! turn, an emotional update, a relationship update, a persona-to-persona conversation starting, taking a turn
//! or ending), every subscribed connection that wants that persona and that kind of change gets the persona's
//! state as it is now. Subscriptions live on the connection, so they end when it closes.

use std::collections::BTreeSet;

use chrono::Utc;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::context::Ctx;
use super::framing::notification;
pub use super::results::live::Detail;
use super::results::live::{LiveState, StateChanged, StateSubscribed};
use super::router::{Params, Router};
use crate::actors::persona::{now_secs, GetSnapshot};
use crate::app::Core;
use crate::error::AppError;
use crate::presence::events::{Change, Subscription};

/// The notification's method name.
pub const STATE_CHANGED: &str = "state.changed";

/// Registers the method.
pub fn register(r: &mut Router) {
    r.method(
        "state.subscribe",
        "Receive state.changed notifications when a persona's feelings, energy, availability, relationships or conversation change (persona_id and events narrow it; subscribe: false stops)",
        subscribe,
    );
}

/// `state.subscribe` params.
#[derive(Deserialize, JsonSchema)]
pub struct SubscribeParams {
    /// Only this persona (id or name); default: every persona.
    #[serde(default)]
    pub persona_id: Option<String>,
    /// Only these kinds of change: `emotional_state`, `energy`, `availability`, `relationship`,
    /// `conversation`, `turn_completed`; default: all.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// False to unsubscribe.
    #[serde(default = "yes")]
    pub subscribe: bool,
}

fn yes() -> bool {
    true
}

impl Params for SubscribeParams {
    fn validate(&self) -> Result<(), AppError> {
        for name in self.events.iter().flatten() {
            if Change::parse(name).is_none() {
                let known: Vec<&str> = Change::ALL.iter().map(|c| c.as_str()).collect();
                return Err(AppError::invalid(
                    "events",
                    format!("events must hold only {}, got {name:?}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

async fn subscribe(ctx: Ctx, p: SubscribeParams) -> Result<StateSubscribed, AppError> {
    if !p.subscribe {
        ctx.conn.set_state_subscription(None);
    } else {
        let persona = match p.persona_id.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(key) => Some(ctx.app.resolve_persona(key).await?.id),
            None => None,
        };
        let changes: BTreeSet<Change> = p.events.iter().flatten().filter_map(|n| Change::parse(n)).collect();
        ctx.conn.set_state_subscription(Some(Subscription { persona, changes }));
    }
    let subscription = p.subscribe.then(|| (p.persona_id.clone(), p.events.clone()));
    Ok(StateSubscribed {
        subscribed: p.subscribe,
        persona_id: subscription.as_ref().and_then(|s| s.0.clone()),
        events: subscription
            .and_then(|s| s.1)
            .unwrap_or_else(|| Change::ALL.iter().map(|c| c.as_str().to_string()).collect()),
        subscribers: ctx.hub.count_where(|c| c.state_subscribed()),
    })
}

/// A change to tell subscribers about.
pub struct Changed {
    /// The personas it concerns; each gets its own notification with its own state.
    pub personas: Vec<Uuid>,
    /// What changed.
    pub changes: Vec<Change>,
    /// What happened, for the notification's `detail` (a turn, a relationship, a conversation).
    pub detail: Detail,
}

/// Tells the subscribers of each persona about a change, off the caller's path (their states are read after it).
pub fn publish(ctx: &Ctx, changed: Changed) {
    let interested: Vec<Uuid> = changed
        .personas
        .iter()
        .copied()
        .filter(|p| ctx.hub.count_where(|c| c.wants_state(&[*p], &changed.changes)) > 0)
        .collect();
    if interested.is_empty() {
        return;
    }
    let (app, hub) = (ctx.app.clone(), ctx.hub.clone());
    tokio::spawn(async move {
        for persona in interested {
            match state_of(&app, persona).await {
                Ok((persona_name, state)) => {
                    let params = StateChanged {
                        persona_id: persona,
                        persona_name,
                        changes: changed.changes.iter().map(|c| c.as_str()).collect(),
                        state,
                        detail: &changed.detail,
                        timestamp: Utc::now(),
                    };
                    let frame = notification(STATE_CHANGED, params).to_string();
                    hub.broadcast(frame, |c| c.wants_state(&[persona], &changed.changes));
                }
                Err(e) => tracing::debug!(%persona, error = %e, "no state.changed: the persona's state is gone"),
            }
        }
    });
}

/// A persona's name and live state as a notification carries it.
async fn state_of(app: &Core, persona: Uuid) -> Result<(String, LiveState), AppError> {
    let card = app.persona_by_id(persona).await?;
    let snapshot = app.ask_persona(&card, GetSnapshot).await?;
    let now = now_secs();
    let current = app.store.dialogues().list(Some(persona), true).await?;
    let state = LiveState {
        social_energy: snapshot.state.social_energy,
        interaction_fatigue: snapshot.state.interaction_fatigue,
        available: snapshot.state.is_available(now),
        cooldown_remaining: snapshot.state.cooldown_remaining(now),
        current_conversation: current.last().map(|d| d.id),
        emotional_state: snapshot.emotions,
    };
    Ok((card.name, state))
}
