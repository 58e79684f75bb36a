//! The context each call gets: the core services, the open connections, the calling connection.

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

pub use super::connection::{Connection, Frame, Outbox};
use super::hub::Hub;
use crate::app::Core;
use crate::error::AppError;

/// What a handler gets: the core services, the open connections, the calling connection, and the id of the
/// request it answers.
#[derive(Clone)]
pub struct Ctx {
    /// The core services.
    pub app: Arc<Core>,
    /// Every open connection of the transports that serve this one (broadcasts, counts).
    pub hub: Arc<Hub>,
    /// The calling connection.
    pub conn: Arc<Connection>,
    /// The request's id (null for notifications); streaming methods answer under it.
    pub request_id: Value,
    /// When the frame carrying the request arrived.
    pub received: std::time::Instant,
}

impl Ctx {
    /// A context for a connection, before any request.
    pub fn new(app: Arc<Core>, hub: Arc<Hub>, conn: Arc<Connection>) -> Self {
        Self {
            app,
            hub,
            conn,
            request_id: Value::Null,
            received: std::time::Instant::now(),
        }
    }

    /// The same context for one request.
    pub fn for_request(&self, id: Value) -> Self {
        Self {
            request_id: id,
            ..self.clone()
        }
    }

    /// The current persona, or -32002 with the old server's wording.
    pub fn require_current(&self) -> Result<Uuid, AppError> {
        self.conn.current_persona().ok_or(AppError::NoPersonaSelected(
            "No persona selected. Use persona.switch first",
        ))
    }
}
