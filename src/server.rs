//! Starts the whole server: application state, actors and the HTTP listener. Used by `main` and by the tests.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};

use crate::actors::bot_supervisor::{ServerReady, StopAll};
use crate::app::{AppState, StartError};
use crate::config::Settings;
use crate::rpc;
use crate::web::guard::Guard;

/// Stops a running server: first tells the connections (idle WebSockets close with 1001 at once, streams get
/// the grace period), then stops the listener.
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    app: Arc<AppState>,
}

impl StopHandle {
    /// Stops the server; `graceful` gives running streams `server.shutdown_grace_secs`.
    pub async fn stop(&self, graceful: bool) {
        self.app.hub.shut_down();
        self.server.stop(graceful).await;
    }
}

/// A started server.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Stops it.
    pub handle: StopHandle,
    /// Resolves when it has stopped.
    pub server: Server,
    /// Its state.
    pub app: Arc<AppState>,
}

impl RunningServer {
    /// Serves until stopped (SIGINT/SIGTERM or the handle), then writes the memory indexes to disk.
    pub async fn run(self) -> std::io::Result<()> {
        let handle = self.handle.clone();
        let signals = actix::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            handle.stop(true).await;
        });
        let result = self.server.await;
        signals.abort();
        let _ = self.app.bots.send(StopAll).await;
        self.app.memory.save_indexes().await;
        result
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Raises the open-files soft limit to the hard limit: every streamed chat holds two sockets.
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}

/// Builds everything and binds the listener. Must run inside an actix `System`.
pub fn start(settings: Settings) -> Result<RunningServer, StartError> {
    let host = settings.server.host.clone();
    let port = settings.server.port;
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        n => n,
    };
    let grace = settings.server.shutdown_grace_secs;
    let guard = web::Data::new(Guard::new(&settings.server));
    let app = AppState::build(settings, rpc::router())?;
    let data = web::Data::new(app.clone());
    let http = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(guard.clone())
            .configure(crate::web::routes)
    })
    .workers(workers)
    .tcp_nodelay(true)
    .max_connections(100_000)
    .backlog(4096)
    .shutdown_timeout(grace)
    .bind((host.as_str(), port))
    .map_err(|source| StartError::Bind {
        addr: format!("{host}:{port}"),
        source,
    })?;
    let addr = http.addrs().first().copied().ok_or_else(|| StartError::Bind {
        addr: format!("{host}:{port}"),
        source: std::io::Error::other("no address bound"),
    })?;
    let server = http.run();
    app.bots.do_send(ServerReady {
        url: format!("ws://{addr}/mcp"),
        token: app.settings.server.token.clone(),
    });
    tracing::info!(%addr, "persona-mcp listening: ws://{addr}/mcp");
    Ok(RunningServer {
        addr,
        handle: StopHandle {
            server: server.handle(),
            app: app.clone(),
        },
        server,
        app,
    })
}
