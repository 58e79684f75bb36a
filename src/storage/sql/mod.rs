//! The SQL store of both backends, SQLite and PostgreSQL: diesel, a connection pool, embedded migrations, and one
//! query module per aggregate.
//! Nothing here is visible outside `storage`: the repositories in `storage/` call these functions on the
//! blocking pool through [`Db::run`] (reads) and [`Db::write`] (writes, one at a time).

pub mod analytics;
pub mod bots;
pub mod conversations;
pub mod dialogues;
pub mod emotions;
pub mod keywords;
pub mod leases;
pub mod memories;
mod messages;
pub mod notify;
pub mod personas;
pub mod relationships;
pub mod scenes;
pub mod schema;
pub mod snapshot;
pub mod states;
pub mod threads;
pub mod vector_changes;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::StorageError;
use crate::domain::persona::{InteractionState, Persona};
use crate::domain::relationship::Relationship;

/// The SQLite migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// Their PostgreSQL twins in `migrations-postgres/` (same names, same tables).
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations-postgres");

/// Maps diesel's failures: a foreign key that no longer holds means the persona a write refers to was deleted
/// meanwhile (every foreign key leads to a persona, directly or through a cascade).
impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Self::PersonaGone(String::new()),
            // The connection died under the query (PostgreSQL gone or cut off): the database is unavailable.
            DieselError::DatabaseError(
                kind @ (DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand),
                info,
            ) => Self::Pool(format!("{kind:?}: {}", info.message())),
            other => Self::Query(other.to_string()),
        }
    }
}

/// A connection to either backend: queries written with diesel's DSL run on both; what differs (upserts,
/// full-text search, transactions) matches on the variant (see [`on_backend`]).
#[derive(diesel::MultiConnection)]
pub enum AnyConn {
    /// The embedded default: one SQLite file.
    Sqlite(SqliteConnection),
    /// A PostgreSQL server shared by several instances.
    Pg(PgConnection),
}

/// Runs the same diesel expression on the concrete connection of either backend, for queries diesel's
/// multi-backend connection cannot express (upserts): `on_backend!(conn, |c| query.execute(c))`.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::storage::sql::AnyConn::Sqlite($c) => $body,
            $crate::storage::sql::AnyConn::Pg($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `postgres://` or `postgresql://` is PostgreSQL, anything else a
    /// SQLite file.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// Opens pooled connections of one backend; SQLite connections get their PRAGMAs on opening.
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
    busy_timeout_ms: u32,
}

impl Manager {
    fn open(&self) -> Result<AnyConn, StorageError> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)
                    .map_err(|e| StorageError::Pool(format!("cannot open {}: {e}", self.url)))?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;",
                    self.busy_timeout_ms
                ))?;
                Ok(AnyConn::Sqlite(conn))
            }
            // The URL may hold a password: the error names the server's answer, not the URL.
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(AnyConn::Pg)
                .map_err(|e| StorageError::Pool(format!("cannot connect to PostgreSQL: {e}"))),
        }
    }
}

impl ManageConnection for Manager {
    type Connection = AnyConn;
    type Error = StorageError;

    fn connect(&self) -> Result<AnyConn, StorageError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut AnyConn) -> Result<(), StorageError> {
        conn.ping().map_err(StorageError::from)
    }

    fn has_broken(&self, conn: &mut AnyConn) -> bool {
        conn.is_broken()
    }
}

/// A pooled connection.
pub type Conn = PooledConnection<Manager>;

/// Handle to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    writer: std::sync::Arc<std::sync::Mutex<()>>,
    backend: Backend,
    /// This process, as the origin of the change notifications it sends.
    instance: uuid::Uuid,
    /// The PostgreSQL server's URL, for the notification listener's own connection.
    pg_url: Option<String>,
    /// The running notification listener's sender (PostgreSQL).
    notices: std::sync::Arc<std::sync::Mutex<Option<tokio::sync::broadcast::Sender<notify::Notice>>>>,
}

