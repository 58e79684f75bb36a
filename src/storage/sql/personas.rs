//! Persona repo: persona cards and their creation order.

use super::AnyConn;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Bool, Text};
use uuid::Uuid;

use super::schema::{interaction_states, personas};
use super::{from_text, parse_uuid, states, to_text, StorageError};
use crate::domain::persona::{InteractionState, Persona, PersonaChanges};

/// A persona as stored: read, inserted and written back whole.
#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = personas, treat_none_as_null = true)]
struct PersonaRow {
    id: String,
    name: String,
    description: String,
    personality_traits: String,
    topic_preferences: String,
    charisma: i32,
    intelligence: i32,
    social_rank: String,
    model: Option<String>,
    system_prompt: Option<String>,
    avatar_url: Option<String>,
    created_at: String,
    updated_at: String,
    card: String,
}

fn json<T: serde::de::DeserializeOwned>(field: &str, text: &str) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt(format!("persona {field}: {e}")))
}

impl PersonaRow {
    fn into_domain(self) -> Result<Persona, StorageError> {
        Ok(Persona {
            id: parse_uuid(&self.id)?,
            personality_traits: json("personality_traits", &self.personality_traits)?,
            topic_preferences: json("topic_preferences", &self.topic_preferences)?,
            name: self.name,
            description: self.description,
            charisma: self.charisma,
            intelligence: self.intelligence,
            social_rank: self.social_rank,
            model: self.model,
            system_prompt: self.system_prompt,
            avatar_url: self.avatar_url,
            created_at: from_text(&self.created_at)?,
            updated_at: from_text(&self.updated_at)?,
            card: json("card", &self.card)?,
        })
    }
}

impl From<&Persona> for PersonaRow {
    fn from(p: &Persona) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            description: p.description.clone(),
            personality_traits: serde_json::Value::Object(p.personality_traits.clone()).to_string(),
            topic_preferences: serde_json::to_string(&p.topic_preferences).unwrap_or_else(|_| "{}".into()),
            charisma: p.charisma,
            intelligence: p.intelligence,
            social_rank: p.social_rank.clone(),
            model: p.model.clone(),
            system_prompt: p.system_prompt.clone(),
            avatar_url: p.avatar_url.clone(),
            created_at: to_text(p.created_at),
            updated_at: to_text(p.updated_at),
            card: serde_json::to_string(&p.card).unwrap_or_else(|_| "{}".into()),
        }
    }
}

fn name_conflict(name: &str) -> StorageError {
    StorageError::Conflict(format!("Persona name already exists: {name}"))
}

fn map_name_conflict(e: DieselError, name: &str) -> StorageError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => name_conflict(name),
        other => other.into(),
    }
}

/// Names compare by their Unicode lowercase form ("Émile" is "émile"); SQLite's `NOCASE` folds ASCII only.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The id of another persona whose name equals `name` in any case. Runs inside the write transaction, so no
/// concurrent insert can slip in between the check and the write.
fn holder_of_name(conn: &mut AnyConn, name: &str, except: Option<&str>) -> Result<Option<String>, StorageError> {
    let key = name_key(name);
    let names: Vec<(String, String)> = personas::table
        .order(personas::seq.asc())
        .select((personas::id, personas::name))
        .load(conn)?;
    Ok(names
        .into_iter()
        .find(|(id, other)| Some(id.as_str()) != except && name_key(other) == key)
        .map(|(id, _)| id))
}

/// Every persona in creation order.
pub fn list(conn: &mut AnyConn) -> Result<Vec<Persona>, StorageError> {
    personas::table
        .order(personas::seq.asc())
        .select(PersonaRow::as_select())
        .load(conn)?
        .into_iter()
        .map(PersonaRow::into_domain)
        .collect()
}

/// How many personas exist.
pub fn count(conn: &mut AnyConn) -> Result<i64, StorageError> {
    Ok(personas::table.count().get_result(conn)?)
}

/// The persona with this id.
pub fn get(conn: &mut AnyConn, id: Uuid) -> Result<Option<Persona>, StorageError> {
    personas::table
        .filter(personas::id.eq(id.to_string()))
        .select(PersonaRow::as_select())
        .first(conn)
        .optional()?
        .map(PersonaRow::into_domain)
        .transpose()
}

/// The persona named by an id or (case-insensitively) a name.
pub fn find(conn: &mut AnyConn, id_or_name: &str) -> Result<Option<Persona>, StorageError> {
    let key = id_or_name.trim();
    if let Ok(id) = Uuid::parse_str(key) {
        if let Some(p) = get(conn, id)? {
            return Ok(Some(p));
        }
    }
    // SQLite's NOCASE (through the unique index) folds ASCII; PostgreSQL's lower() folds every letter.
    let same_name = match conn {
        AnyConn::Sqlite(_) => sql::<Bool>("name = ").bind::<Text, _>(key).sql(" COLLATE NOCASE"),
        AnyConn::Pg(_) => sql::<Bool>("lower(name) = lower(").bind::<Text, _>(key).sql(")"),
    };
    let ascii_match = personas::table
        .filter(same_name)
        .select(PersonaRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(row) = ascii_match {
        return row.into_domain().map(Some);
    }
    if key.is_ascii() {
        return Ok(None);
    }
    match holder_of_name(conn, key, None)? {
        Some(id) => get(conn, parse_uuid(&id)?),
        None => Ok(None),
    }
}

/// Stores a new persona with its initial interaction state, in one transaction.
pub fn insert(conn: &mut AnyConn, persona: &Persona, state: &InteractionState) -> Result<(), StorageError> {
    super::write_tx(conn, |conn| {
        if holder_of_name(conn, &persona.name, None)?.is_some() {
            return Err(name_conflict(&persona.name));
        }
        diesel::insert_into(personas::table)
            .values(PersonaRow::from(persona))
            .execute(conn)
            .map_err(|e| map_name_conflict(e, &persona.name))?;
        states::upsert(conn, persona.id, state, 0)?;
        Ok(())
    })
}

/// Changes the given fields of a persona's card in one transaction (read, change, write), so that concurrent
/// updates of other fields are kept; answers the stored card, `None` when there is no such persona.
pub fn update(
    conn: &mut AnyConn,
    id: Uuid,
    changes: PersonaChanges,
    now: DateTime<Utc>,
) -> Result<Option<Persona>, StorageError> {
    super::write_tx(conn, |conn| {
        let Some(mut persona) = get(conn, id)? else {
            return Ok(None);
        };
        let key = id.to_string();
        if let Some(name) = &changes.name {
            if holder_of_name(conn, name, Some(&key))?.is_some() {
                return Err(name_conflict(name));
            }
        }
        changes.apply(&mut persona);
        persona.updated_at = now;
        diesel::update(personas::table.filter(personas::id.eq(&key)))
            .set(PersonaRow::from(&persona))
            .execute(conn)
            .map_err(|e| map_name_conflict(e, &persona.name))?;
        Ok(Some(persona))
    })
}

/// Deletes a persona; everything that belongs to it goes with it (foreign keys cascade).
pub fn delete(conn: &mut AnyConn, id: Uuid) -> Result<bool, StorageError> {
    super::write_tx(conn, |conn| {
        diesel::delete(interaction_states::table.filter(interaction_states::persona_id.eq(id.to_string())))
            .execute(conn)?;
        super::dialogues::delete_rooms_of(conn, id)?;
        let n = diesel::delete(personas::table.filter(personas::id.eq(id.to_string()))).execute(conn)?;
        Ok(n > 0)
    })
}
