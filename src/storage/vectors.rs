//! The vector index of memories: one usearch HNSW index per persona (cosine, vectors held as f16), kept in memory
//! and saved as `<dir>/<persona_uuid>.usearch`, keyed by the memory's `key` column (its rowid on SQLite).
//!
//! The index holds f16 copies of the f32 vectors the database keeps: half the memory, and a search that reads half as
//! much (at 10k vectors 0.18 ms instead of 0.4–1 ms once a query's embedding has passed through the caches), for
//! similarities within about 10⁻³ of the f32 ones.
//!
//! The database is the source of truth; these files are a cache that can always be rebuilt from it. So a
//! file that fails to load is not fatal: the persona starts with an empty index and is listed by
//! [`VectorStore::corrupt`] until [`VectorStore::rebuild`] refills it. `<dir>/index.json` records which
//! embedder and dimension produced the vectors; opening under another embedder is refused with
//! [`VectorError::EmbedderMismatch`], which names `persona-mcp memory reindex`.
//!
//! Every persona's index sits behind its own mutex: usearch serves only as many concurrent calls as
//! it reserved thread slots for, and searches of a few thousand vectors take microseconds anyway.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};
use uuid::Uuid;

use crate::locks::{lock, read, write};

/// Version of the on-disk layout written to `index.json`.
const FORMAT: u32 = 1;
/// Name of the metadata file inside the index directory.
const METADATA_FILE: &str = "index.json";
/// Extension of a persona's index file.
const INDEX_EXTENSION: &str = "usearch";
/// Extension added to a file while it is being replaced.
const TMP_EXTENSION: &str = "tmp";
/// Smallest capacity reserved for an index, so the first few adds do not each reallocate.
const MIN_CAPACITY: usize = 64;

/// Why a vector index operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// The index on disk was built by another embedder or with another dimension.
    #[error(
        "the vector index in {dir} was built with {stored}, but the configured embedder is \
         {configured}: run `persona-mcp memory reindex` to rebuild it"
    )]
    EmbedderMismatch {
        /// The index directory.
        dir: PathBuf,
        /// Embedder and dimension recorded in `index.json`.
        stored: String,
        /// Embedder and dimension configured now.
        configured: String,
    },
    /// `index.json` is unreadable, of an unknown format, or missing beside existing index files.
    #[error(
        "vector index metadata {path} is unusable ({reason}): \
         run `persona-mcp memory reindex` to rebuild it"
    )]
    BadMetadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A vector of the wrong length was given.
    #[error("vector has {actual} dimensions, the index expects {expected}")]
    Dimension {
        /// The index dimension.
        expected: usize,
        /// The length of the vector given.
        actual: usize,
    },
    /// An operation on a persona's index failed.
    #[error("vector index {operation} failed for persona {persona}: {fault}")]
    Index {
        /// What was being done (`add`, `search` …).
        operation: &'static str,
        /// Whose index.
        persona: Uuid,
        /// What went wrong.
        #[source]
        fault: IndexFault,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// What went wrong inside one index, before it is known whose index it was.
#[derive(Debug, thiserror::Error)]
pub enum IndexFault {
    /// usearch reported an error (its exceptions carry a message only).
    #[error("{0}")]
    Usearch(String),
    /// An index file holds vectors of another length.
    #[error("{found} dimensions, expected {expected}")]
    Dimension {
        /// The file's dimension.
        found: usize,
        /// The configured one.
        expected: usize,
    },
    /// An index file holds another metric or scalar kind (an f32 index of an earlier version, say).
    #[error("not a cosine index of f16 vectors")]
    Kind,
    /// usearch takes paths as UTF-8 only.
    #[error("the path is not UTF-8")]
    NotUtf8,
}

/// usearch's exception as a fault.
fn usearch(e: impl std::fmt::Display) -> IndexFault {
    IndexFault::Usearch(e.to_string())
}

/// What `index.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    embedder: String,
    dimension: usize,
    format: u32,
}

/// One persona's index and what the store knows about it.
struct PersonaIndex {
    index: Index,
    /// Changed since the last save.
    dirty: bool,
    /// Its file failed to load; the index is empty until a rebuild.
    corrupt: bool,
}

