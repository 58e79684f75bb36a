//! Interaction-state repo. Writes carry a version so that a late write never overwrites a newer one.

use super::{on_backend, AnyConn};
use diesel::prelude::*;
use diesel::upsert::excluded;
use uuid::Uuid;

use super::schema::interaction_states as st;
use super::StorageError;
use crate::domain::persona::{InteractionState, Priority};

#[derive(Queryable, Selectable)]
#[diesel(table_name = st)]
struct StateRow {
    interest_level: f64,
    interaction_fatigue: f64,
    current_priority: String,
    available_time: f64,
    social_energy: f64,
    base_energy: f64,
    base_available_time: f64,
    cooldown_until: f64,
    version: i64,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = st)]
struct StateValues<'a> {
    persona_id: &'a str,
    interest_level: f64,
    interaction_fatigue: f64,
    current_priority: &'a str,
    available_time: f64,
    social_energy: f64,
    base_energy: f64,
    base_available_time: f64,
    cooldown_until: f64,
    version: i64,
}

/// The stored state and its version.
pub fn load(conn: &mut AnyConn, persona: Uuid) -> Result<Option<(InteractionState, i64)>, StorageError> {
    let row = st::table
        .filter(st::persona_id.eq(persona.to_string()))
        .select(StateRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|r| {
        (
            InteractionState {
                interest_level: r.interest_level,
                interaction_fatigue: r.interaction_fatigue,
                current_priority: Priority::parse(&r.current_priority).unwrap_or(Priority::None),
                available_time: r.available_time,
                social_energy: r.social_energy,
                base_energy: r.base_energy,
                base_available_time: r.base_available_time,
                cooldown_until: r.cooldown_until,
            },
            r.version,
        )
    }))
}

/// Writes the state if `version` is newer than the stored one (or there is none), in one statement.
pub fn upsert(conn: &mut AnyConn, persona: Uuid, s: &InteractionState, version: i64) -> Result<(), StorageError> {
    let id = persona.to_string();
    let values = StateValues {
        persona_id: &id,
        interest_level: s.interest_level,
        interaction_fatigue: s.interaction_fatigue,
        current_priority: s.current_priority.as_str(),
        available_time: s.available_time,
        social_energy: s.social_energy,
        base_energy: s.base_energy,
        base_available_time: s.base_available_time,
        cooldown_until: s.cooldown_until,
        version,
    };
    // `filter` on an upsert (its WHERE clause) comes from this trait, not from `QueryDsl`.
    use diesel::query_dsl::methods::FilterDsl as _;
    let upsert = diesel::insert_into(st::table)
        .values(&values)
        .on_conflict(st::persona_id)
        .do_update()
        .set(&values)
        .filter(st::version.lt(excluded(st::version)));
    on_backend!(conn, |c| upsert.execute(c))?;
    Ok(())
}
