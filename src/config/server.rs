//! `[server]`: the listener, its limits and its tokens.

use serde::{Deserialize, Serialize};

use super::check::{check_host, check_min};
use super::ConfigError;

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Interface to bind (loopback by default).
    pub host: String,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Concurrent WebSocket connections; more are refused with 503.
    pub max_connections: usize,
    /// Requests per second per connection (token bucket refill).
    pub rate_limit_per_second: u32,
    /// Burst size of the per-connection token bucket.
    pub rate_limit_burst: u32,
    /// Requests a connection may have running before the token bucket counts its requests: one that arrives
    /// while fewer are running costs nothing, so a client that waits for its answers is never limited (0: every
    /// request costs a token).
    pub rate_limit_in_flight: u32,
    /// Seconds without any frame (pongs to the server's pings aside) before a connection is closed.
    pub idle_timeout_secs: u64,
    /// Seconds between the server's pings on each WebSocket connection.
    pub ws_ping_interval_secs: u64,
    /// Seconds a pinged WebSocket connection has to answer (a pong or any frame) before it is closed.
    pub ws_pong_timeout_secs: u64,
    /// Largest accepted WebSocket frame in bytes.
    pub max_frame_bytes: usize,
    /// Largest accepted JSON-RPC batch.
    pub max_batch: usize,
    /// Seconds streams get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Seconds a streamed chat may take in all.
    pub stream_timeout_secs: u64,
    /// Optional bearer token required on `/mcp` (WebSocket and Streamable HTTP) and, unless `metrics_token` is
    /// set, on `/metrics`.
    pub token: Option<String>,
    /// Optional bearer token for `/metrics` alone (a scraper need not hold the API token).
    pub metrics_token: Option<String>,
    /// Web origins (`scheme://host[:port]`) allowed besides loopback ones; browsers from any other origin are
    /// refused with 403. Their hosts are also accepted as `Host` on a loopback listener (a reverse proxy).
    pub allowed_origins: Vec<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            workers: 0,
            max_connections: 10_000,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            rate_limit_in_flight: 8,
            idle_timeout_secs: 300,
            ws_ping_interval_secs: 30,
            ws_pong_timeout_secs: 60,
            max_frame_bytes: 1024 * 1024,
            max_batch: 100,
            shutdown_grace_secs: 10,
            stream_timeout_secs: 300,
            token: None,
            metrics_token: None,
            allowed_origins: Vec::new(),
        }
    }
}

impl ServerSettings {
    /// Checks the host, the limits and the allowed origins; the first bad one is reported with its key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_host("server.host", &self.host)?;
        check_min("server.max_connections", self.max_connections, 1)?;
        check_min("server.rate_limit_per_second", self.rate_limit_per_second as usize, 1)?;
        check_min("server.rate_limit_burst", self.rate_limit_burst as usize, 1)?;
        check_min("server.max_frame_bytes", self.max_frame_bytes, 1024)?;
        check_min("server.max_batch", self.max_batch, 1)?;
        check_min("server.stream_timeout_secs", self.stream_timeout_secs as usize, 1)?;
        check_min("server.idle_timeout_secs", self.idle_timeout_secs as usize, 1)?;
        check_min("server.ws_ping_interval_secs", self.ws_ping_interval_secs as usize, 1)?;
        check_min("server.ws_pong_timeout_secs", self.ws_pong_timeout_secs as usize, 1)?;
        for origin in &self.allowed_origins {
            let url = reqwest::Url::parse(origin).ok();
            if !url.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some()) {
                return Err(ConfigError::new(
                    "server.allowed_origins",
                    origin,
                    "web origins such as https://app.example or http://localhost:3000",
                ));
            }
        }
        Ok(())
    }
}