impl Db {
    /// Opens (creating if needed) the SQLite file, switches it to WAL and applies pending migrations on one
    /// connection, then opens the pool.
    pub fn open_sqlite(path: &Path, pool_size: u32, busy_timeout_ms: u32) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StorageError::Pool(format!("cannot create {}: {e}", dir.display())))?;
        }
        // A local file does not go away: a long wait for a connection means a busy pool, not an outage.
        Self::connect(
            &path.to_string_lossy(),
            Backend::Sqlite,
            pool_size,
            busy_timeout_ms,
            Duration::from_secs(30),
        )
    }

    /// Connects to a PostgreSQL server and applies its pending migrations, then opens the pool; a request waits
    /// at most `pool_timeout_secs` for a connection (the server may go away).
    pub fn open_postgres(url: &str, pool_size: u32, pool_timeout_secs: u64) -> Result<Self, StorageError> {
        Self::connect(
            url,
            Backend::Postgres,
            pool_size,
            0,
            Duration::from_secs(pool_timeout_secs),
        )
    }

    fn connect(
        url: &str,
        backend: Backend,
        pool_size: u32,
        busy_timeout_ms: u32,
        pool_timeout: Duration,
    ) -> Result<Self, StorageError> {
        let manager = Manager {
            url: url.to_string(),
            backend,
            busy_timeout_ms,
        };
        {
            let mut first = manager.open()?;
            let applied = match &mut first {
                AnyConn::Sqlite(c) => {
                    // A property of the file, set once before the pool opens (pooled connections setting it
                    // at once contend for the lock).
                    c.batch_execute("PRAGMA journal_mode = WAL;")?;
                    c.run_pending_migrations(MIGRATIONS).map(drop)
                }
                // Instances starting together apply the migrations one at a time (the lock goes with the
                // connection).
                AnyConn::Pg(c) => {
                    c.batch_execute("SELECT pg_advisory_lock(7231001)")?;
                    c.run_pending_migrations(PG_MIGRATIONS).map(drop)
                }
            };
            applied.map_err(|e| StorageError::Migration(e.to_string()))?;
        }
        // A PostgreSQL server's connections are shared by every instance: open them as needed, close idle ones.
        let min_idle = (backend == Backend::Postgres).then_some(1);
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(min_idle)
            .idle_timeout(Some(Duration::from_secs(60)))
            .connection_timeout(pool_timeout)
            .build(manager)
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            writer: Default::default(),
            backend,
            instance: uuid::Uuid::new_v4(),
            pg_url: (backend == Backend::Postgres).then(|| url.to_string()),
            notices: Default::default(),
        })
    }

    /// The backend this handle talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This process, as the origin of the change notifications it sends.
    pub fn instance(&self) -> uuid::Uuid {
        self.instance
    }

    /// On PostgreSQL, what other instances announce as they commit it (the listener starts with the first
    /// subscriber and stops when none is left); `None` on SQLite.
    pub fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<notify::Notice>> {
        let url = self.pg_url.clone()?;
        let mut running = crate::locks::lock(&self.notices);
        if let Some(tx) = running.as_ref().filter(|tx| tx.receiver_count() > 0) {
            return Some(tx.subscribe());
        }
        let (tx, rx) = notify::listen(url, self.instance);
        *running = Some(tx);
        Some(rx)
    }

    /// A connection for synchronous use (start-up and tests).
    pub fn conn(&self) -> Result<Conn, StorageError> {
        self.pool.get().map_err(|e| StorageError::Pool(e.to_string()))
    }

    /// Runs `f` with a connection on the blocking thread pool.
    pub async fn run<F, R>(&self, f: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut AnyConn) -> Result<R, StorageError> + Send + 'static,
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

    /// Runs a write with a connection on the blocking thread pool, one write of this process at a time. SQLite
    /// allows one writer; queueing writers here instead of in SQLite's busy handler (which sleeps in growing
    /// steps) keeps write latency flat under load, while reads ([`Db::run`]) go on concurrently in WAL mode.
    /// PostgreSQL takes writes of many processes at once: there [`write_tx`] serialises the transactions that
    /// read before they write.
    pub async fn write<F, R>(&self, f: F) -> Result<R, StorageError>
    where
        F: FnOnce(&mut AnyConn) -> Result<R, StorageError> + Send + 'static,
        R: Send + 'static,
    {
        let writer = (self.backend == Backend::Sqlite).then(|| self.writer.clone());
        self.run(move |conn| {
            let _turn = writer.as_ref().map(|w| crate::locks::lock(w));
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

/// The advisory lock every read-then-write transaction on PostgreSQL holds: the same one-writer-at-a-time
/// guarantee SQLite's `BEGIN IMMEDIATE` gives, across every instance on the server.
const PG_WRITE_LOCK: i64 = 7_231_002;

/// Runs `f` in a write transaction: on SQLite `BEGIN IMMEDIATE` (the write lock from the start, so a read
/// inside is never overtaken by another writer); on PostgreSQL a transaction holding [`PG_WRITE_LOCK`].
/// Rolled back when `f` fails.
pub fn write_tx<T>(
    conn: &mut AnyConn,
    f: impl FnOnce(&mut AnyConn) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    match conn {
        AnyConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        AnyConn::Pg(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?;
            if let Err(e) = c.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")) {
                let _ = AnyConn::rollback_transaction(conn);
                return Err(e.into());
            }
        }
    }
    match f(conn) {
        Ok(value) => match AnyConn::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = AnyConn::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = AnyConn::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// A raw SQL query written with `?` placeholders, numbered (`$1`, `$2`, …) for PostgreSQL.
pub fn sql_query(conn: &AnyConn, sql: &str) -> diesel::query_builder::SqlQuery {
    match conn {
        AnyConn::Sqlite(_) => diesel::sql_query(sql),
        AnyConn::Pg(_) => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            diesel::sql_query(out)
        }
    }
}

/// Stores the seed personas and relationships when no persona exists yet. True when it seeded.
pub fn seed_if_empty(
    conn: &mut AnyConn,
    seeded: &[(Persona, InteractionState)],
    related: &[Relationship],
) -> Result<bool, StorageError> {
    if personas::count(conn)? > 0 {
        return Ok(false);
    }
    for (i, (persona, state)) in seeded.iter().enumerate() {
        match personas::insert(conn, persona, state) {
            // Another instance seeds this database at the same moment (instances started together on a new
            // database): the first persona is the one both insert first, and the one that stored it seeds the rest.
            Err(StorageError::Conflict(_)) if i == 0 => return Ok(false),
            inserted => inserted?,
        }
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
