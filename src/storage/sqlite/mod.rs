//! The SQLite backend: diesel, a connection pool, embedded migrations, and one query module per aggregate.
//! Nothing here is visible outside `storage`: the repositories in `storage/` call these functions on the
//! blocking pool through [`Db::run`] (reads) and [`Db::write`] (writes, one at a time).

pub mod bots;
pub mod conversations;
pub mod dialogues;
pub mod emotions;
pub mod memories;
pub mod personas;
pub mod relationships;
pub mod schema;
pub mod snapshot;
pub mod states;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::StorageError;
use crate::domain::persona::{InteractionState, Persona};
use crate::domain::relationship::Relationship;

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Maps diesel's failures: a foreign key that no longer holds means the persona a write refers to was deleted
/// meanwhile (every foreign key leads to a persona, directly or through a cascade).
impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Self::PersonaGone(String::new()),
            other => Self::Query(other.to_string()),
        }
    }
}

/// A pooled connection.
pub type Conn = PooledConnection<ConnectionManager<SqliteConnection>>;

/// Handle to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    writer: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Settings of every pooled connection. The journal mode is not among them: it is a property of the file, set
/// once in [`Db::open`] before the pool opens (pooled connections setting it at once contend for the lock).
#[derive(Debug)]
struct Pragmas {
    busy_timeout_ms: u32,
}

impl Pragmas {
    fn apply(&self, conn: &mut SqliteConnection) -> Result<(), DieselError> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Db {
    /// Opens (creating if needed) the SQLite file, switches it to WAL and applies pending migrations on one
    /// connection, then opens the pool.
    pub fn open(path: &Path, pool_size: u32, busy_timeout_ms: u32) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StorageError::Pool(format!("cannot create {}: {e}", dir.display())))?;
        }
        let url = path.to_string_lossy();
        let pragmas = Pragmas { busy_timeout_ms };
        {
            let mut first =
                SqliteConnection::establish(&url).map_err(|e| StorageError::Pool(format!("cannot open {url}: {e}")))?;
            pragmas.apply(&mut first)?;
            first.batch_execute("PRAGMA journal_mode = WAL;")?;
            first
                .run_pending_migrations(MIGRATIONS)
                .map_err(|e| StorageError::Migration(e.to_string()))?;
        }
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(pragmas))
            .build(ConnectionManager::<SqliteConnection>::new(url))
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            writer: Default::default(),
        })
    }

    /// A connection for synchronous use (start-up and tests).
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

/// Stores the seed personas and relationships when no persona exists yet. True when it seeded.
pub fn seed_if_empty(
    conn: &mut SqliteConnection,
    seeded: &[(Persona, InteractionState)],
    related: &[Relationship],
) -> Result<bool, StorageError> {
    if personas::count(conn)? > 0 {
        return Ok(false);
    }
    for (persona, state) in seeded {
        personas::insert(conn, persona, state)?;
    }
    for r in related {
        relationships::insert_if_absent(conn, r)?;
    }
    Ok(true)
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
