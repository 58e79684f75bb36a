//! Storage: SQLite through diesel, a connection pool, embedded migrations, and one repo module per aggregate.
//! Every call runs on the blocking pool through [`Db::run`]; nothing here touches the actix event loop.

pub mod bots;
pub mod conversations;
pub mod dialogues;
pub mod emotions;
pub mod memories;
pub mod personas;
pub mod relationships;
pub mod schema;
pub mod states;
pub mod vectors;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Storage-layer failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No connection could be had from the pool.
    #[error("database pool: {0}")]
    Pool(String),
    /// A query failed.
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    /// Migrations failed to apply.
    #[error("database migration: {0}")]
    Migration(String),
    /// A row holds data that cannot be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A unique constraint was hit.
    #[error("{0}")]
    Conflict(String),
    /// The blocking task was cancelled or panicked.
    #[error("blocking task failed: {0}")]
    Task(String),
}

/// A pooled connection.
pub type Conn = PooledConnection<ConnectionManager<SqliteConnection>>;

/// Handle to the database: cheap to clone, shared by every actor.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    writer: std::sync::Arc<std::sync::Mutex<()>>,
}

#[derive(Debug)]
struct Pragmas {
    busy_timeout_ms: u32,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Db {
    /// Opens (creating if needed) the SQLite file and applies pending migrations.
    pub fn open(path: &Path, pool_size: u32, busy_timeout_ms: u32) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StorageError::Pool(format!("cannot create {}: {e}", dir.display())))?;
        }
        let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(Pragmas { busy_timeout_ms }))
            .build(manager)
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        let db = Self {
            pool,
            writer: Default::default(),
        };
        let mut conn = db.conn()?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| StorageError::Migration(e.to_string()))?;
        Ok(db)
    }

    /// A connection for synchronous use (start-up, CLI, tests). Async code uses [`Db::run`].
    pub fn conn(&self) -> Result<Conn, StorageError> {
        self.pool.get().map_err(|e| StorageError::Pool(e.to_string()))
    }

    /// Runs `f` with a connection on the blocking thread pool.
    pub async fn run<F, R>(&self, f: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<R, StorageError> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StorageError::Pool(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Runs a write with a connection on the blocking thread pool, one write at a time. SQLite allows one writer;
    /// queueing writers here instead of in SQLite's busy handler (which sleeps in growing steps) keeps write
    /// latency flat under load, while reads ([`Db::run`]) go on concurrently in WAL mode.
    pub async fn write<F, R>(&self, f: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<R, StorageError> + Send + 'static,
        R: Send + 'static,
    {
        let writer = self.writer.clone();
        self.run(move |conn| {
            let _turn = writer.lock().unwrap_or_else(|p| p.into_inner());
            f(conn)
        })
        .await
    }

    /// True when a trivial query succeeds.
    pub async fn ping(&self) -> bool {
        self.run(|c| c.batch_execute("SELECT 1").map_err(StorageError::from))
            .await
            .is_ok()
    }
}

/// Timestamps are stored as RFC 3339 text in UTC.
pub fn to_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a stored timestamp.
pub fn from_text(s: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt(format!("timestamp {s:?}: {e}")))
}

/// Reads a stored UUID.
pub fn parse_uuid(s: &str) -> Result<uuid::Uuid, StorageError> {
    uuid::Uuid::parse_str(s).map_err(|e| StorageError::Corrupt(format!("uuid {s:?}: {e}")))
}
