//! Emotional-state repo: one row per persona. Writes carry the persona actor's version so that a late write
//! never overwrites a newer one (the actor persists off its own thread).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
// `filter` on an upsert (its WHERE clause) comes from this trait, not from `QueryDsl`.
use super::{on_backend, AnyConn};
use diesel::query_dsl::methods::FilterDsl as _;
use diesel::upsert::excluded;
use uuid::Uuid;

use super::schema::emotional_states as es;
use super::{from_text, to_text, StorageError};
use crate::domain::emotion::EmotionalState;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = es, primary_key(persona_id))]
struct EmotionRow {
    persona_id: String,
    mood: f64,
    energy_level: f64,
    stress_level: f64,
    curiosity: f64,
    social_battery: f64,
    last_updated: String,
    version: i64,
}

/// The stored state and its version.
pub fn load(conn: &mut AnyConn, persona: Uuid) -> Result<Option<(EmotionalState, i64)>, StorageError> {
    let row = es::table
        .find(persona.to_string())
        .select(EmotionRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| {
        let state = EmotionalState {
            mood: r.mood,
            energy_level: r.energy_level,
            stress_level: r.stress_level,
            curiosity: r.curiosity,
            social_battery: r.social_battery,
            last_updated: from_text(&r.last_updated)?,
        };
        Ok((state, r.version))
    })
    .transpose()
}

/// Writes the state if `version` is newer than the stored one (or there is none), in one statement.
pub fn save(conn: &mut AnyConn, persona: Uuid, s: &EmotionalState, version: i64) -> Result<(), StorageError> {
    let row = EmotionRow {
        persona_id: persona.to_string(),
        mood: s.mood,
        energy_level: s.energy_level,
        stress_level: s.stress_level,
        curiosity: s.curiosity,
        social_battery: s.social_battery,
        last_updated: to_text(s.last_updated),
        version,
    };
    let upsert = diesel::insert_into(es::table)
        .values(&row)
        .on_conflict(es::persona_id)
        .do_update()
        .set(&row)
        .filter(es::version.lt(excluded(es::version)));
    on_backend!(conn, |c| upsert.execute(c))?;
    Ok(())
}

/// The stored state and its version; on first read the initial state (DOMAIN.md, "Emotional state") is
/// stored at version 0 and returned.
pub fn load_or_init(
    conn: &mut AnyConn,
    persona: Uuid,
    now: DateTime<Utc>,
) -> Result<(EmotionalState, i64), StorageError> {
    super::write_tx(conn, |conn| match load(conn, persona)? {
        Some(stored) => Ok(stored),
        None => {
            let initial = EmotionalState::initial(now);
            save(conn, persona, &initial, 0)?;
            Ok((initial, 0))
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::storage::sql::relationships::tests::aria_and_kira;

    #[test]
    fn first_read_stores_the_initial_state() {
        let (db, _dir, aria, _) = aria_and_kira();
        let conn = &mut db.conn().expect("connection");
        assert_eq!(load(conn, aria).expect("query"), None);
        let now = Utc::now();
        let (state, version) = load_or_init(conn, aria, now).expect("created");
        assert_eq!((state.clone(), version), (EmotionalState::initial(now), 0));
        let stored = load(conn, aria).expect("query").expect("stored");
        assert_eq!(stored.0.mood, state.mood);
        assert_eq!(stored.1, 0);
    }

    #[test]
    fn a_late_write_never_overwrites_a_newer_one() {
        let (db, _dir, aria, _) = aria_and_kira();
        let conn = &mut db.conn().expect("connection");
        let now = Utc::now();
        let state = |mood: f64| EmotionalState {
            mood,
            ..EmotionalState::initial(now)
        };
        save(conn, aria, &state(0.1), 1).expect("saved");
        save(conn, aria, &state(0.3), 3).expect("saved");
        save(conn, aria, &state(0.2), 2).expect("late write ignored");
        let (stored, version) = load(conn, aria).expect("query").expect("stored");
        assert_eq!((stored.mood, version), (0.3, 3));
        let later = EmotionalState {
            last_updated: now + Duration::hours(1),
            ..state(-0.4)
        };
        save(conn, aria, &later, 4).expect("saved");
        let (stored, _) = load(conn, aria).expect("query").expect("stored");
        assert_eq!(stored.mood, -0.4);
        assert_eq!(to_text(stored.last_updated), to_text(later.last_updated));
    }
}
