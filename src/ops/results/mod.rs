//! The typed results of the operations, one module per namespace: each operation answers one of them, so that the
//! front doors render it as is and its JSON Schema is known (MCP `outputSchema`, the admin OpenAPI). Field names
//! are PROTOCOL.md's.

pub mod analytics;
pub mod bot;
pub mod config;
pub mod conversation;
pub mod memory;
pub mod persona;
pub mod relationship;
pub mod system;
pub mod threads;
pub mod transcripts;
