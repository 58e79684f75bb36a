//! The result types of the methods, one module per namespace: each method answers one of them, so that its
//! JSON Schema is known (MCP `outputSchema`). Field names are PROTOCOL.md's.

pub mod analytics;
pub mod bot;
pub mod chat;
pub mod config;
pub mod conversation;
pub mod live;
pub mod memory;
pub mod persona;
pub mod relationship;
pub mod system;
pub mod threads;
