//! Results of `state.subscribe` and `visual.get`.

use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::scene::Scene;

/// `state.subscribe`.
#[derive(Serialize, JsonSchema)]
pub struct StateSubscribed {
    /// Whether the connection now receives `state.changed` notifications.
    pub subscribed: bool,
    /// The persona it is narrowed to, as sent (none: every persona).
    pub persona_id: Option<String>,
    /// The kinds of change it receives.
    pub events: Vec<String>,
    /// Connections subscribed now, this one included.
    pub subscribers: usize,
}

/// `visual.get`.
#[derive(Serialize, JsonSchema)]
pub struct VisualContext {
    /// The persona asked about (none: the shared scene).
    pub persona_id: Option<Uuid>,
    /// The scene that goes into its prompts now (the newer of its own and the shared one), or the shared one.
    pub scene: Option<Scene>,
    /// Every stored scene, the shared one first.
    pub scenes: Vec<Scene>,
}
