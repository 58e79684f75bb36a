//! State files: versioned, checksummed snapshots of everything the server stores (SURFACES.md "State files").
//! [`format`] is the file layout; [`files`] saves, verifies, lists, deletes and loads them in
//! `<data_dir>/state/`, reading and writing the database through `storage::Store::snapshots`.

pub mod cli;
pub mod files;
pub mod format;
pub mod images;
pub mod load;

use std::path::Path;

pub use files::{Prepared, SaveInfo, Saved, StateFiles};

use crate::error::AppError;
use crate::storage::StorageError;

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file is not a usable snapshot (bad checksum, truncated, newer major version, not a snapshot, no
    /// save to load); nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// A parameter is unacceptable (a path outside the data directory, an unknown save).
    #[error("{message}")]
    BadParam {
        /// The parameter.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// A bug.
    #[error("{0}")]
    Internal(String),
}

impl StateError {
    /// Maps an I/O error on `path`.
    pub fn io(path: &Path) -> impl Fn(std::io::Error) -> StateError + '_ {
        move |e| StateError::Io(format!("{}: {e}", path.display()))
    }
}

/// Refusals are conflicts (-32007), bad paths invalid params (-32602), the rest internal errors.
impl From<StateError> for AppError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Refused(m) => AppError::Conflict(m),
            StateError::BadParam { field, message } => AppError::invalid(field, message),
            StateError::Storage(s) => s.into(),
            other => AppError::Internal(other.to_string()),
        }
    }
}