/// The per-persona vector indexes under one directory; `Send + Sync`, share it behind an `Arc`.
pub struct VectorStore {
    dir: PathBuf,
    dimension: usize,
    indexes: RwLock<HashMap<Uuid, Arc<Mutex<PersonaIndex>>>>,
}

impl VectorStore {
    /// Opens (creating if needed) the index directory for `embedder_name` vectors of `dimension`, and
    /// loads every persona's index file.
    ///
    /// Fails with [`VectorError::EmbedderMismatch`] when `index.json` records another embedder or
    /// dimension, and with [`VectorError::BadMetadata`] when it is unreadable, or missing while index
    /// files are present. An index file that does not load is logged and listed by [`Self::corrupt`].
    pub fn open(dir: &Path, embedder_name: &str, dimension: usize) -> Result<Self, VectorError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let files = scan(dir)?;
        check_metadata(dir, embedder_name, dimension, !files.is_empty())?;
        let mut indexes = HashMap::with_capacity(files.len());
        for (persona, path) in files {
            let entry = match load(&path, dimension) {
                Ok(index) => PersonaIndex {
                    index,
                    dirty: false,
                    corrupt: false,
                },
                Err(reason) => {
                    tracing::warn!(%persona, path = %path.display(), %reason,
                        "vector index file is corrupt or of another kind; the persona's index must be rebuilt from the database");
                    PersonaIndex {
                        index: new_index(dimension).map_err(index_error("create", persona))?,
                        dirty: false,
                        corrupt: true,
                    }
                }
            };
            indexes.insert(persona, Arc::new(Mutex::new(entry)));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            dimension,
            indexes: RwLock::new(indexes),
        })
    }

    /// Deletes every index file and the metadata in `dir` (other files are left alone), then opens it
    /// afresh for `embedder_name`: the first step of `persona-mcp memory reindex`.
    pub fn reset(dir: &Path, embedder_name: &str, dimension: usize) -> Result<Self, VectorError> {
        if dir.exists() {
            for (_, path) in scan(dir)? {
                remove_if_present(&path)?;
            }
            remove_if_present(&dir.join(METADATA_FILE))?;
        }
        Self::open(dir, embedder_name, dimension)
    }

    /// The dimension every vector must have.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Adds or replaces several vectors at once; nothing is added if one has the wrong dimension.
    ///
    /// Keys are the memories' rowids; `u64::MAX` is reserved by usearch.
    pub fn add_batch(&self, persona: Uuid, items: &[(u64, Vec<f32>)]) -> Result<(), VectorError> {
        for (_, vector) in items {
            self.check_dimension(vector)?;
        }
        let slot = self.slot_or_create(persona)?;
        let mut entry = lock(&slot);
        reserve_for(&entry.index, items.len()).map_err(index_error("reserve", persona))?;
        entry.dirty = true;
        for (key, vector) in items {
            upsert(&entry.index, *key, vector).map_err(index_error("add", persona))?;
        }
        Ok(())
    }

    /// Removes the given keys from `persona`'s index; absent keys are ignored.
    pub fn remove(&self, persona: Uuid, keys: &[u64]) -> Result<(), VectorError> {
        let Some(slot) = self.slot(persona) else {
            return Ok(());
        };
        let mut entry = lock(&slot);
        for &key in keys {
            let removed = entry
                .index
                .remove(key)
                .map_err(usearch)
                .map_err(index_error("remove", persona))?;
            entry.dirty |= removed > 0;
        }
        Ok(())
    }

    /// The `k` nearest vectors to `query` as `(key, cosine similarity)`, most similar first.
    pub fn search(&self, persona: Uuid, query: &[f32], k: usize) -> Result<Vec<(u64, f32)>, VectorError> {
        self.check_dimension(query)?;
        let Some(slot) = self.slot(persona) else {
            return Ok(Vec::new());
        };
        let entry = lock(&slot);
        // usearch allocates room for `k` results up front: never ask for more than there are.
        let k = k.min(entry.index.size());
        if k == 0 {
            return Ok(Vec::new());
        }
        let matches = entry
            .index
            .search(query, k)
            .map_err(usearch)
            .map_err(index_error("search", persona))?;
        Ok(matches
            .keys
            .into_iter()
            .zip(matches.distances)
            .map(|(key, distance)| (key, 1.0 - distance))
            .collect())
    }

    /// How many vectors `persona`'s index holds (0 for an unknown persona).
    pub fn len(&self, persona: Uuid) -> usize {
        self.slot(persona).map_or(0, |slot| lock(&slot).index.size())
    }

    /// The keys among `keys` that `persona`'s index lacks, checked under one lock.
    ///
    /// With the database's keys of a persona, the index is in step exactly when
    /// `len(persona) == keys.len()` and this is empty; otherwise [`Self::rebuild`] it.
    pub fn missing_keys(&self, persona: Uuid, keys: &[u64]) -> Vec<u64> {
        let Some(slot) = self.slot(persona) else {
            return keys.to_vec();
        };
        let entry = lock(&slot);
        keys.iter().copied().filter(|&key| !entry.index.contains(key)).collect()
    }

    /// Personas whose index file failed to load at [`Self::open`] and that were not rebuilt since.
    pub fn corrupt(&self) -> Vec<Uuid> {
        read(&self.indexes)
            .iter()
            .filter(|(_, slot)| lock(slot).corrupt)
            .map(|(persona, _)| *persona)
            .collect()
    }

    /// Saves every index changed since its last save; tries them all and returns the first error.
    pub fn save_all(&self) -> Result<(), VectorError> {
        let slots: Vec<(Uuid, Arc<Mutex<PersonaIndex>>)> = read(&self.indexes)
            .iter()
            .map(|(persona, slot)| (*persona, Arc::clone(slot)))
            .collect();
        let mut first_error = None;
        for (persona, slot) in slots {
            let mut entry = lock(&slot);
            if !entry.dirty {
                continue;
            }
            match self.write(persona, &entry.index) {
                Ok(()) => entry.dirty = false,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Replaces `persona`'s index with one built from `items` (the database's rows) and saves it.
    ///
    /// Adds and searches of this persona wait until the rebuild is done.
    pub fn rebuild(&self, persona: Uuid, items: impl IntoIterator<Item = (u64, Vec<f32>)>) -> Result<(), VectorError> {
        let items = items.into_iter();
        let slot = self.slot_or_create(persona)?;
        let mut entry = lock(&slot);
        let index = new_index(self.dimension).map_err(index_error("create", persona))?;
        reserve_for(&index, items.size_hint().0).map_err(index_error("reserve", persona))?;
        for (key, vector) in items {
            self.check_dimension(&vector)?;
            reserve_for(&index, 1).map_err(index_error("reserve", persona))?;
            upsert(&index, key, &vector).map_err(index_error("add", persona))?;
        }
        self.write(persona, &index)?;
        *entry = PersonaIndex {
            index,
            dirty: false,
            corrupt: false,
        };
        Ok(())
    }

    /// Forgets `persona`'s index and deletes its file (when the persona is deleted).
    pub fn drop_persona(&self, persona: Uuid) -> Result<(), VectorError> {
        write(&self.indexes).remove(&persona);
        remove_if_present(&self.file(persona))
    }

    fn check_dimension(&self, vector: &[f32]) -> Result<(), VectorError> {
        if vector.len() == self.dimension {
            Ok(())
        } else {
            Err(VectorError::Dimension {
                expected: self.dimension,
                actual: vector.len(),
            })
        }
    }

    fn file(&self, persona: Uuid) -> PathBuf {
        self.dir.join(format!("{persona}.{INDEX_EXTENSION}"))
    }

    fn slot(&self, persona: Uuid) -> Option<Arc<Mutex<PersonaIndex>>> {
        read(&self.indexes).get(&persona).cloned()
    }

    fn slot_or_create(&self, persona: Uuid) -> Result<Arc<Mutex<PersonaIndex>>, VectorError> {
        if let Some(slot) = self.slot(persona) {
            return Ok(slot);
        }
        let mut indexes = write(&self.indexes);
        if let Some(slot) = indexes.get(&persona) {
            return Ok(Arc::clone(slot));
        }
        let index = new_index(self.dimension).map_err(index_error("create", persona))?;
        let slot = Arc::new(Mutex::new(PersonaIndex {
            index,
            dirty: false,
            corrupt: false,
        }));
        indexes.insert(persona, Arc::clone(&slot));
        Ok(slot)
    }

    fn write(&self, persona: Uuid, index: &Index) -> Result<(), VectorError> {
        replace_file(&self.file(persona), |tmp| {
            index
                .save(utf8(tmp)?)
                .map_err(usearch)
                .map_err(index_error("save", persona))
        })
    }
}

/// Checks `index.json` against the configured embedder, writing it when the directory has no index yet.
fn check_metadata(dir: &Path, embedder: &str, dimension: usize, has_files: bool) -> Result<(), VectorError> {
    let path = dir.join(METADATA_FILE);
    let bad = |reason: String| VectorError::BadMetadata {
        path: path.clone(),
        reason,
    };
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if has_files {
                return Err(bad(
                    "missing, but index files are present: their embedder is unknown".into()
                ));
            }
            let metadata = Metadata {
                embedder: embedder.to_string(),
                dimension,
                format: FORMAT,
            };
            let json = serde_json::to_vec_pretty(&metadata).map_err(|e| bad(e.to_string()))?;
            return replace_file(&path, |tmp| fs::write(tmp, &json).map_err(io_error(tmp)));
        }
        Err(e) => return Err(io_error(&path)(e)),
    };
    let stored: Metadata = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if stored.format != FORMAT {
        return Err(bad(format!(
            "format {}, this build reads format {FORMAT}",
            stored.format
        )));
    }
    if stored.embedder != embedder || stored.dimension != dimension {
        return Err(VectorError::EmbedderMismatch {
            dir: dir.to_path_buf(),
            stored: format!("{} ({} dimensions)", stored.embedder, stored.dimension),
            configured: format!("{embedder} ({dimension} dimensions)"),
        });
    }
    Ok(())
}

