//! The open connections of every transport, for broadcasts (`visual.update`), counts (`system.status`) and
//! shutdown. The transports own it (`web::Gateway`, the stdio loop) and hand it to each call's context.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::connection::{Connection, Frame};

/// The open connections, for broadcasts and counts.
#[derive(Default)]
pub struct Hub {
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    going_away: CancellationToken,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        crate::locks::lock(&self.connections)
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

    /// Sends a frame to every connection `filter` accepts, all sharing its one buffer; answers how many got it.
    pub fn broadcast(&self, frame: impl Into<Frame>, filter: impl Fn(&Connection) -> bool) -> usize {
        let frame = frame.into();
        let targets: Vec<Arc<Connection>> = self.lock().values().filter(|c| filter(c)).cloned().collect();
        for c in &targets {
            c.send(frame.clone());
        }
        targets.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::rpc::connection::Outbox;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Frame>>);

    impl Outbox for Recorder {
        fn send(&self, frame: Frame) {
            self.0.lock().unwrap().push(frame);
        }
    }

    #[test]
    fn a_broadcast_shares_one_buffer_among_its_recipients() {
        let hub = Hub::default();
        let outboxes: Vec<Arc<Recorder>> = (0..3).map(|_| Arc::new(Recorder::default())).collect();
        let conns: Vec<Arc<Connection>> = outboxes.iter().map(|o| Arc::new(Connection::new(o.clone()))).collect();
        for c in &conns {
            hub.add(c.clone());
        }
        let frame = r#"{"jsonrpc":"2.0","method":"visual.update"}"#.to_string();
        let sent_from = frame.as_ptr();
        assert_eq!(hub.broadcast(frame, |c| c.id != conns[2].id), 2);
        let got: Vec<Frame> = outboxes.iter().flat_map(|o| o.0.lock().unwrap().clone()).collect();
        assert_eq!(got.len(), 2, "the filtered-out connection got nothing");
        for frame in &got {
            assert_eq!(&**frame, r#"{"jsonrpc":"2.0","method":"visual.update"}"#);
            assert_eq!(frame.as_ptr(), sent_from, "the serialised frame itself, not a copy");
        }
    }
}
