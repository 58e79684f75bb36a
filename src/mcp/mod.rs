//! The Model Context Protocol on top of the same router: any MCP host can chat with a persona, search its
//! memories and inspect its relationships.
//!
//! - [`lifecycle`]: revisions (the `initialize` handshake up to 2025-11-25, the stateless 2026-07-28 with
//!   `server/discover`), `ping`, `logging/setLevel`, cancellation;
//! - [`tools`]: every router method as a tool, its input schema generated from its params type;
//! - [`resources`]: `persona://{id}`, `persona://{id}/memories`, `persona://{id}/relationships`;
//! - [`prompts`]: one `chat_as_{name}` prompt per persona;
//! - [`session`]: what is kept between requests;
//! - [`wire`]: the shapes of MCP's results and notifications;
//! - [`stdio`]: the `persona-mcp stdio` transport (Streamable HTTP is `web::mcp_http`; the WebSocket endpoint
//!   answers MCP beside JSON-RPC).
//!
//! MCP sits above the JSON-RPC router: each transport hands its frames to a [`Dispatcher`], which answers the
//! MCP methods ([`lifecycle`], [`tools`], [`resources`], [`prompts`]) and passes every other method to the
//! router; the router knows nothing of MCP.

pub mod dispatch;
pub mod error;
pub mod lifecycle;
pub mod log_level;
pub mod params;
pub mod prompts;
pub mod resources;
pub mod session;
pub mod stdio;
pub mod tools;
pub mod wire;

pub use dispatch::Dispatcher;
pub use error::McpError;
pub use session::McpState;
