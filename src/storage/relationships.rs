//! Relationship repo: one row per unordered pair of personas (smaller UUID first, see
//! [`ordered_pair`]), the history of interactions applied to it, and the aggregates `relationship.stats`
//! reports. The memory layer asks [`has_relationship`] and [`related_to`] who may see `shared` memories.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use uuid::Uuid;

use super::schema::{interactions, relationships as rel};
use super::{from_text, parse_uuid, to_text, StorageError};
use crate::domain::relationship::{ordered_pair, InteractionOutcome, Relationship, RelationshipType};

/// How many personas `relationship.stats` lists as the most active.
pub const MOST_ACTIVE_LIMIT: usize = 5;

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
pub fn get(conn: &mut SqliteConnection, a: Uuid, b: Uuid) -> Result<Option<Relationship>, StorageError> {
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
pub fn list_for(conn: &mut SqliteConnection, persona: Uuid) -> Result<Vec<Relationship>, StorageError> {
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
pub fn list_all(conn: &mut SqliteConnection) -> Result<Vec<Relationship>, StorageError> {
    load(
        rel::table
            .order((rel::persona1_id, rel::persona2_id))
            .select(RelationshipRow::as_select())
            .load(conn)?,
    )
}

/// Stores a relationship, replacing the pair's stored one.
pub fn upsert(conn: &mut SqliteConnection, r: &Relationship) -> Result<(), StorageError> {
    let row = RelationshipRow::from(r);
    diesel::insert_into(rel::table)
        .values(&row)
        .on_conflict((rel::persona1_id, rel::persona2_id))
        .do_update()
        .set(&row)
        .execute(conn)?;
    Ok(())
}

/// Applies one interaction of `a` and `b` at `now` (see [`Relationship::apply_interaction`]), creating
/// the relationship (strangers) if there is none, and records it in the history. The read, the update and
/// the history row are one immediate transaction: SQLite serialises writers, so two concurrent
/// interactions of one pair never lose one another.
pub fn record_interaction(
    conn: &mut SqliteConnection,
    a: Uuid,
    b: Uuid,
    quality: f64,
    duration_minutes: f64,
    context: &str,
    now: DateTime<Utc>,
) -> Result<(Relationship, InteractionOutcome), StorageError> {
    conn.immediate_transaction(|conn| {
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
pub fn has_relationship(conn: &mut SqliteConnection, a: Uuid, b: Uuid) -> Result<bool, StorageError> {
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
pub fn related_to(conn: &mut SqliteConnection, persona: Uuid) -> Result<Vec<Uuid>, StorageError> {
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

/// Creates the seeded acquaintance between Aria and Kira (DOMAIN.md, "Personas") unless the pair already has
/// a relationship. True when it was created.
pub fn seed_default(conn: &mut SqliteConnection, aria: Uuid, kira: Uuid) -> Result<bool, StorageError> {
    let mut seeded = Relationship {
        affinity: 0.3,
        trust: 0.3,
        respect: 0.4,
        intimacy: 0.1,
        ..Relationship::new(aria, kira, Utc::now())
    };
    seeded.refresh_type();
    let n = diesel::insert_into(rel::table)
        .values(RelationshipRow::from(&seeded))
        .on_conflict((rel::persona1_id, rel::persona2_id))
        .do_nothing()
        .execute(conn)?;
    Ok(n > 0)
}

/// Aggregates over every relationship, for `relationship.stats`. Means are 0 when there is no relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipStats {
    /// How many relationships exist.
    pub total_relationships: usize,
    /// Relationships per type (wire name).
    pub relationship_types: BTreeMap<&'static str, usize>,
    /// Mean of (affinity + trust + respect + intimacy) / 4.
    pub average_compatibility: f64,
    /// Mean affinity.
    pub average_affinity: f64,
    /// Mean trust.
    pub average_trust: f64,
    /// Interactions applied, over all relationships.
    pub total_interactions: i64,
    /// Personas by the interactions of their relationships, most first (then by id), at most
    /// [`MOST_ACTIVE_LIMIT`], only those with any.
    pub most_active_personas: Vec<(Uuid, i64)>,
    /// The relationship with the highest strength.
    pub strongest: Option<Relationship>,
}

impl RelationshipStats {
    /// The aggregates of `all`.
    pub fn of(all: &[Relationship]) -> Self {
        let mean = |value: fn(&Relationship) -> f64| {
            if all.is_empty() {
                0.0
            } else {
                all.iter().map(value).sum::<f64>() / all.len() as f64
            }
        };
        let mut relationship_types = BTreeMap::new();
        let mut per_persona: HashMap<Uuid, i64> = HashMap::new();
        for r in all {
            *relationship_types.entry(r.relationship_type.as_str()).or_insert(0) += 1;
            for persona in [r.persona1_id, r.persona2_id] {
                *per_persona.entry(persona).or_insert(0) += r.interaction_count;
            }
        }
        let mut most_active_personas: Vec<(Uuid, i64)> = per_persona.into_iter().filter(|&(_, n)| n > 0).collect();
        most_active_personas.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        most_active_personas.truncate(MOST_ACTIVE_LIMIT);
        Self {
            total_relationships: all.len(),
            relationship_types,
            average_compatibility: mean(|r| (r.affinity + r.trust + r.respect + r.intimacy) / 4.0),
            average_affinity: mean(|r| r.affinity),
            average_trust: mean(|r| r.trust),
            total_interactions: all.iter().map(|r| r.interaction_count).sum(),
            most_active_personas,
            strongest: all.iter().max_by(|a, b| a.strength().total_cmp(&b.strength())).cloned(),
        }
    }
}

/// The aggregates over every stored relationship.
pub fn stats(conn: &mut SqliteConnection) -> Result<RelationshipStats, StorageError> {
    Ok(RelationshipStats::of(&list_all(conn)?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::seeds;
    use crate::storage::{personas, Db};

    /// A database in a temporary directory holding the seeded Aria and Kira (not their relationship): the
    /// database, the directory to keep alive, and their ids.
    pub(crate) fn aria_and_kira() -> (Db, tempfile::TempDir, Uuid, Uuid) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("test.db"), 4, 5_000).expect("database opens");
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
        assert!(seed_default(conn, aria, kira).expect("seeded"));
        assert!(!seed_default(conn, kira, aria).expect("seeded"), "only once");
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
        assert_eq!(stats(conn).expect("stats").total_interactions, 40);
    }

    fn rel(a: u128, b: u128, affinity: f64, count: i64) -> Relationship {
        Relationship {
            affinity,
            trust: 0.2,
            respect: 0.0,
            intimacy: 0.2,
            interaction_count: count,
            ..Relationship::new(Uuid::from_u128(a), Uuid::from_u128(b), Utc::now())
        }
    }

    #[test]
    fn stats_of_nothing_are_zero() {
        let s = RelationshipStats::of(&[]);
        assert_eq!(s.total_relationships, 0);
        assert_eq!(s.average_compatibility, 0.0);
        assert!(s.most_active_personas.is_empty());
        assert!(s.strongest.is_none());
    }

    #[test]
    fn stats_add_up() {
        let mut rival = rel(1, 3, -0.8, 4);
        rival.relationship_type = RelationshipType::Rival;
        let all = [rel(1, 2, 0.6, 3), rival, rel(2, 3, 0.2, 0)];
        let s = RelationshipStats::of(&all);
        assert_eq!(s.total_relationships, 3);
        assert_eq!(s.relationship_types.get("stranger"), Some(&2));
        assert_eq!(s.relationship_types.get("rival"), Some(&1));
        assert_eq!(s.total_interactions, 7);
        assert!((s.average_affinity - 0.0).abs() < 1e-12);
        assert!((s.average_trust - 0.2).abs() < 1e-12);
        assert!((s.average_compatibility - 0.1).abs() < 1e-12);
        let ids = |n: u128| Uuid::from_u128(n);
        assert_eq!(s.most_active_personas, vec![(ids(1), 7), (ids(3), 4), (ids(2), 3)]);
        assert_eq!(s.strongest.map(|r| r.persona2_id), Some(ids(2)));
    }

    #[test]
    fn rows_are_stored_in_pair_order() {
        let r = rel(9, 4, 0.1, 0);
        let row = RelationshipRow::from(&Relationship {
            persona1_id: Uuid::from_u128(9),
            persona2_id: Uuid::from_u128(4),
            ..r
        });
        assert!(row.persona1_id < row.persona2_id);
        assert_eq!(parse_uuid(&row.persona1_id).ok(), Some(Uuid::from_u128(4)));
    }
}
