//! The core services shared by every protocol and transport, and the start-up sequence: open the database,
//! seed, build the LLM backend, start the registry.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use crate::actors::bot_supervisor::BotSupervisor;
use crate::actors::conversation::{ConversationKey, ConversationSession};
use crate::actors::decay::{DecayScheduler, StartDecay};
use crate::actors::persona::{self, GetSnapshot, PersonaActor, Snapshot};
use crate::actors::registry::{ConversationFor, PersonaActorFor, Registry, RunningPersona};
use crate::actors::turn::TurnDeps;
use crate::config::Settings;
use crate::domain::decay::DecayMode;
use crate::domain::persona::Persona;
use crate::domain::seeds;
use crate::embed::{self, EmbedError, Embedder, EmbedderOptions};
use crate::error::AppError;
use crate::hooks::Hooks;
use crate::live::LiveSettings;
use crate::llm::{self, LlmBackend};
use crate::memory::{MemoryHook, MemoryService};
use crate::metrics::Metrics;
use crate::presence::scene::SceneHook;
use crate::storage::{StorageError, Store};

/// The core services every protocol and transport uses (the transports' own state — connections, the method
/// table, connection slots, MCP sessions — is `web::Gateway`).
pub struct Core {
    /// The settings in force (live keys change while the server runs: `system.config_set`, SIGHUP).
    pub settings: LiveSettings,
    /// Database.
    pub store: Store,
    /// Chat model backend.
    pub llm: Arc<dyn LlmBackend>,
    /// Long-term memory.
    pub memory: Arc<MemoryService>,
    /// The memory decay scheduler.
    pub decay: Addr<DecayScheduler>,
    /// Starts persona and conversation actors.
    pub registry: Addr<Registry>,
    /// Runs the Matrix bots.
    pub bots: Addr<BotSupervisor>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Process start.
    pub started_at: Instant,
    /// Closed while `state.load` replaces the data.
    pub load_gate: crate::load_gate::LoadGate,
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
    /// The embedder could not be set up.
    #[error("embedder: {0}")]
    Embedder(#[from] EmbedError),
    /// The memory indexes disagree with the configured embedder.
    #[error("memory: {0}")]
    Memory(#[from] crate::memory::MemoryStartError),
    /// A prompt template in `<data_dir>/templates/` is broken.
    #[error("{0}")]
    Template(#[from] crate::domain::templates::TemplateError),
    /// The admin listener could not be set up (its token file).
    #[error("admin: {0}")]
    Admin(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({setting}): {source}")]
    Bind {
        /// The setting that names the port (`server.port`, `admin.port`).
        setting: &'static str,
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

impl StartError {
    /// The process exit code: 2 for configuration problems, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Embedder(_) | Self::Memory(_) | Self::Template(_) | Self::Bind { .. } => 2,
            _ => 1,
        }
    }
}

/// Seeds the default personas (and the acquaintance between Aria and Kira) into an empty database.
pub fn seed_defaults(store: &Store) -> Result<(), StorageError> {
    let seeded = seeds::defaults();
    let related: Vec<_> = match seeded.as_slice() {
        [(aria, _), (kira, _)] => vec![seeds::acquaintance(aria.id, kira.id)],
        _ => Vec::new(),
    };
    if store.seed_if_empty(&seeded, &related)? {
        for (persona, _) in &seeded {
            tracing::info!(name = %persona.name, id = %persona.id, "seeded default persona");
        }
    }
    Ok(())
}

/// The configured embedder; a missing MiniLM model is reported and memory falls back to keyword search.
/// `None` also for provider `none`.
pub fn build_embedder(settings: &Settings) -> Result<Option<Arc<dyn Embedder>>, StartError> {
    let e = &settings.embedder;
    let options = EmbedderOptions {
        provider: e.provider,
        model_dir: settings.model_dir(),
        precision: e.precision,
        url: e.url.clone().unwrap_or_else(|| settings.llm.url.clone()),
        model: e.model.clone(),
        api_key: e.api_key.clone().or_else(|| settings.llm.api_key.clone()),
        dimension: e.dimension,
        timeout: std::time::Duration::from_secs(e.timeout_secs),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(settings.llm.connect_timeout_secs))
        .build()?;
    match embed::build(&options, http) {
        Ok(embedder) => Ok(embedder),
        Err(err @ EmbedError::ModelMissing { .. }) => {
            tracing::error!(error = %err, "memory search falls back to keywords until the model is installed");
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// Embeds what the last run left unembedded, then saves changed indexes every 30 s.
fn spawn_memory_upkeep(memory: Arc<MemoryService>) {
    actix::spawn(async move {
        if let Err(e) = memory.embed_pending().await {
            tracing::warn!(error = %e, "queueing unembedded memories failed");
        }
        let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            every.tick().await;
            memory.save_indexes().await;
        }
    });
}

impl Core {
    /// Opens storage and starts the actors with the configured LLM backend. Must run inside an actix `System`.
    pub fn build(settings: Settings) -> Result<Arc<Self>, StartError> {
        Self::build_with(settings, None)
    }

    /// [`Core::build`], with a given chat model instead of the configured one (the scripted model of scenario
    /// tests).
    pub fn build_with(settings: Settings, model: Option<Arc<dyn LlmBackend>>) -> Result<Arc<Self>, StartError> {
        std::fs::create_dir_all(&settings.storage.data_dir).map_err(|e| StorageError::Pool(e.to_string()))?;
        let store = Store::connect(&settings.storage)?;
        if store.is_shared() {
            tracing::info!(instance = %store.instance(), "sharing the database with other instances");
        }
        if settings.persona.seed_defaults {
            seed_defaults(&store)?;
        }
        let templates = Arc::new(crate::templates::load(&settings.storage.data_dir)?);
        let live = LiveSettings::new(settings.clone());
        crate::live::signal::watch_sighup(live.clone());
        let metrics = Arc::new(Metrics::new());
        let llm = match model {
            Some(m) => m,
            None => llm::build(&live)?,
        };
        let llm = llm::fallback::Fallback::wrap(llm, &metrics);
        // One vector per message for memory recall and topic threading alike (the embedder's query cache).
        let embedder = build_embedder(&settings)?;
        let mut memory = MemoryService::open(
            store.clone(),
            embedder.clone(),
            &settings.storage.data_dir.join("vectors"),
            live.clone(),
        )?;
        memory.start_queue(settings.embedder.batch_size, &metrics);
        memory.start_sync(std::time::Duration::from_millis(500));
        let memory = Arc::new(memory);
        spawn_memory_upkeep(memory.clone());
        let mode = DecayMode::parse(&settings.memory.decay_mode).unwrap_or_default();
        let decay = DecayScheduler::new(
            memory.clone(),
            store.clone(),
            mode,
            settings.memory.decay_interval_minutes,
        )
        .start();
        if settings.memory.decay_enabled {
            decay.do_send(StartDecay {
                interval_minutes: None,
                mode: None,
            });
        }
        crate::actors::decay::follow_settings(decay.clone(), live.subscribe());
        let deps = TurnDeps {
            store: store.clone(),
            llm: llm.clone(),
            hooks: Hooks::new(vec![
                Arc::new(MemoryHook(memory.clone())),
                Arc::new(SceneHook(store.clone())),
            ]),
            settings: live.clone(),
            metrics: metrics.clone(),
            embedder,
            templates,
        };
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let registry = Registry::new(deps, memory.clone(), settings.persona.clone(), threads).start();
        let crypto_stores = settings.storage.data_dir.join("bots");
        let bots = BotSupervisor::new(store.clone(), settings.bots.clone(), crypto_stores, &metrics).start();
        Ok(Arc::new(Self {
            settings: live,
            store,
            llm,
            memory,
            decay,
            registry,
            bots,
            metrics,
            started_at: Instant::now(),
            load_gate: Default::default(),
        }))
    }

    /// The persona named by an id or a name, or -32001.
    pub async fn resolve_persona(&self, id_or_name: &str) -> Result<Persona, AppError> {
        self.store
            .personas()
            .find(id_or_name)
            .await?
            .ok_or_else(|| AppError::PersonaNotFound(id_or_name.to_string()))
    }

    /// The persona with this id, or -32001.
    pub async fn persona_by_id(&self, id: uuid::Uuid) -> Result<Persona, AppError> {
        self.store
            .personas()
            .get(id)
            .await?
            .ok_or_else(|| AppError::PersonaNotFound(id.to_string()))
    }

    /// The snapshot of the persona's actor if it is running (`None` when it is not, or has just stopped).
    pub async fn running_snapshot(&self, id: uuid::Uuid) -> Result<Option<Snapshot>, AppError> {
        Ok(match self.registry.send(RunningPersona(id)).await? {
            Some(actor) => actor.send(GetSnapshot).await.ok(),
            None => None,
        })
    }

    /// Asks the persona's actor (started if needed); -32001 when the persona is deleted meanwhile.
    pub async fn ask_persona<M>(&self, persona: &Persona, msg: M) -> Result<M::Result, AppError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        PersonaActor: Handler<M>,
    {
        let actor = self.registry.send(PersonaActorFor(persona.clone())).await?;
        persona::ask(&actor, persona.id, msg).await
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
