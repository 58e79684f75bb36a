//! The entries of the vector change log ([`super::vector_changes`]): what happened to which memory's vector.

use uuid::Uuid;

/// What happened to a memory's vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It got one.
    Added,
    /// It lost it (deleted, or cleared to be embedded anew).
    Removed,
    /// It got another one.
    Replaced,
}

/// One entry of the log.
#[derive(Debug, Clone)]
pub struct VectorChange {
    /// Its place in the log.
    pub seq: i64,
    /// The memory's storage key (the index key).
    pub key: i64,
    /// The memory's owner (whose index holds it).
    pub persona: Uuid,
    /// What happened.
    pub change: Change,
}
