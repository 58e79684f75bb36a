//! Integration tests over real sockets: the server boots on an ephemeral port against the fake LLM.

use persona_test_support as support;

mod access_log;
mod admin;
mod admin_openapi;
mod admin_page;
mod admin_roles;
mod analytics;
mod bot;
mod bot_e2ee;
mod chat;
mod chatroom;
mod cli;
mod config;
mod crash;
mod dialogue;
mod import;
mod instances;
mod layers;
mod live;
mod llm_failures;
mod mcp;
mod media;
mod memory;
mod models;
mod persona;
mod persona_param;
mod protocol;
mod races;
mod rate_limit;
mod recall;
mod restart;
mod scenario;
mod schemas;
mod social;
mod state;
mod templates;
mod threads;
mod transport;
mod visibility;

use support::fake_llm::{FakeLlm, FakeLlmConfig};
use support::TestServer;

/// A fake LLM with a fixed reply and a server using it.
pub fn boot(reply: Option<&str>) -> (FakeLlm, TestServer) {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: reply.map(str::to_string),
        ..FakeLlmConfig::default()
    });
    let server = TestServer::start(&llm.url());
    (llm, server)
}
