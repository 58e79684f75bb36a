//! Relationship queries: one row per unordered pair of personas (smaller UUID first, see
//! [`ordered_pair`]) and the history of interactions applied to it. The memory layer asks [`has_relationship`] and [`related_to`] who may see `shared` memories.

use super::{on_backend, AnyConn};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{interactions, relationships as rel};
use super::{from_text, parse_uuid, to_text, StorageError};
use crate::domain::relationship::{ordered_pair, InteractionOutcome, Relationship, RelationshipType};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = rel, primary_key(persona1_id, persona2_id), treat_none_as_null = true)]
struct RelationshipRow {
    persona1_id: String,
    persona2_id: String,
    affinity: f64,
    trust: f64,
    respect: f64,
    intimacy: f64,
    relationship_type: String,
    interaction_count: i64,
    total_interaction_time: f64,
    first_meeting: Option<String>,
    last_interaction: Option<String>,
    recent_interaction_quality: Option<f64>,
}

impl RelationshipRow {
    fn into_domain(self) -> Result<Relationship, StorageError> {
        let relationship_type = RelationshipType::parse(&self.relationship_type)
            .ok_or_else(|| StorageError::Corrupt(format!("relationship type {:?}", self.relationship_type)))?;
        let time = |t: Option<String>| t.as_deref().map(from_text).transpose();
        Ok(Relationship {
            persona1_id: parse_uuid(&self.persona1_id)?,
            persona2_id: parse_uuid(&self.persona2_id)?,
            affinity: self.affinity,
            trust: self.trust,
            respect: self.respect,
            intimacy: self.intimacy,
            relationship_type,
            interaction_count: self.interaction_count,
            total_interaction_time: self.total_interaction_time,
            first_meeting: time(self.first_meeting)?,
            last_interaction: time(self.last_interaction)?,
            recent_interaction_quality: self.recent_interaction_quality,
        })
    }
}

impl From<&Relationship> for RelationshipRow {
    fn from(r: &Relationship) -> Self {
        // Stored once per pair whatever order the caller built it in.
        let (a, b) = ordered_pair(r.persona1_id, r.persona2_id);
        Self {
            persona1_id: a.to_string(),
            persona2_id: b.to_string(),
            affinity: r.affinity,
            trust: r.trust,
            respect: r.respect,
            intimacy: r.intimacy,
            relationship_type: r.relationship_type.as_str().to_owned(),
            interaction_count: r.interaction_count,
            total_interaction_time: r.total_interaction_time,
            first_meeting: r.first_meeting.map(to_text),
            last_interaction: r.last_interaction.map(to_text),
            recent_interaction_quality: r.recent_interaction_quality,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = interactions)]
struct InteractionRow<'a> {
    persona1_id: &'a str,
    persona2_id: &'a str,
    quality: f64,
    duration_minutes: f64,
    context: &'a str,
    memorable: bool,
    at: String,
}

fn load(rows: Vec<RelationshipRow>) -> Result<Vec<Relationship>, StorageError> {
    rows.into_iter().map(RelationshipRow::into_domain).collect()
}

/// The relationship between `a` and `b`, asked in either order.
pub fn get(conn: &mut AnyConn, a: Uuid, b: Uuid) -> Result<Option<Relationship>, StorageError> {
    let (p1, p2) = ordered_pair(a, b);
    rel::table
        .find((p1.to_string(), p2.to_string()))
        .select(RelationshipRow::as_select())
        .first(conn)
        .optional()?
        .map(RelationshipRow::into_domain)
        .transpose()
}

/// Every relationship `persona` is part of.
pub fn list_for(conn: &mut AnyConn, persona: Uuid) -> Result<Vec<Relationship>, StorageError> {
    let id = persona.to_string();
    load(
        rel::table
            .filter(rel::persona1_id.eq(&id).or(rel::persona2_id.eq(&id)))
            .order((rel::persona1_id, rel::persona2_id))
            .select(RelationshipRow::as_select())
            .load(conn)?,
    )
}

