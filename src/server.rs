//! Starts the whole server: application state, actors and the HTTP listener. Used by `main` and by the tests.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};
use tokio::net::TcpSocket;

use crate::actors::bot_supervisor::{ServerReady, StopAll};
use crate::app::{Core, StartError};
use crate::config::Settings;
use crate::rpc;
use crate::web::admin::AdminState;
use crate::web::guard::Guard;
use crate::web::Gateway;

/// Which halves of the server a process runs (`persona-mcp serve --role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Role {
    /// The WebSocket/MCP listener and the admin listener.
    #[default]
    All,
    /// The WebSocket/MCP listener only.
    Mcp,
    /// The admin listener only.
    Admin,
}

/// Stops a running server: first tells the connections (idle WebSockets close with 1001 at once, streams get
/// the grace period), then stops the listener.
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    app: Arc<Gateway>,
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
    /// Where it listens: the WebSocket/MCP listener, or the admin listener when that is all it runs.
    pub addr: SocketAddr,
    /// Where the admin listener listens, when this process runs it.
    pub admin_addr: Option<SocketAddr>,
    /// The admin listener when it runs beside the WebSocket/MCP one; stopped when the main one stops.
    companion: Option<ServerHandle>,
    /// Stops it.
    pub handle: StopHandle,
    /// Resolves when it has stopped.
    pub server: Server,
    /// Its state.
    pub app: Arc<Gateway>,
}

impl RunningServer {
    /// A server listening on `addr`, with no admin listener of its own.
    fn new(server: Server, addr: SocketAddr, app: Arc<Gateway>) -> Self {
        Self {
            addr,
            admin_addr: None,
            companion: None,
            handle: StopHandle {
                server: server.handle(),
                app: app.clone(),
            },
            server,
            app,
        }
    }

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
        if let Some(companion) = self.companion {
            companion.stop(true).await;
        }
        tracing::info!("saving memory indexes");
        let saving = std::time::Instant::now();
        self.app.memory.save_indexes().await;
        tracing::info!(elapsed_ms = saving.elapsed().as_millis() as u64, "memory indexes saved");
        // Last, as the process ends: other instances take these leases at their next renewal, not at expiry.
        if self.app.store.is_shared() {
            if let Err(e) = self.app.store.leases().release().await {
                tracing::warn!(error = %e, "releasing leases failed; they expire by themselves");
            }
        }
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

/// The sockets of one listener, bound before anything else is built: a taken port fails the start at once, with
/// no actor started that would have to be torn down unpolled (and no model loaded for nothing).
struct Reserved {
    /// The setting that names the port (`server.port`, `admin.port`).
    setting: &'static str,
    host: String,
    port: u16,
    sockets: Vec<std::net::TcpListener>,
}

impl Reserved {
    /// Binds every address `host` resolves to, as actix does (the listener starts when one of them binds).
    fn bind(setting: &'static str, host: &str, port: u16, backlog: u32) -> Result<Self, StartError> {
        let mut reserved = Self {
            setting,
            host: host.to_string(),
            port,
            sockets: Vec::new(),
        };
        let mut refused = std::io::Error::other("the host resolves to no address");
        for addr in (host, port).to_socket_addrs().map_err(|e| reserved.error(e))? {
            match tcp_listener(addr, backlog) {
                Ok(socket) => reserved.sockets.push(socket),
                Err(e) => refused = e,
            }
        }
        match reserved.sockets.is_empty() {
            true => Err(reserved.error(refused)),
            false => Ok(reserved),
        }
    }

    /// The start error for this listener.
    fn error(&self, source: std::io::Error) -> StartError {
        StartError::Bind {
            setting: self.setting,
            addr: format!("{}:{}", self.host, self.port),
            source,
        }
    }