/// The persona index files in `dir`, deleting temporary files a crash mid-save left behind.
fn scan(dir: &Path) -> Result<Vec<(Uuid, PathBuf)>, VectorError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        match path.extension().and_then(|e| e.to_str()) {
            Some(TMP_EXTENSION) => remove_if_present(&path)?,
            Some(INDEX_EXTENSION) => {
                let persona = path
                    .file_stem()
                    .and_then(|stem| stem.to_str())
                    .and_then(|stem| Uuid::parse_str(stem).ok());
                if let Some(persona) = persona {
                    files.push((persona, path));
                }
            }
            _ => {}
        }
    }
    Ok(files)
}

/// Candidates usearch keeps while searching. Its default (64) gives recall@10 ≈ 0.95 at 100k vectors; 128 gives
/// ≈ 0.99 for about 0.6 ms more (measured by `make bench-memory`). Not stored in the file: set on every index.
const EXPANSION_SEARCH: usize = 128;

/// How the index holds vectors.
const SCALAR: ScalarKind = ScalarKind::F16;

/// An empty cosine index of `dimension`-long vectors, held as [`SCALAR`].
fn new_index(dimension: usize) -> Result<Index, IndexFault> {
    let options = IndexOptions {
        dimensions: dimension,
        metric: MetricKind::Cos,
        quantization: SCALAR,
        expansion_search: EXPANSION_SEARCH,
        ..IndexOptions::default()
    };
    Index::new(&options).map_err(usearch)
}

