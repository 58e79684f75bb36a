//! Application state shared by every transport, and the start-up sequence: open the database, seed, build the
//! LLM backend, start the registry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::Semaphore;

use crate::actors::conversation::{ConversationKey, ConversationSession};
use crate::actors::persona::PersonaActor;
use crate::actors::registry::{ConversationFor, PersonaActorFor, Registry};
use crate::actors::turn::TurnDeps;
use crate::config::Settings;
use crate::domain::persona::Persona;
use crate::domain::seeds;
use crate::error::AppError;
use crate::hooks::Hooks;
use crate::llm::{self, LlmBackend};
use crate::metrics::Metrics;
use crate::rpc::context::Connection;
use crate::rpc::router::Router;
use crate::storage::{personas, Db, StorageError};

/// The open connections, for broadcasts and counts.
#[derive(Default)]
pub struct Hub {
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
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

    /// Open connections.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// Everything a request may need.
pub struct AppState {
    /// Settings, loaded once.
    pub settings: Arc<Settings>,
    /// Database.
    pub db: Db,
    /// Chat model backend.
    pub llm: Arc<dyn LlmBackend>,
    /// Starts persona and conversation actors.
    pub registry: Addr<Registry>,
    /// Open connections.
    pub hub: Hub,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The method table.
    pub router: Arc<Router>,
    /// Connection slots (max connections).
    pub connection_slots: Arc<Semaphore>,
    /// Process start.
    pub started_at: Instant,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Seeds the default personas into an empty database.
pub fn seed_defaults(db: &Db) -> Result<(), StorageError> {
    let mut conn = db.conn()?;
    if personas::count(&mut conn)? > 0 {
        return Ok(());
    }
    for (persona, state) in seeds::defaults() {
        personas::insert(&mut conn, &persona, &state)?;
        tracing::info!(name = %persona.name, id = %persona.id, "seeded default persona");
    }
    Ok(())
}

impl AppState {
    /// Opens storage and starts the actors. Must run inside an actix `System`.
    pub fn build(settings: Settings, router: Router) -> Result<Arc<Self>, StartError> {
        std::fs::create_dir_all(&settings.storage.data_dir).map_err(|e| StorageError::Pool(e.to_string()))?;
        let db = Db::open(
            &settings.storage.database_file(),
            settings.storage.pool_size,
            settings.storage.busy_timeout_ms,
        )?;
        if settings.persona.seed_defaults {
            seed_defaults(&db)?;
        }
        let llm = llm::build(&settings.llm)?;
        let metrics = Arc::new(Metrics::new());
        let deps = TurnDeps {
            db: db.clone(),
            llm: llm.clone(),
            hooks: Hooks::default(),
            chat: settings.chat.clone(),
            metrics: metrics.clone(),
            temperature: settings.llm.temperature,
        };
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let registry = Registry::new(deps, settings.persona.clone(), threads).start();
        Ok(Arc::new(Self {
            connection_slots: Arc::new(Semaphore::new(settings.server.max_connections)),
            settings: Arc::new(settings),
            db,
            llm,
            registry,
            hub: Hub::default(),
            metrics,
            router: Arc::new(router),
            started_at: Instant::now(),
        }))
    }

    /// The persona named by an id or a name, or -32001.
    pub async fn resolve_persona(&self, id_or_name: &str) -> Result<Persona, AppError> {
        let key = id_or_name.to_string();
        self.db
            .run(move |c| personas::find(c, &key))
            .await?
            .ok_or_else(|| AppError::PersonaNotFound(id_or_name.to_string()))
    }

    /// The persona with this id, or -32001.
    pub async fn persona_by_id(&self, id: uuid::Uuid) -> Result<Persona, AppError> {
        self.db
            .run(move |c| personas::get(c, id))
            .await?
            .ok_or_else(|| AppError::PersonaNotFound(id.to_string()))
    }

    /// The persona's actor.
    pub async fn persona_actor(&self, persona: &Persona) -> Result<Addr<PersonaActor>, AppError> {
        Ok(self.registry.send(PersonaActorFor(persona.clone())).await?)
    }

    /// The chat conversation's actor.
    pub async fn conversation(
        &self,
        key: ConversationKey,
        persona: &Persona,
    ) -> Result<Addr<ConversationSession>, AppError> {
        Ok(self
            .registry
            .send(ConversationFor {
                key,
                persona: persona.clone(),
            })
            .await?)
    }
}