/// Every relationship.
pub fn list_all(conn: &mut AnyConn) -> Result<Vec<Relationship>, StorageError> {
    load(
        rel::table
            .order((rel::persona1_id, rel::persona2_id))
            .select(RelationshipRow::as_select())
            .load(conn)?,
    )
}

/// Stores a relationship, replacing the pair's stored one.
pub fn upsert(conn: &mut AnyConn, r: &Relationship) -> Result<(), StorageError> {
    let row = RelationshipRow::from(r);
    let upsert = diesel::insert_into(rel::table)
        .values(&row)
        .on_conflict((rel::persona1_id, rel::persona2_id))
        .do_update()
        .set(&row);
    on_backend!(conn, |c| upsert.execute(c))?;
    Ok(())
}

/// Applies one interaction of `a` and `b` at `now` (see [`Relationship::apply_interaction`]), creating
/// the relationship (strangers) if there is none, and records it in the history. The read, the update and
/// the history row are one immediate transaction: SQLite serialises writers, so two concurrent
/// interactions of one pair never lose one another.
pub fn record_interaction(
    conn: &mut AnyConn,
    a: Uuid,
    b: Uuid,
    quality: f64,
    duration_minutes: f64,
    context: &str,
    now: DateTime<Utc>,
) -> Result<(Relationship, InteractionOutcome), StorageError> {
    super::write_tx(conn, |conn| {
        let mut relationship = get(conn, a, b)?.unwrap_or_else(|| Relationship::new(a, b, now));
        let outcome = relationship.apply_interaction(quality, duration_minutes, context, now);
        upsert(conn, &relationship)?;
        let (p1, p2) = (
            relationship.persona1_id.to_string(),
            relationship.persona2_id.to_string(),
        );
        diesel::insert_into(interactions::table)
            .values(InteractionRow {
                persona1_id: &p1,
                persona2_id: &p2,
                quality: outcome.quality,
                duration_minutes: outcome.duration_minutes,
                context: &outcome.context,
                memorable: outcome.memorable,
                at: to_text(now),
            })
            .execute(conn)?;
        Ok((relationship, outcome))
    })
}

