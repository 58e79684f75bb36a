//! The `leases` table: which instance sharing a PostgreSQL database holds which lease, until when (seconds since
//! the epoch by the database server's clock, so instances' clocks need not agree).

use diesel::prelude::*;
use diesel::sql_types::{Array, Double, Text};
use uuid::Uuid;

use super::{AnyConn, StorageError};

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Takes or renews, for `ttl_secs` from now, each lease of `names` that `holder` holds or that has expired (or
/// was never taken), in one statement; answers the names `holder` holds afterwards. On SQLite, where one
/// instance serves everything, it holds every lease.
pub fn hold(conn: &mut AnyConn, names: &[String], holder: Uuid, ttl_secs: f64) -> Result<Vec<String>, StorageError> {
    let AnyConn::Pg(pg) = conn else {
        return Ok(names.to_vec());
    };
    let held: Vec<Held> = diesel::sql_query(
        "INSERT INTO leases (name, holder, expires_at) \
         SELECT n, $2, EXTRACT(EPOCH FROM clock_timestamp())::float8 + $3 FROM unnest($1::text[]) AS n \
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
         WHERE leases.holder = EXCLUDED.holder \
            OR leases.expires_at < EXTRACT(EPOCH FROM clock_timestamp())::float8 \
         RETURNING name",
    )
    .bind::<Array<Text>, _>(names)
    .bind::<Text, _>(holder.to_string())
    .bind::<Double, _>(ttl_secs)
    .load(pg)?;
    Ok(held.into_iter().map(|h| h.name).collect())
}

/// Gives up the leases `holder` holds (a clean shutdown: the others need not wait for them to expire).
pub fn release(conn: &mut AnyConn, holder: Uuid) -> Result<(), StorageError> {
    if let AnyConn::Pg(pg) = conn {
        diesel::sql_query("DELETE FROM leases WHERE holder = $1")
            .bind::<Text, _>(holder.to_string())
            .execute(pg)?;
    }
    Ok(())
}
