//! Change notifications between instances sharing one PostgreSQL database: a write that other instances must
//! learn of (fresh vectors) sends `NOTIFY` in its transaction, so it is delivered only once committed; each
//! instance listens on one connection of its own and hands what other instances sent to its subscriber.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{AnyConn, StorageError};

/// The channel fresh vectors are announced on.
pub const VECTORS: &str = "persona_mcp_vectors";
/// Keys per notification (a payload must stay under PostgreSQL's 8000 bytes).
const KEYS_PER_NOTIFY: usize = 400;
/// How often the listener looks for notifications.
const POLL: Duration = Duration::from_millis(50);

/// Announces, inside the caller's transaction, that these memories got vectors (`origin` is the announcing
/// instance, which ignores its own news). Does nothing on SQLite, which has one instance.
pub fn vectors_stored(conn: &mut AnyConn, origin: Uuid, keys: &[i64]) -> Result<(), StorageError> {
    let AnyConn::Pg(pg) = conn else { return Ok(()) };
    for chunk in keys.chunks(KEYS_PER_NOTIFY) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(VECTORS)
            .bind::<Text, _>(format!("{origin} {}", list.join(",")))
            .execute(pg)?;
    }
    Ok(())
}

/// Reads one announcement: the keys, unless `me` sent it (or it is malformed).
fn parse(payload: &str, me: Uuid) -> Option<Vec<i64>> {
    let (origin, keys) = payload.split_once(' ')?;
    if Uuid::parse_str(origin).ok()? == me {
        return None;
    }
    keys.split(',').map(|k| k.parse().ok()).collect()
}

/// Listens on `url` for vectors other instances stored and sends their keys to the returned receiver, from a
/// thread of its own that reconnects after a failure; stops when the receiver is dropped.
pub fn listen_vectors(url: String, me: Uuid) -> mpsc::UnboundedReceiver<Vec<i64>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("pg-listen".into())
        .spawn(move || {
            while !tx.is_closed() {
                if let Err(e) = listen(&url, me, &tx) {
                    tracing::warn!(error = %e, "listening for other instances' vectors failed; reconnecting");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .ok();
    rx
}

fn listen(url: &str, me: Uuid, tx: &mpsc::UnboundedSender<Vec<i64>>) -> Result<(), StorageError> {
    let mut conn =
        PgConnection::establish(url).map_err(|e| StorageError::Pool(format!("cannot connect to PostgreSQL: {e}")))?;
    conn.batch_execute(&format!("LISTEN {VECTORS}"))?;
    while !tx.is_closed() {
        let mut keys = Vec::new();
        for n in conn.notifications_iter() {
            keys.extend(parse(&n?.payload, me).unwrap_or_default());
        }
        if !keys.is_empty() && tx.send(keys).is_err() {
            break;
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_of_others_are_read_and_own_ones_ignored() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(parse(&format!("{other} 1,2,30"), me), Some(vec![1, 2, 30]));
        assert_eq!(parse(&format!("{me} 1,2"), me), None);
        assert_eq!(parse("garbage", me), None);
        assert_eq!(parse(&format!("{other} 1,x"), me), None);
    }
}
