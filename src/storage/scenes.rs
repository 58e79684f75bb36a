//! Scene repository: the visual context of personas (`visual.update` type "scene").

use uuid::Uuid;

use super::sql::{scenes, Db};
use super::StorageError;
use crate::domain::scene::{self, Scene};

/// Scenes; reached through [`super::Store::scenes`].
pub struct Scenes<'a> {
    db: &'a Db,
}

impl<'a> Scenes<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Replaces the scene of its persona (or the shared one); an empty description removes it.
    pub async fn set(&self, scene: Scene) -> Result<(), StorageError> {
        let persona = scene.persona_id;
        self.db
            .write(move |c| scenes::set(c, &scene))
            .await
            .map_err(|e| match persona {
                Some(p) => e.about(p),
                None => e,
            })
    }

    /// The scene stored for a persona (`None`: the shared one), as set.
    pub async fn stored(&self, persona: Option<Uuid>) -> Result<Option<Scene>, StorageError> {
        self.db.run(move |c| scenes::get(c, persona)).await
    }

    /// The scene a persona sees now: the newer of its own and the shared one.
    pub async fn seen_by(&self, persona: Uuid) -> Result<Option<Scene>, StorageError> {
        self.db
            .run(move |c| {
                let own = scenes::get(c, Some(persona))?;
                let shared = scenes::get(c, None)?;
                Ok(scene::current(own.as_ref(), shared.as_ref()).cloned())
            })
            .await
    }

    /// Every stored scene, the shared one first.
    pub async fn list(&self) -> Result<Vec<Scene>, StorageError> {
        self.db.run(scenes::list).await
    }
}
