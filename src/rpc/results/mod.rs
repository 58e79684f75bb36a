//! The result types of the methods, one module per namespace: each method answers one of them, so that its
//! JSON Schema is known (MCP `outputSchema`). Field names are PROTOCOL.md's.

pub mod chat;
pub mod live;

/// The memory and conversation results are the operations' own (moved below this layer).
pub use crate::ops::results::{conversation, memory, threads};
