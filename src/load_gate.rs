//! The load gate: `state.load` replaces everything while no other method runs. A request that arrives during a
//! load waits and then runs against the loaded data, never against the data being replaced; a load waits up to
//! [`DRAIN`] for the requests already running (streamed chats included) to finish, and is refused (-32007,
//! nothing changed) when they do not.

use std::time::Duration;

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The requests already running did not finish within [`DRAIN`]: the gate stayed open, nothing was loaded.
#[derive(Debug, thiserror::Error)]
#[error("requests were still running after {} s; nothing was loaded, try again", DRAIN.as_secs())]
pub struct StillBusy;

/// How long a load waits for the requests already running.
pub const DRAIN: Duration = Duration::from_secs(30);

/// Methods that do not pass the gate: the load itself, which closes it.
const UNGATED: &[&str] = &["state.load"];

/// The gate; one per server.
#[derive(Default)]
pub struct LoadGate {
    lock: RwLock<()>,
}

impl LoadGate {
    /// Passes the gate to run `method`: waits while a load runs; until the guard is dropped no load starts.
    /// `None` for the methods that do not pass it.
    pub async fn enter(&self, method: &str) -> Option<RwLockReadGuard<'_, ()>> {
        if UNGATED.contains(&method) {
            return None;
        }
        Some(self.lock.read().await)
    }

    /// Closes the gate for a load once the running requests are done (at most [`DRAIN`]); requests arriving
    /// meanwhile wait behind it.
    pub async fn close(&self) -> Result<RwLockWriteGuard<'_, ()>, StillBusy> {
        tokio::time::timeout(DRAIN, self.lock.write())
            .await
            .map_err(|_| StillBusy)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_request_during_a_load_waits_for_it_and_a_load_waits_for_requests() {
        let gate = Arc::new(LoadGate::default());
        let running = gate.enter("memory.store").await;
        assert!(gate.enter("state.load").await.is_none());
        // A load waits for the running request.
        let loading = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _closed = gate.close().await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!loading.is_finished());
        drop(running);
        tokio::time::sleep(Duration::from_millis(10)).await;
        // The load runs now; a request that arrives waits until it is done.
        let after = Arc::new(AtomicBool::new(false));
        let waited = {
            let (gate, after) = (gate.clone(), after.clone());
            tokio::spawn(async move {
                let _open = gate.enter("memory.store").await;
                after.store(true, Ordering::SeqCst);
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!after.load(Ordering::SeqCst), "ran during the load");
        loading.await.unwrap();
        waited.await.unwrap();
        assert!(after.load(Ordering::SeqCst));
    }
}
