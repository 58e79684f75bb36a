//! The operation layer: one typed operation per use case, below the three front doors.
//!
//! An operation is an async function such as `ops::persona::delete(&core, key) -> Result<Deleted, AppError>`:
//! it takes the core services (`app::Core`) and typed inputs, does the whole use case (reads, checks, the
//! actors' messages, the store's writes, what hangs on it) and answers a typed result. The front doors — JSON-RPC
//! (`rpc`), MCP (`mcp`) and the admin REST API (`web::admin`) — only parse their wire's input into those types,
//! call the operation and render its result, so every use case has one implementation whichever surface calls it.
//!
//! Inputs are the types the wires decode (they derive `Deserialize` and `JsonSchema`, so the MCP tool schemas and
//! the admin OpenAPI come from them) and implement [`input::Input`], checked before the operation runs. Whatever
//! the caller's connection contributes — its current persona, who is reading — is an explicit argument
//! ([`target::Target`]), never looked up inside an operation. Results serialise to PROTOCOL.md's field names.
//! Errors are [`AppError`](crate::error::AppError); each wire maps them once.

pub mod analytics;
pub mod bot;
pub mod config;
pub mod conversation;
pub mod input;
pub mod memory;
pub mod persona;
pub mod relationship;
pub mod results;
pub mod scene;
pub mod state_files;
pub mod system;
pub mod target;
