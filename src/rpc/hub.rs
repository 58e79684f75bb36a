//! The open connections of every transport, for broadcasts (`visual.update`), counts (`system.status`) and
//! shutdown. The transports own it (`web::Gateway`, the stdio loop) and hand it to each call's context.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::connection::Connection;

/// The open connections, for broadcasts and counts.
#[derive(Default)]
pub struct Hub {
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    going_away: CancellationToken,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection.
    pub fn add(&self, conn: Arc<Connection>) {
        self.lock().insert(conn.id, conn);
    }

    /// Forgets a connection.
    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// How many connections are open.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Tells every connection the server is shutting down: idle ones close at once (WebSocket close 1001).
    pub fn shut_down(&self) {
        self.going_away.cancel();
    }

    /// Cancelled when the server starts shutting down.
    pub fn going_away(&self) -> CancellationToken {
        self.going_away.clone()
    }

    /// How many connections `filter` accepts.
    pub fn count_where(&self, filter: impl Fn(&Connection) -> bool) -> usize {
        self.lock().values().filter(|c| filter(c)).count()
    }

    /// Sends a frame to every connection `filter` accepts; answers how many got it.
    pub fn broadcast(&self, frame: &str, filter: impl Fn(&Connection) -> bool) -> usize {
        let targets: Vec<Arc<Connection>> = self.lock().values().filter(|c| filter(c)).cloned().collect();
        for c in &targets {
            c.send(frame.to_string());
        }
        targets.len()
    }
}