/// Loads an index file and checks it holds cosine vectors of `dimension`, held as [`SCALAR`].
fn load(path: &Path, dimension: usize) -> Result<Index, IndexFault> {
    let index = new_index(dimension)?;
    let path = path.to_str().ok_or(IndexFault::NotUtf8)?;
    index.load(path).map_err(usearch)?;
    index.change_expansion_search(EXPANSION_SEARCH);
    if index.dimensions() != dimension {
        return Err(IndexFault::Dimension {
            found: index.dimensions(),
            expected: dimension,
        });
    }
    if index.metric_kind() != MetricKind::Cos || index.scalar_kind() != SCALAR {
        return Err(IndexFault::Kind);
    }
    Ok(index)
}

/// Grows `index` (doubling) so that `additional` more vectors fit. Slots of removed vectors are
/// reused by usearch, so live size plus `additional` is what must fit.
fn reserve_for(index: &Index, additional: usize) -> Result<(), IndexFault> {
    let needed = index.size() + additional;
    if needed <= index.capacity() {
        return Ok(());
    }
    let capacity = needed.max(index.capacity() * 2).max(MIN_CAPACITY);
    // One thread slot: the per-persona mutex lets one call in at a time.
    index.reserve_capacity_and_threads(capacity, 1).map_err(usearch)
}

