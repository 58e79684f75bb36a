//! `StateFiles`: the state directory and the operations on it. Saves are written to a hidden temp file,
//! fsynced, renamed into place and the directory fsynced, so a crash leaves either the previous set of saves
//! or the new one, never a half-written file under a save's name. One save or load runs at a time.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::Mutex;

use super::format::{self, EmbedderInfo, Header, PartReader, PartWriter, Verified, FORMAT_VERSION};
use super::{images, StateError};
use crate::storage::Store;

/// Extension of a state file.
pub const EXTENSION: &str = "pmstate";
/// Name of the state directory under the data directory.
const DIR: &str = "state";

/// One save or load at a time in the process.
static BUSY: Mutex<()> = Mutex::const_new(());

/// A finished save.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    /// Where it was written.
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    /// Hex SHA-256 of the file (its trailer).
    pub checksum: String,
    /// Format written.
    pub format_version: String,
    /// When it was taken.
    pub timestamp: String,
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
}

/// One file of `state.list`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SaveInfo {
    /// File name (what `state.delete` takes).
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    /// When it was taken.
    pub created_at: String,
    /// Its format.
    pub format_version: String,
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
}

/// A verified snapshot whose parts are extracted beside it, ready to import; the extracted parts are removed
/// when it is dropped.
pub struct Prepared {
    /// The file.
    pub path: PathBuf,
    /// What verification found.
    pub verified: Verified,
    parts: PathBuf,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.parts);
    }
}

/// The state directory of one data directory.
#[derive(Clone)]
pub struct StateFiles {
    store: Store,
    data_dir: PathBuf,
    dir: PathBuf,
    keep: usize,
    embedder: Option<EmbedderInfo>,
}

impl StateFiles {
    /// State files of `data_dir` (in `<data_dir>/state/`), keeping the newest `keep` saves; `embedder` is
    /// recorded in new saves.
    pub fn new(store: Store, data_dir: &Path, keep: usize, embedder: Option<EmbedderInfo>) -> Self {
        Self {
            store,
            data_dir: data_dir.to_path_buf(),
            dir: data_dir.join(DIR),
            keep: keep.max(1),
            embedder,
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Resolves a client's `path`: relative paths are taken in the state directory; absolute ones must lie in
    /// the data directory; `..` is refused.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, StateError> {
        let outside = || StateError::BadParam {
            field: "path",
            message: format!("path must be under the data directory {}", self.data_dir.display()),
        };
        let given = Path::new(path);
        if path.trim().is_empty() || given.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(outside());
        }
        if given.is_relative() {
            return Ok(self.dir.join(given));
        }
        let data = std::fs::canonicalize(&self.data_dir).map_err(StateError::io(&self.data_dir))?;
        if !given.starts_with(&data) && !given.starts_with(&self.data_dir) {
            return Err(outside());
        }
        Ok(given.to_path_buf())
    }

    /// Takes a snapshot from one consistent read and writes it atomically to `path` (default: a new
    /// timestamped file in the state directory), then deletes saves beyond the newest `keep`.
    pub async fn save(&self, path: Option<PathBuf>) -> Result<Saved, StateError> {
        let _turn = BUSY.lock().await;
        let created = Utc::now();
        let target = match path {
            Some(p) => p,
            None => self
                .dir
                .join(format!("state-{}.{EXTENSION}", created.format("%Y%m%dT%H%M%S%.6fZ"))),
        };
        let parent = target.parent().unwrap_or(&self.dir).to_path_buf();
        let name = file_name(&target)?;
        std::fs::create_dir_all(&self.dir).map_err(StateError::io(&self.dir))?;
        std::fs::create_dir_all(&parent).map_err(StateError::io(&parent))?;
        remove_leftovers(&self.dir);
        let staging = self.dir.join(format!(".{name}.parts"));
        let partial = parent.join(format!(".{name}.partial"));
        let result = self.write_save(&target, &staging, &partial, created).await;
        let _ = std::fs::remove_dir_all(&staging);
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        let saved = result?;
        self.prune();
        Ok(saved)
    }

