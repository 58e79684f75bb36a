//! The admin's changes as `state.changed` notifications: the admin API has no connection of its own, so a silent
//! one carries its announcements to the subscribed connections.

use std::sync::Arc;

use uuid::Uuid;

use super::App;
use crate::ops::results::relationship::RelationshipUpdated;
use crate::rpc::context::{Connection, Ctx, Frame, Outbox};

/// The admin's connection sends no frames.
struct NoFrames;

impl Outbox for NoFrames {
    fn send(&self, _frame: Frame) {}
}

/// A context on a fresh connection that sends nothing and has no current persona.
fn silent_ctx(app: &App) -> Ctx {
    app.ctx(Arc::new(Connection::new(Arc::new(NoFrames))))
}

/// Tells the subscribers that the admin set a persona's emotional state.
pub fn announce_emotions(app: &App, persona: Uuid) {
    crate::rpc::emotional::announce(&silent_ctx(app), persona);
}

/// Tells the subscribers of both personas that the admin applied an interaction to their relationship.
pub fn announce_relationship(app: &App, updated: &RelationshipUpdated) {
    crate::rpc::relationship::announce(&silent_ctx(app), updated);
}
