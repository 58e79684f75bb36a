//! Leases of instances sharing a PostgreSQL database (one instance at a time does a persona's background state
//! changes, one runs the memory decay cycles, one the Matrix bots); reached through [`super::Store::leases`]. A lease is renewed by
//! its holder while it lives and taken over by another instance once it has expired.

use std::collections::HashSet;

use uuid::Uuid;

use super::sql::{leases, Db};
use super::StorageError;

/// The lease of the instance that regenerates a persona's energy and time.
pub fn persona_lease(persona: Uuid) -> String {
    format!("persona:{persona}")
}

/// The lease of the instance that runs the memory decay cycles.
pub const DECAY_LEASE: &str = "decay";

/// The lease of the instance that runs the Matrix bots' processes.
pub const BOTS_LEASE: &str = "bots";

/// The leases; reached through [`super::Store::leases`].
pub struct Leases<'a> {
    db: &'a Db,
}

impl<'a> Leases<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Takes or renews for `ttl_secs` each of `names` that this instance holds or that is free or expired;
    /// answers the ones it holds now (all of them on SQLite).
    pub async fn hold(&self, names: Vec<String>, ttl_secs: f64) -> Result<HashSet<String>, StorageError> {
        let me = self.db.instance();
        let held = self.db.run(move |c| leases::hold(c, &names, me, ttl_secs)).await?;
        Ok(held.into_iter().collect())
    }

    /// Gives up every lease this instance holds.
    pub async fn release(&self) -> Result<(), StorageError> {
        let me = self.db.instance();
        self.db.run(move |c| leases::release(c, me)).await
    }
}