    async fn write_save(
        &self,
        target: &Path,
        staging: &Path,
        partial: &Path,
        created: chrono::DateTime<Utc>,
    ) -> Result<Saved, StateError> {
        let writer = PartWriter::new(staging)?;
        let mut writer = self.store.snapshots().export(writer).await?;
        let header_base = Header {
            format_version: FORMAT_VERSION.to_string(),
            created_at: created.to_rfc3339_opts(SecondsFormat::Micros, true),
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            counts: BTreeMap::new(),
            embedder: self.embedder.clone(),
        };
        let (staging, partial, target) = (staging.to_path_buf(), partial.to_path_buf(), target.to_path_buf());
        let data_dir = self.data_dir.clone();
        blocking(move || {
            // Images are never deleted or rewritten, so those stored now include every one the tables name.
            for folder in &images::FOLDERS {
                images::export(folder, &data_dir, &mut writer)?;
            }
            let parts = writer.finish()?;
            let header = Header {
                counts: parts.iter().map(|p| (p.table.clone(), p.rows)).collect(),
                ..header_base
            };
            let (bytes, checksum) = format::write(&partial, &header, &staging, parts)?;
            std::fs::rename(&partial, &target).map_err(StateError::io(&target))?;
            sync_dir(target.parent().unwrap_or(Path::new(".")))?;
            Ok(Saved {
                path: target,
                bytes,
                checksum,
                format_version: header.format_version,
                timestamp: header.created_at,
                counts: header.counts,
            })
        })
        .await
    }

    /// Deletes the oldest saves in the state directory beyond `keep`.
    fn prune(&self) {
        let Ok(saves) = self.list() else { return };
        for old in saves.iter().skip(self.keep) {
            match std::fs::remove_file(&old.path) {
                Ok(()) => tracing::info!(path = %old.path.display(), "deleted old state file"),
                Err(e) => tracing::warn!(path = %old.path.display(), error = %e, "cannot delete old state file"),
            }
        }
        let _ = sync_dir(&self.dir);
    }