/// Adds `vector` under `key`, replacing a previous one (usearch refuses duplicate keys).
fn upsert(index: &Index, key: u64, vector: &[f32]) -> Result<(), IndexFault> {
    if index.contains(key) {
        index.remove(key).map_err(usearch)?;
    }
    index.add(key, vector).map_err(usearch)
}

/// Replaces `path` atomically: `write` fills `<path>.tmp`, which is fsynced and renamed over `path`,
/// and the directory is fsynced so the rename survives a crash. The temporary file never outlives a failure.
fn replace_file(path: &Path, write: impl FnOnce(&Path) -> Result<(), VectorError>) -> Result<(), VectorError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".");
    tmp.push(TMP_EXTENSION);
    let tmp = PathBuf::from(tmp);
    let result = write(&tmp)
        .and_then(|()| sync(&tmp))
        .and_then(|()| fs::rename(&tmp, path).map_err(io_error(path)));
    if result.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    result?;
    match path.parent() {
        Some(dir) => sync(dir),
        None => Ok(()),
    }
}

/// fsyncs a file or a directory.
fn sync(path: &Path) -> Result<(), VectorError> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(io_error(path))
}

fn remove_if_present(path: &Path) -> Result<(), VectorError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(path)(e)),
        _ => Ok(()),
    }
}

