//! Change notifications between instances sharing one PostgreSQL database: a write that other instances must
//! learn of sends `NOTIFY` in its transaction, so it is delivered only once committed; each instance listens on
//! one connection of its own (a thread, started by the first subscriber) and hands what other instances sent to
//! its subscribers. Nothing of this runs on SQLite, which has one instance.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{AnyConn, StorageError};

/// The channel every announcement goes on.
pub const CHANNEL: &str = "persona_mcp_changes";
/// How often the listener looks for notifications.
const POLL: Duration = Duration::from_millis(20);
/// Announcements a slow subscriber may fall behind by before it is told it lagged.
const BACKLOG: usize = 4096;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Memories got, lost or changed vectors (the `vector_changes` log has the details).
    Vectors,
    /// A persona's interaction or emotional state (the subject is the persona).
    State,
    /// A chat conversation got messages (the subject is the conversation).
    Conversation,
}

impl Topic {
    fn as_str(self) -> &'static str {
        match self {
            Self::Vectors => "vectors",
            Self::State => "state",
            Self::Conversation => "conversation",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "vectors" => Self::Vectors,
            "state" => Self::State,
            "conversation" => Self::Conversation,
            _ => return None,
        })
    }
}

/// One announcement another instance made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// What changed.
    pub topic: Topic,
    /// Which one (nil for [`Topic::Vectors`]).
    pub subject: Uuid,
}

/// Announces, inside the caller's transaction, that `subject` of `topic` changed (`origin` is the announcing
/// instance, which ignores its own news). Does nothing on SQLite.
pub fn announce(conn: &mut AnyConn, origin: Uuid, topic: Topic, subject: Uuid) -> Result<(), StorageError> {
    let AnyConn::Pg(pg) = conn else { return Ok(()) };
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<Text, _>(CHANNEL)
        .bind::<Text, _>(format!("{} {origin} {subject}", topic.as_str()))
        .execute(pg)?;
    Ok(())
}

/// Reads one announcement, unless `me` sent it (or it is malformed).
fn parse(payload: &str, me: Uuid) -> Option<Notice> {
    let mut parts = payload.split(' ');
    let topic = Topic::parse(parts.next()?)?;
    let origin = Uuid::parse_str(parts.next()?).ok()?;
    let subject = Uuid::parse_str(parts.next()?).ok()?;
    (origin != me && parts.next().is_none()).then_some(Notice { topic, subject })
}

/// Listens on `url` for what other instances announce and sends it to the subscribers of the returned sender,
/// from a thread of its own that reconnects after a failure; the thread ends once no subscriber is left.
pub fn listen(url: String, me: Uuid) -> (broadcast::Sender<Notice>, broadcast::Receiver<Notice>) {
    let (tx, rx) = broadcast::channel(BACKLOG);
    let sender = tx.clone();
    std::thread::Builder::new()
        .name("pg-listen".into())
        .spawn(move || {
            while tx.receiver_count() > 0 {
                if let Err(e) = listen_on(&url, me, &tx) {
                    tracing::warn!(error = %e, "listening for other instances' changes failed; reconnecting");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .ok();
    (sender, rx)
}

fn listen_on(url: &str, me: Uuid, tx: &broadcast::Sender<Notice>) -> Result<(), StorageError> {
    let mut conn =
        PgConnection::establish(url).map_err(|e| StorageError::Pool(format!("cannot connect to PostgreSQL: {e}")))?;
    conn.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    while tx.receiver_count() > 0 {
        for n in conn.notifications_iter() {
            if let Some(notice) = parse(&n?.payload, me) {
                // No subscriber right now is not an error: the loop ends when none is left.
                let _ = tx.send(notice);
            }
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
        let (me, other, persona) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            parse(&format!("state {other} {persona}"), me),
            Some(Notice {
                topic: Topic::State,
                subject: persona
            })
        );
        assert_eq!(
            parse(&format!("vectors {other} {}", Uuid::nil()), me).map(|n| n.topic),
            Some(Topic::Vectors)
        );
        assert_eq!(parse(&format!("state {me} {persona}"), me), None);
        assert_eq!(parse("garbage", me), None);
        assert_eq!(parse(&format!("weather {other} {persona}"), me), None);
        assert_eq!(parse(&format!("state {other} {persona} extra"), me), None);
    }
}
