//! Loading a state file into the running server: verify (nothing changes on failure), close the load gate (no
//! request runs until the load is done; those arriving wait), let the embedding queue finish, quiesce the
//! actors, replace the database in one transaction, rebuild the vector indexes, restart the bots.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use uuid::Uuid;

use super::format::EmbedderInfo;
use super::{StateError, StateFiles};
use crate::actors::bot_supervisor::BotsReplaced;
use crate::actors::persona::Retire;
use crate::actors::registry::Quiesce;
use crate::app::Core;
use crate::error::AppError;
use crate::load_gate::DRAIN;

/// The state files of the running server.
pub fn files(app: &Core) -> StateFiles {
    let embedder = app
        .memory
        .embedder_info()
        .map(|(name, dimension)| EmbedderInfo { name, dimension });
    let settings = app.settings.current();
    StateFiles::new(
        app.store.clone(),
        &settings.storage.data_dir,
        settings.state.keep,
        embedder,
    )
}

/// What a load replaced the data with.
pub struct Loaded {
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
    /// Memories queued for re-embedding (their vectors were made by another embedder, or are missing).
    pub reembedding: usize,
}

/// Loads `path` into the running server. Verification comes first: a refused file changes nothing.
pub async fn load(app: &Core, path: PathBuf) -> Result<Loaded, AppError> {
    let files = files(app);
    let prepared = files.prepare(path).await?;
    let _closed = app
        .load_gate
        .close()
        .await
        .map_err(|busy| StateError::Refused(busy.to_string()))?;
    if !app.memory.embeddings_settled(DRAIN).await {
        return Err(
            StateError::Refused("memories are still being embedded; nothing was loaded, try again".into()).into(),
        );
    }
    let before = persona_ids(app).await?;
    for actor in app.registry.send(Quiesce).await? {
        // An actor already gone has nothing left to write.
        let _ = actor.send(Retire).await;
    }
    let counts = files.import(&prepared).await.map_err(AppError::from)?;
    let after = persona_ids(app).await?;
    let everyone: Vec<Uuid> = before.union(&after).copied().collect();
    let reembedding = app.memory.rebuild_after_load(everyone).await?;
    app.bots.send(BotsReplaced).await?;
    Ok(Loaded { counts, reembedding })
}

async fn persona_ids(app: &Core) -> Result<HashSet<Uuid>, StateError> {
    Ok(app.store.personas().list().await?.into_iter().map(|p| p.id).collect())
}