    /// The saves in the state directory, newest first. Temp files of saves in progress (or cut short) and
    /// files without a readable header are not listed.
    pub fn list(&self) -> Result<Vec<SaveInfo>, StateError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StateError::io(&self.dir)(e)),
        };
        let mut saves = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
                continue;
            }
            let (Ok(meta), Ok(header)) = (entry.metadata(), format::read_header(&path)) else {
                continue;
            };
            saves.push(SaveInfo {
                name,
                path,
                bytes: meta.len(),
                created_at: header.created_at,
                format_version: header.format_version,
                counts: header.counts,
            });
        }
        saves.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.name.cmp(&a.name)));
        Ok(saves)
    }

    /// The file `path` names, or the newest save; refused when there is none.
    pub fn pick(&self, path: Option<PathBuf>) -> Result<PathBuf, StateError> {
        match path {
            Some(p) => Ok(p),
            None => self
                .list()?
                .into_iter()
                .next()
                .map(|s| s.path)
                .ok_or_else(|| StateError::Refused(format!("no state file in {}", self.dir.display()))),
        }
    }

    /// Checks a file completely without changing anything.
    pub async fn verify(&self, path: PathBuf) -> Result<Verified, StateError> {
        exists(&path)?;
        blocking(move || format::read(&path, None)).await
    }

    /// Verifies `path` and extracts its parts, ready for [`StateFiles::import`]; nothing in the database
    /// changes.
    pub async fn prepare(&self, path: PathBuf) -> Result<Prepared, StateError> {
        exists(&path)?;
        let _turn = BUSY.lock().await;
        std::fs::create_dir_all(&self.dir).map_err(StateError::io(&self.dir))?;
        let parts = self.dir.join(format!(".load-{}.parts", uuid::Uuid::new_v4()));
        std::fs::create_dir(&parts).map_err(StateError::io(&parts))?;
        let (p, dir) = (path.clone(), parts.clone());
        let verified = blocking(move || format::read(&p, Some(&dir))).await;
        match verified {
            Ok(verified) => Ok(Prepared { path, verified, parts }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&parts);
                Err(e)
            }
        }
    }

    /// Replaces the whole database with a prepared snapshot in one transaction; answers rows per table. A
    /// snapshot the database rejects (rows that do not fit) changes nothing and is refused.
    pub async fn import(&self, prepared: &Prepared) -> Result<BTreeMap<String, u64>, StateError> {
        let _turn = BUSY.lock().await;
        for folder in &images::FOLDERS {
            let parts = prepared.parts.clone();
            let found = blocking(move || images::read(folder, &parts)).await?;
            images::restore(folder, &self.data_dir, found).await?;
        }
        let counts = self
            .store
            .snapshots()
            .import(PartReader::new(&prepared.parts, &prepared.verified.header))
            .await
            .map_err(|e| StateError::Refused(format!("the state file does not load: {e}")))?;
        tracing::info!(path = %prepared.path.display(), ?counts, "state loaded");
        Ok(counts.into_iter().map(|(t, n)| (t.to_string(), n)).collect())
    }

    /// The path of the save `name`: a plain file name in the state directory ending in `.pmstate`, as
    /// `state.list` gives it (the file need not exist); anything else is refused.
    pub fn named(&self, name: &str) -> Result<PathBuf, StateError> {
        let plain = Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name);
        if !plain || name.starts_with('.') || !name.ends_with(&format!(".{EXTENSION}")) {
            return Err(StateError::BadParam {
                field: "name",
                message: format!("{name:?} is not the name of a state file (NAME.{EXTENSION})"),
            });
        }
        Ok(self.dir.join(name))
    }

    /// A fresh hidden path in the state directory for a file being uploaded (never listed, never loaded).
    pub fn incoming(&self) -> Result<PathBuf, StateError> {
        std::fs::create_dir_all(&self.dir).map_err(StateError::io(&self.dir))?;
        Ok(self.dir.join(format!(".upload-{}.incoming", uuid::Uuid::new_v4())))
    }

    /// Verifies an uploaded file completely and, when it is a sound snapshot, makes it the save `name`
    /// (fsynced, renamed into place, the directory fsynced); the upload is removed either way. A file that does
    /// not verify is refused, and so is a name already taken.
    pub async fn adopt(&self, upload: PathBuf, name: &str) -> Result<SaveInfo, StateError> {
        let result = self.adopt_checked(&upload, name).await;
        let _ = std::fs::remove_file(&upload);
        result
    }

    async fn adopt_checked(&self, upload: &Path, name: &str) -> Result<SaveInfo, StateError> {
        let target = self.named(name)?;
        let verified = self.verify(upload.to_path_buf()).await?;
        std::fs::File::open(upload)
            .and_then(|f| f.sync_all())
            .map_err(StateError::io(upload))?;
        let _turn = BUSY.lock().await;
        if target.exists() {
            return Err(StateError::Refused(format!("a state file named {name} exists already")));
        }
        std::fs::rename(upload, &target).map_err(StateError::io(&target))?;
        sync_dir(&self.dir)?;
        tracing::info!(path = %target.display(), bytes = verified.bytes, "state file uploaded");
        Ok(SaveInfo {
            name: name.to_string(),
            path: target,
            bytes: verified.bytes,
            created_at: verified.header.created_at,
            format_version: verified.header.format_version,
            counts: verified.header.counts,
        })
    }

    /// Deletes the save `name` (a file name in the state directory, as `state.list` gives it).
    pub fn delete(&self, name: &str) -> Result<PathBuf, StateError> {
        let unknown = || StateError::BadParam {
            field: "name",
            message: format!("no state file named {name:?} in {}", self.dir.display()),
        };
        let path = self.named(name).map_err(|_| unknown())?;
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                tracing::info!(path = %path.display(), "deleted state file");
                Ok(path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(unknown()),
            Err(e) => Err(StateError::io(&path)(e)),
        }
    }
}

fn exists(path: &Path) -> Result<(), StateError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(StateError::BadParam {
            field: "path",
            message: format!("no state file at {}", path.display()),
        })
    }
}

fn file_name(path: &Path) -> Result<String, StateError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.starts_with('.'))
        .map(str::to_string)
        .ok_or_else(|| StateError::BadParam {
            field: "path",
            message: format!("{} is not a file name", path.display()),
        })
}

/// Removes temp files and staging directories that a save cut short left behind (called under [`BUSY`]).
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".partial") {
            let _ = std::fs::remove_file(entry.path());
        } else if name.starts_with('.') && name.ends_with(&format!(".{EXTENSION}.parts")) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Fsyncs a directory, so a rename or delete in it is durable.
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StateError::io(dir))
}

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, StateError> + Send + 'static,
) -> Result<R, StateError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StateError::Internal(format!("blocking task failed: {e}")))?
}
