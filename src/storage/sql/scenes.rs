//! Scene repo: one row per scope ('' for every persona, else the persona's id).

use diesel::prelude::*;
use uuid::Uuid;

use super::schema::scenes as sc;
use super::{from_text, on_backend, parse_uuid, to_text, AnyConn, StorageError};
use crate::domain::scene::Scene;

#[derive(Queryable, Selectable)]
#[diesel(table_name = sc)]
struct SceneRow {
    persona_id: Option<String>,
    description: String,
    updated_at: String,
}

impl SceneRow {
    fn into_domain(self) -> Result<Scene, StorageError> {
        Ok(Scene {
            persona_id: self.persona_id.as_deref().map(parse_uuid).transpose()?,
            description: self.description,
            updated_at: from_text(&self.updated_at)?,
        })
    }
}

fn scope(persona: Option<Uuid>) -> String {
    persona.map(|p| p.to_string()).unwrap_or_default()
}

/// Replaces the scene of a scope (an empty description removes it).
pub fn set(conn: &mut AnyConn, scene: &Scene) -> Result<(), StorageError> {
    let key = scope(scene.persona_id);
    if scene.description.trim().is_empty() {
        diesel::delete(sc::table.find(&key)).execute(conn)?;
        return Ok(());
    }
    let row = (
        sc::scope.eq(&key),
        sc::persona_id.eq(scene.persona_id.map(|p| p.to_string())),
        sc::description.eq(&scene.description),
        sc::updated_at.eq(to_text(scene.updated_at)),
    );
    let upsert = diesel::insert_into(sc::table)
        .values(row)
        .on_conflict(sc::scope)
        .do_update()
        .set((
            sc::persona_id.eq(scene.persona_id.map(|p| p.to_string())),
            sc::description.eq(&scene.description),
            sc::updated_at.eq(to_text(scene.updated_at)),
        ));
    on_backend!(conn, |c| upsert.execute(c))?;
    Ok(())
}

/// The scene of one scope.
pub fn get(conn: &mut AnyConn, persona: Option<Uuid>) -> Result<Option<Scene>, StorageError> {
    sc::table
        .find(scope(persona))
        .select(SceneRow::as_select())
        .first(conn)
        .optional()?
        .map(SceneRow::into_domain)
        .transpose()
}

/// Every stored scene, the shared one first.
pub fn list(conn: &mut AnyConn) -> Result<Vec<Scene>, StorageError> {
    sc::table
        .order(sc::scope.asc())
        .select(SceneRow::as_select())
        .load(conn)?
        .into_iter()
        .map(SceneRow::into_domain)
        .collect()
}