/// True when `a` and `b` have a relationship (of any type).
pub fn has_relationship(conn: &mut AnyConn, a: Uuid, b: Uuid) -> Result<bool, StorageError> {
    let (p1, p2) = ordered_pair(a, b);
    let n: i64 = rel::table
        .filter(
            rel::persona1_id
                .eq(p1.to_string())
                .and(rel::persona2_id.eq(p2.to_string())),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The personas `persona` has a relationship with (of any type).
pub fn related_to(conn: &mut AnyConn, persona: Uuid) -> Result<Vec<Uuid>, StorageError> {
    let id = persona.to_string();
    let pairs: Vec<(String, String)> = rel::table
        .filter(rel::persona1_id.eq(&id).or(rel::persona2_id.eq(&id)))
        .select((rel::persona1_id, rel::persona2_id))
        .load(conn)?;
    pairs
        .into_iter()
        .map(|(p1, p2)| parse_uuid(if p1 == id { &p2 } else { &p1 }))
        .collect()
}

/// Stores a relationship unless the pair already has one. True when it was stored.
pub fn insert_if_absent(conn: &mut AnyConn, r: &Relationship) -> Result<bool, StorageError> {
    let insert = diesel::insert_into(rel::table)
        .values(RelationshipRow::from(r))
        .on_conflict((rel::persona1_id, rel::persona2_id))
        .do_nothing();
    let n = on_backend!(conn, |c| insert.execute(c))?;
    Ok(n > 0)
}

#[cfg(test)]
pub(in crate::storage) mod tests {
    use super::*;
    use crate::domain::seeds;
    use crate::storage::sql::{personas, Db};

    /// A database in a temporary directory holding the seeded Aria and Kira (not their relationship): the
    /// database, the directory to keep alive, and their ids.
    pub(in crate::storage) fn aria_and_kira() -> (Db, tempfile::TempDir, Uuid, Uuid) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open_sqlite(&dir.path().join("test.db"), 4, 5_000).expect("database opens");
        let mut conn = db.conn().expect("connection");
        let ids: Vec<Uuid> = seeds::defaults()
            .into_iter()
            .map(|(persona, state)| {
                personas::insert(&mut conn, &persona, &state).expect("persona stored");
                persona.id
            })
            .collect();
        (db, dir, ids[0], ids[1])
    }

    #[test]
    fn the_seeded_acquaintance_is_created_once_and_seen_from_both_sides() {
        let (db, _dir, aria, kira) = aria_and_kira();
        let conn = &mut db.conn().expect("connection");
        assert!(!has_relationship(conn, aria, kira).expect("query"));
        assert!(insert_if_absent(conn, &seeds::acquaintance(aria, kira)).expect("seeded"));
        assert!(
            !insert_if_absent(conn, &seeds::acquaintance(kira, aria)).expect("seeded"),
            "only once"
        );
        let r = get(conn, kira, aria).expect("query").expect("exists");
        assert_eq!(Some(&r), get(conn, aria, kira).expect("query").as_ref());
        assert_eq!(r.relationship_type, RelationshipType::Acquaintance);
        assert_eq!((r.affinity, r.trust, r.respect, r.intimacy), (0.3, 0.3, 0.4, 0.1));
        assert!(has_relationship(conn, kira, aria).expect("query"));
        assert_eq!(related_to(conn, aria).expect("query"), vec![kira]);
        assert_eq!(related_to(conn, kira).expect("query"), vec![aria]);
        assert_eq!(list_for(conn, kira).expect("query"), vec![r]);
    }

    #[test]
    fn interactions_from_either_side_update_one_row_and_are_recorded() {
        let (db, _dir, aria, kira) = aria_and_kira();
        let conn = &mut db.conn().expect("connection");
        let (first, outcome) = record_interaction(conn, aria, kira, 0.9, 30.0, "chat", Utc::now()).expect("stored");
        assert!(outcome.memorable);
        assert_eq!(first.interaction_count, 1);
        let (second, _) = record_interaction(conn, kira, aria, -0.2, 10.0, "duel", Utc::now()).expect("stored");
        assert_eq!(second.interaction_count, 2);
        assert_eq!(second.total_interaction_time, 40.0);
        assert_eq!(list_all(conn).expect("query").len(), 1);
        let history: Vec<(f64, String, bool)> = interactions::table
            .order(interactions::seq)
            .select((interactions::quality, interactions::context, interactions::memorable))
            .load(conn)
            .expect("history");
        assert_eq!(history, vec![(0.9, "chat".into(), true), (-0.2, "duel".into(), false)]);
    }

    #[test]
    fn concurrent_interactions_of_one_pair_are_all_counted() {
        let (db, _dir, aria, kira) = aria_and_kira();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let conn = &mut db.conn().expect("connection");
                    for _ in 0..10 {
                        record_interaction(conn, aria, kira, 0.5, 5.0, "chat", Utc::now()).expect("stored");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker finished");
        }
        let conn = &mut db.conn().expect("connection");
        let r = get(conn, aria, kira).expect("query").expect("exists");
        assert_eq!(r.interaction_count, 40);
        assert_eq!(list_all(conn).expect("query")[0].interaction_count, 40);
    }

    #[test]
    fn rows_are_stored_in_pair_order() {
        let row = RelationshipRow::from(&Relationship {
            persona1_id: Uuid::from_u128(9),
            persona2_id: Uuid::from_u128(4),
            ..Relationship::new(Uuid::from_u128(9), Uuid::from_u128(4), Utc::now())
        });
        assert!(row.persona1_id < row.persona2_id);
        assert_eq!(parse_uuid(&row.persona1_id).ok(), Some(Uuid::from_u128(4)));
    }
}
