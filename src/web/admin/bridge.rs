//! Runs a JSON-RPC method for an admin route: the admin API is one more transport over the one method table, so
//! every operation has one implementation, whichever surface calls it.

use std::sync::Arc;

use actix_web::web;
use serde_json::Value;
use uuid::Uuid;

use crate::rpc::context::{Connection, Frame, Outbox};
use crate::web::error::WebError;
use crate::web::Gateway;

/// The admin's connection sends no frames: it only calls methods that answer with one value.
struct NoFrames;

impl Outbox for NoFrames {
    fn send(&self, _frame: Frame) {}
}

/// The shared application state as the admin routes receive it.
pub type App = web::Data<Arc<Gateway>>;

/// Calls `method` with `params` on a fresh connection whose current persona is `reader` (the admin reads a
/// persona's memories as their owner).
pub async fn call_as(app: &App, reader: Option<Uuid>, method: &str, params: Value) -> Result<Value, WebError> {
    let conn = Arc::new(Connection::new(Arc::new(NoFrames)));
    conn.set_current_persona(reader);
    let ctx = app.ctx(conn);
    Ok(app.router.answer(ctx, method, params).await?)
}

/// Calls `method` with `params` on a fresh connection without a current persona.
pub async fn call(app: &App, method: &str, params: Value) -> Result<Value, WebError> {
    call_as(app, None, method, params).await
}