/// usearch takes paths as `&str`.
fn utf8(path: &Path) -> Result<&str, VectorError> {
    path.to_str()
        .ok_or_else(|| io_error(path)(io::Error::new(io::ErrorKind::InvalidInput, "path is not UTF-8")))
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> VectorError + '_ {
    move |source| VectorError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn index_error(operation: &'static str, persona: Uuid) -> impl Fn(IndexFault) -> VectorError {
    move |fault| VectorError::Index {
        operation,
        persona,
        fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    const DIM: usize = 8;
    const EMBEDDER: &str = "test:embedder";

    /// A deterministic pseudo-random unit vector for `seed` (splitmix64 per component).
    fn vector(seed: u64) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM as u64)
            .map(|i| {
                let mut z = (seed * DIM as u64 + i).wrapping_add(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                (z % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }

    fn open(dir: &TempDir) -> VectorStore {
        VectorStore::open(dir.path(), EMBEDDER, DIM).expect("opens")
    }

    fn filled(store: &VectorStore, persona: Uuid, keys: std::ops::Range<u64>) {
        let items: Vec<(u64, Vec<f32>)> = keys.map(|k| (k, vector(k))).collect();
        store.add_batch(persona, &items).expect("adds");
    }

    fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
        fs::read_dir(dir)
            .expect("lists")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(extension))
            .collect()
    }

    #[test]
    fn add_search_remove() {
        let dir = TempDir::new().expect("tempdir");
        let store = open(&dir);
        let (aria, bram) = (Uuid::new_v4(), Uuid::new_v4());
        filled(&store, aria, 1..11);
        store.add_batch(bram, &[(99, vector(99))]).expect("adds");

        let hits = store.search(aria, &vector(3), 3).expect("searches");
        assert_eq!(hits.len(), 3);
        assert_eq!(hits[0].0, 3);
        assert!((hits[0].1 - 1.0).abs() < 1e-4, "similarity {}", hits[0].1);
        assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(hits.iter().all(|(key, _)| *key != 99), "personas are apart");
        for (key, similarity) in &hits {
            let exact: f32 = vector(*key).iter().zip(vector(3)).map(|(a, b)| a * b).sum();
            assert!(
                (similarity - exact).abs() < 2e-3,
                "f16 similarity {similarity}, f32 {exact}"
            );
        }

        store.remove(aria, &[3, 1000]).expect("removes");
        assert_eq!(store.len(aria), 9);
        assert_eq!(store.missing_keys(aria, &[3, 4]), vec![3]);
        let hits = store.search(aria, &vector(3), 20).expect("searches");
        assert_eq!(hits.len(), 9);
        assert!(hits.iter().all(|(key, _)| *key != 3));

        assert!(store
            .search(Uuid::new_v4(), &vector(1), 5)
            .expect("searches")
            .is_empty());
    }

    #[test]
    fn add_replaces_and_grows() {
        let dir = TempDir::new().expect("tempdir");
        let store = open(&dir);
        let persona = Uuid::new_v4();
        for key in 0..200 {
            store.add_batch(persona, &[(key, vector(key))]).expect("adds");
        }
        store.add_batch(persona, &[(5, vector(500))]).expect("replaces");
        assert_eq!(store.len(persona), 200);
        let hits = store.search(persona, &vector(500), 1).expect("searches");
        assert_eq!(hits[0].0, 5);
        assert_eq!(store.missing_keys(persona, &[1, 5, 1000]), vec![1000]);
    }

    #[test]
    fn wrong_dimension_is_refused() {
        let dir = TempDir::new().expect("tempdir");
        let store = open(&dir);
        let persona = Uuid::new_v4();
        let batch = vec![(1, vector(1)), (2, vec![0.5; DIM + 1])];
        let err = store.add_batch(persona, &batch).err();
        assert!(
            matches!(err, Some(VectorError::Dimension { expected: DIM, actual }) if actual == DIM + 1),
            "{err:?}"
        );
        assert_eq!(store.len(persona), 0, "nothing of the batch was added");
        assert!(store.search(persona, &[1.0], 1).is_err());
    }

    #[test]
    fn save_and_reopen_find_the_same_hits() {
        let dir = TempDir::new().expect("tempdir");
        let persona = Uuid::new_v4();
        let before = {
            let store = open(&dir);
            filled(&store, persona, 0..50);
            store.save_all().expect("saves");
            store.search(persona, &vector(7), 5).expect("searches")
        };
        let store = open(&dir);
        assert_eq!(store.len(persona), 50);
        assert!(store.corrupt().is_empty());
        assert_eq!(store.search(persona, &vector(7), 5).expect("searches"), before);
        store
            .add_batch(persona, &[(50, vector(50))])
            .expect("a loaded index still grows");
        assert_eq!(store.len(persona), 51);
    }

    #[test]
    fn save_is_atomic_and_leaves_no_tmp() {
        let dir = TempDir::new().expect("tempdir");
        let persona = Uuid::new_v4();
        let stale = dir.path().join(format!("{}.usearch.tmp", Uuid::new_v4()));
        fs::write(&stale, b"half-written").expect("writes");
        let store = open(&dir);
        assert!(!stale.exists(), "a crash leftover is cleaned at open");
        filled(&store, persona, 0..10);
        store.save_all().expect("saves");
        assert!(files_with_extension(dir.path(), "tmp").is_empty());
        assert_eq!(files_with_extension(dir.path(), "usearch").len(), 1);
    }

    #[test]
    fn corrupt_file_is_reported_and_rebuilt() {
        let dir = TempDir::new().expect("tempdir");
        let (garbage, truncated, healthy) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        {
            let store = open(&dir);
            filled(&store, truncated, 0..30);
            filled(&store, healthy, 0..30);
            store.save_all().expect("saves");
        }
        fs::write(dir.path().join(format!("{garbage}.usearch")), b"not an index at all").expect("writes");
        let file = dir.path().join(format!("{truncated}.usearch"));
        let bytes = fs::read(&file).expect("reads");
        fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncates");

        let store = open(&dir);
        let mut corrupt = store.corrupt();
        corrupt.sort();
        let mut expected = vec![garbage, truncated];
        expected.sort();
        assert_eq!(corrupt, expected);
        assert_eq!(store.len(truncated), 0);
        assert_eq!(store.len(healthy), 30);

        store
            .rebuild(truncated, (0..30).map(|k| (k, vector(k))))
            .expect("rebuilds");
        assert_eq!(store.corrupt(), vec![garbage]);
        assert_eq!(store.len(truncated), 30);
        assert!(store.missing_keys(truncated, &(0..30).collect::<Vec<_>>()).is_empty());
        drop(store);
        let store = open(&dir);
        assert_eq!(store.len(truncated), 30, "the rebuild was saved");
    }

    #[test]
    fn an_index_file_of_f32_vectors_is_listed_for_a_rebuild() {
        let dir = TempDir::new().expect("tempdir");
        let (old, healthy) = (Uuid::new_v4(), Uuid::new_v4());
        {
            let store = open(&dir);
            filled(&store, healthy, 0..10);
            store.save_all().expect("saves");
        }
        let options = IndexOptions {
            dimensions: DIM,
            metric: MetricKind::Cos,
            quantization: ScalarKind::F32,
            ..IndexOptions::default()
        };
        let f32_index = Index::new(&options).expect("an f32 index");
        f32_index.reserve(10).expect("reserves");
        (0..10).for_each(|k| f32_index.add(k, &vector(k)).expect("adds"));
        let path = dir.path().join(format!("{old}.usearch"));
        f32_index.save(path.to_str().expect("UTF-8")).expect("saves");

        let store = open(&dir);
        assert_eq!(store.corrupt(), vec![old]);
        assert_eq!(store.len(healthy), 10);
    }

    #[test]
    fn another_embedder_is_refused_naming_reindex() {
        let dir = TempDir::new().expect("tempdir");
        drop(open(&dir));
        for (name, dimension) in [("other:model", DIM), (EMBEDDER, DIM * 2)] {
            let err = VectorStore::open(dir.path(), name, dimension).err();
            let text = err.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(matches!(err, Some(VectorError::EmbedderMismatch { .. })), "{err:?}");
            assert!(text.contains("persona-mcp memory reindex"), "{text}");
            assert!(text.contains(EMBEDDER), "{text}");
        }
    }

    #[test]
    fn index_files_without_metadata_are_refused() {
        let dir = TempDir::new().expect("tempdir");
        let persona = Uuid::new_v4();
        {
            let store = open(&dir);
            filled(&store, persona, 0..3);
            store.save_all().expect("saves");
        }
        fs::remove_file(dir.path().join(METADATA_FILE)).expect("removes");
        let err = VectorStore::open(dir.path(), EMBEDDER, DIM).err();
        assert!(matches!(err, Some(VectorError::BadMetadata { .. })), "{err:?}");
    }

    #[test]
    fn reset_wipes_for_a_new_embedder() {
        let dir = TempDir::new().expect("tempdir");
        let persona = Uuid::new_v4();
        let unrelated = dir.path().join("README");
        fs::write(&unrelated, b"keep me").expect("writes");
        {
            let store = open(&dir);
            filled(&store, persona, 0..3);
            store.save_all().expect("saves");
        }
        let store = VectorStore::reset(dir.path(), "other:model", DIM * 2).expect("resets");
        assert_eq!(store.dimension(), DIM * 2);
        assert_eq!(store.len(persona), 0);
        assert!(files_with_extension(dir.path(), "usearch").is_empty());
        assert!(unrelated.exists());
        drop(store);
        assert!(VectorStore::open(dir.path(), "other:model", DIM * 2).is_ok());
    }

    #[test]
    fn drop_persona_deletes_its_file() {
        let dir = TempDir::new().expect("tempdir");
        let store = open(&dir);
        let persona = Uuid::new_v4();
        filled(&store, persona, 0..3);
        store.save_all().expect("saves");
        store.drop_persona(persona).expect("drops");
        assert_eq!(store.len(persona), 0);
        assert!(files_with_extension(dir.path(), "usearch").is_empty());
    }
}
