//! Storage: the repositories the rest of the server uses, taking and returning domain types.
//!
//! [`Store`] is the one handle (cheap to clone); `store.personas()`, `store.memories()`, … reach one repository
//! per aggregate, whose async methods run on the blocking pool. The database itself is the private `sql`
//! module: diesel queries written once for both backends, SQLite (one file, the default) and PostgreSQL (shared
//! by several instances), with what differs (upserts, full-text search, PRAGMAs, the in-process writer lock,
//! change notifications) matched on the connection's backend. The vector index itself is [`vectors`].

mod analytics;
pub mod avatars;
mod bots;
mod conversations;
pub mod copy;
mod dialogues;
pub mod leases;
pub mod media;
mod memories;
mod personas;
mod relationships;
mod scenes;
pub mod snapshot;
mod snapshot_rows;
mod sql;
mod states;
mod threads;
pub mod vector_changes;
mod vector_log;
pub mod vectors;

use std::path::Path;

pub use analytics::Analytics;
pub use bots::Bots;
pub use conversations::{Conversations, LoadedConversation, LIVE_THREADS};
pub use dialogues::Dialogues;
pub use leases::Leases;
pub use memories::{Memories, SearchRows};
pub use personas::Personas;
pub use relationships::Relationships;
pub use scenes::Scenes;
pub use snapshot::Snapshots;
pub use sql::notify::{Notice, Topic};
pub use states::{LoadedStates, States, StoredStates};
pub use threads::Threads;
pub use vector_changes::VectorChanges;

use crate::config::StorageSettings;
use crate::domain::persona::{InteractionState, Persona};
use crate::domain::relationship::Relationship;

/// Storage-layer failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No connection could be had from the pool, or the database file cannot be opened.
    #[error("database pool: {0}")]
    Pool(String),
    /// A query failed.
    #[error("database query: {0}")]
    Query(String),
    /// Migrations failed to apply.
    #[error("database migration: {0}")]
    Migration(String),
    /// A row holds data that cannot be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A unique constraint was hit.
    #[error("{0}")]
    Conflict(String),
    /// The persona a write refers to was deleted meanwhile (its id, when the repository knows it).
    #[error("persona {0} was deleted")]
    PersonaGone(String),
    /// The blocking task was cancelled or panicked.
    #[error("blocking task failed: {0}")]
    Task(String),
}

impl StorageError {
    /// Names the persona of a [`StorageError::PersonaGone`] that does not name one yet.
    fn about(self, persona: impl std::fmt::Display) -> Self {
        match self {
            Self::PersonaGone(id) if id.is_empty() => Self::PersonaGone(persona.to_string()),
            other => other,
        }
    }
}

/// Handle to storage: cheap to clone, shared by every actor and service.
#[derive(Clone)]
pub struct Store {
    db: sql::Db,
}

impl Store {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path, pool_size: u32, busy_timeout_ms: u32) -> Result<Self, StorageError> {
        Ok(Self {
            db: sql::Db::open_sqlite(path, pool_size, busy_timeout_ms)?,
        })
    }

    /// Opens the database `settings` name: PostgreSQL when `database_url` is a `postgres://` URL, the SQLite
    /// file otherwise; pending migrations are applied either way.
    pub fn connect(settings: &StorageSettings) -> Result<Self, StorageError> {
        let db = match settings.database_url.as_deref() {
            Some(url) if sql::Backend::of_url(url) == sql::Backend::Postgres => {
                sql::Db::open_postgres(url, settings.pool_size, settings.pool_timeout_secs)?
            }
            Some(path) => sql::Db::open_sqlite(
                Path::new(path.trim_start_matches("sqlite:")),
                settings.pool_size,
                settings.busy_timeout_ms,
            )?,
            None => sql::Db::open_sqlite(&settings.database_file(), settings.pool_size, settings.busy_timeout_ms)?,
        };
        Ok(Self { db })
    }

    /// True when this store is a PostgreSQL database (shared with other instances).
    pub fn is_shared(&self) -> bool {
        self.db.backend() == sql::Backend::Postgres
    }

    /// What other instances sharing the database announce as they commit it (PostgreSQL); `None` on SQLite,
    /// where this process is the only one that serves clients.
    pub fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<Notice>> {
        self.db.subscribe()
    }

    /// This process, as the origin of the changes it announces and the holder of the leases it takes.
    pub fn instance(&self) -> uuid::Uuid {
        self.db.instance()
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.db.ping().await
    }

    /// Persona cards.
    pub fn personas(&self) -> Personas<'_> {
        Personas::new(&self.db)
    }

    /// Leases of instances sharing the database.
    pub fn leases(&self) -> Leases<'_> {
        Leases::new(&self.db)
    }

    /// Interaction and emotional states of personas.
    pub fn states(&self) -> States<'_> {
        States::new(&self.db)
    }

    /// Chat conversations and their messages.
    pub fn conversations(&self) -> Conversations<'_> {
        Conversations::new(&self.db)
    }

    /// Topic threads of chat conversations.
    pub fn threads(&self) -> Threads<'_> {
        Threads::new(&self.db)
    }

    /// What conversation analytics are computed from.
    pub fn analytics(&self) -> Analytics<'_> {
        Analytics::new(&self.db)
    }

    /// Persona-to-persona conversations.
    pub fn dialogues(&self) -> Dialogues<'_> {
        Dialogues::new(&self.db)
    }

    /// Relationships between personas.
    pub fn relationships(&self) -> Relationships<'_> {
        Relationships::new(&self.db)
    }

    /// Memories, their embeddings and pruning runs.
    pub fn memories(&self) -> Memories<'_> {
        Memories::new(&self.db)
    }

    /// Scenes personas see (visual context).
    pub fn scenes(&self) -> Scenes<'_> {
        Scenes::new(&self.db)
    }

    /// Matrix bots of personas.
    pub fn bots(&self) -> Bots<'_> {
        Bots::new(&self.db)
    }

    /// The log of vector changes (for processes sharing the database).
    pub fn vector_changes(&self) -> VectorChanges<'_> {
        VectorChanges::new(&self.db)
    }

    /// Whole-database export and import (state files).
    pub fn snapshots(&self) -> Snapshots<'_> {
        Snapshots::new(&self.db)
    }

    /// Stores the seed personas with their states and relationships, in one transaction, when no persona exists
    /// yet. Runs on the calling thread (start-up). True when it seeded.
    pub fn seed_if_empty(
        &self,
        personas: &[(Persona, InteractionState)],
        relationships: &[Relationship],
    ) -> Result<bool, StorageError> {
        let mut conn = self.db.conn()?;
        sql::seed_if_empty(&mut conn, personas, relationships)
    }
}
