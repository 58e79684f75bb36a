//! persona-mcp: a server that hosts AI personas (personality, interaction state, conversations) and lets
//! clients chat with them over WebSocket JSON-RPC, streaming every token from a local LLM.
//!
//! Data flows one way: transport (`web`, whose `Gateway` holds the transports' state) → protocol (`rpc`, `mcp`) →
//! core services (`app::Core`: `actors`, `memory`, `llm`, `embed`) → domain (`domain`) → storage (`storage`).
//! [`server::start`] wires them; `main.rs` and the integration tests both use it.

pub mod actors;
pub mod app;
pub mod bot;
pub mod config;
pub mod domain;
pub mod embed;
pub mod error;
pub mod healthcheck;
pub mod hooks;
pub mod live;
pub mod llm;
pub mod load_gate;
pub mod logbuf;
pub mod mcp;
pub mod memory;
pub mod metrics;
pub mod presence;
pub mod prompt_show;
pub mod rpc;
pub mod scenario;
pub mod server;
pub mod simulate;
pub mod state;
pub mod storage;
pub mod templates;
pub mod web;
