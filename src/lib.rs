//! persona-mcp: a server that hosts AI personas (personality, interaction state, conversations) and lets
//! clients chat with them over WebSocket JSON-RPC, streaming every token from a local LLM.
//!
//! Data flows one way: transport (`web`, whose `Gateway` holds the transports' state) → protocol (`rpc`, `mcp`) →
//! operations (`ops`, one typed operation per use case) → core services (`app::Core`: `actors`, `memory`, `llm`,
//! `embed`) → storage (`storage`, domain types in and out) → domain (`domain`: pure types and rules, importing
//! nothing of the crate). `config` (over `domain`), `error` and `metrics` serve the layers above them; `locks`
//! (taking a lock a panic poisoned) sits at the bottom beside `domain`. `tests/api/layers.rs` holds the order.
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
pub mod locks;
pub mod logbuf;
pub mod mcp;
pub mod memory;
pub mod metrics;
pub mod ops;
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