    /// Hands the sockets to a server builder with its `listen`; answers the builder and the first address it
    /// listens on (`addrs`).
    fn serve<H>(
        mut self,
        mut http: H,
        listen: impl Fn(H, std::net::TcpListener) -> std::io::Result<H>,
        addrs: impl Fn(&H) -> Vec<SocketAddr>,
    ) -> Result<(H, SocketAddr), StartError> {
        for socket in std::mem::take(&mut self.sockets) {
            http = listen(http, socket).map_err(|e| self.error(e))?;
        }
        let addr = addrs(&http).first().copied();
        let addr = addr.ok_or_else(|| self.error(std::io::Error::other("no address bound")))?;
        Ok((http, addr))
    }
}

/// A listening socket with address reuse and `backlog`, as actix binds one.
fn tcp_listener(addr: SocketAddr, backlog: u32) -> std::io::Result<std::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)?.into_std()
}

/// Builds everything and binds both listeners. Must run inside an actix `System`.
pub fn start(settings: Settings) -> Result<RunningServer, StartError> {
    start_role(settings, Role::All)
}

/// Binds the listeners of `role`, then builds everything. Must run inside an actix `System`.
pub fn start_role(settings: Settings, role: Role) -> Result<RunningServer, StartError> {
    let (admin, server) = (&settings.admin, &settings.server);
    let admin_sockets = match role {
        Role::Mcp => None,
        _ => Some(Reserved::bind("admin.port", &admin.host, admin.port, ADMIN_BACKLOG)?),
    };
    let main_sockets = match role {
        Role::Admin => None,
        _ => Some(Reserved::bind("server.port", &server.host, server.port, MAIN_BACKLOG)?),
    };
    let admin_state = match role {
        Role::Mcp => None,
        _ => Some(web::Data::new(AdminState::new(&settings)?)),
    };
    let app = Gateway::new(Core::build(settings)?, rpc::router());
    let admin = match (admin_state, admin_sockets) {
        (Some(state), Some(sockets)) => {
            let data = web::Data::new(app.clone());
            let http = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(state.clone())
                    .configure(crate::web::admin::routes)
            })
            .workers(2)
            .shutdown_timeout(1);
            let (http, addr) = sockets.serve(http, HttpServer::listen, HttpServer::addrs)?;
            let server = http.run();
            tracing::info!(%addr, "admin listening: http://{addr}/admin/");
            Some((server, addr))
        }
        _ => None,
    };
    let Some(main_sockets) = main_sockets else {
        let (server, addr) = admin.ok_or_else(|| StartError::Admin("admin listener missing".into()))?;
        let mut running = RunningServer::new(server, addr, app);
        running.admin_addr = Some(addr);
        return Ok(running);
    };
    let mut running = start_main(app, main_sockets)?;
    if let Some((server, addr)) = admin {
        running.admin_addr = Some(addr);
        running.companion = Some(server.handle());
        actix_web::rt::spawn(server);
    }
    Ok(running)
}

/// Pending connections the WebSocket/MCP listener's socket queues (bursts of new connections under load).
const MAIN_BACKLOG: u32 = 4096;
/// Pending connections the admin listener's socket queues (actix's default).
const ADMIN_BACKLOG: u32 = 1024;

/// Starts the WebSocket/MCP listener on its reserved sockets.
fn start_main(app: Arc<Gateway>, sockets: Reserved) -> Result<RunningServer, StartError> {
    let settings = app.settings.current();
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        n => n,
    };
    let grace = settings.server.shutdown_grace_secs;
    let guard = web::Data::new(Guard::new(&settings.server));
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
    .shutdown_timeout(grace);
    let (http, addr) = sockets.serve(http, HttpServer::listen, HttpServer::addrs)?;
    let server = http.run();
    app.bots.do_send(ServerReady {
        url: format!("ws://{addr}/mcp"),
        token: app.settings.current().server.token.clone(),
    });
    tracing::info!(%addr, "persona-mcp listening: ws://{addr}/mcp");
    Ok(RunningServer::new(server, addr, app))
}
