//! `persona-mcp state save|load|verify|list [FILE]` with the server stopped: works on the database and the
//! state directory directly. A load deletes the vector index files, so the next start rebuilds them from the
//! loaded rows.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::format::EmbedderInfo;
use super::{StateError, StateFiles};
use crate::app::build_embedder;
use crate::config::Settings;
use crate::storage::Store;

/// What the command does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Write a snapshot (to FILE, or a new file in the state directory).
    Save(Option<PathBuf>),
    /// Replace the database with FILE (or the newest save).
    Load(Option<PathBuf>),
    /// Check FILE (or the newest save).
    Verify(Option<PathBuf>),
    /// List the saves.
    List,
}

/// Runs `action`; answers the JSON to print.
pub async fn run(settings: &Settings, action: Action) -> Result<serde_json::Value, StateError> {
    let s = &settings.storage;
    let store = Store::connect(s)?;
    let files = StateFiles::new(store, &s.data_dir, settings.state.keep, embedder(settings, &action));
    match action {
        Action::Save(file) => Ok(serde_json::to_value(files.save(file).await?).unwrap_or_default()),
        Action::Verify(file) => {
            let path = files.pick(file)?;
            let v = files.verify(path.clone()).await?;
            Ok(json!({
                "valid": true,
                "path": path,
                "format_version": v.header.format_version,
                "counts": v.header.counts,
                "checksum": v.checksum,
                "bytes": v.bytes,
            }))
        }
        Action::List => Ok(json!({ "saves": files.list()? })),
        Action::Load(file) => {
            let path = files.pick(file)?;
            let prepared = files.prepare(path.clone()).await?;
            let counts = files.import(&prepared).await?;
            let removed = remove_indexes(&s.data_dir.join("vectors"))?;
            Ok(json!({ "state_loaded": true, "path": path, "counts": counts, "indexes_removed": removed }))
        }
    }
}

/// The configured embedder's name and dimension, recorded in saves (only a save needs it).
fn embedder(settings: &Settings, action: &Action) -> Option<EmbedderInfo> {
    if !matches!(action, Action::Save(_)) {
        return None;
    }
    match build_embedder(settings) {
        Ok(Some(e)) => Some(EmbedderInfo {
            name: e.name().to_string(),
            dimension: e.dimension(),
        }),
        _ => None,
    }
}

/// Deletes the per-persona index files (not `index.json`, which names the embedder); answers how many.
fn remove_indexes(dir: &Path) -> Result<usize, StateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StateError::io(dir)(e)),
    };
    let mut n = 0;
    for entry in entries.flatten() {
        if entry.path().extension().and_then(|e| e.to_str()) == Some("usearch") {
            std::fs::remove_file(entry.path()).map_err(StateError::io(&entry.path()))?;
            n += 1;
        }
    }
    Ok(n)
}
